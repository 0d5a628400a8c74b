"""`bench/run.py --quick` never generates the 1,000,000-lead database (issue 17).

Without one, the 1M figures are skipped and said so, in the output and in RESULTS.md, instead
of a quarter-hour generation starting behind a "quick" run's back.
"""

from __future__ import annotations

import os
from argparse import Namespace

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.harness.big_database import big_database_section, ensure_big_database, skipped_big_database_section
from bench.harness.common import make_plan
from bench.harness.processes import Processes
from bench.harness.report import machine, write_results
from leadrouter.config import normalize_database_url

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


def database_exists(url, name: str) -> bool:
    admin = create_engine(url)
    try:
        with admin.connect() as conn:
            return bool(conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}))
    finally:
        admin.dispose()


@pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="the big databases are PostgreSQL only: needs TEST_DATABASE_URL"
)
def test_quick_finds_no_big_database_and_generates_none(tmp_path, capsys):
    server = make_url(normalize_database_url(TEST_DATABASE_URL))
    missing = f"{server.database}_no_such_1m"
    own = f"{server.database}_no_such_own_1m"
    url = server.set(database=missing).render_as_string(hide_password=False)

    with Processes(tmp_path) as processes:
        found = ensure_big_database(url, 1_000_000, processes, may_generate=False, own_name=own)
        assert processes.running == {}

    assert found is None
    assert not list(tmp_path.iterdir())  # no generate-*.log: generate_data.py never ran
    assert not database_exists(server, missing)
    assert not database_exists(server, own)  # generating would have created it first
    assert "generating" not in capsys.readouterr().out


@pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="the big databases are PostgreSQL only: needs TEST_DATABASE_URL"
)
def test_quick_treats_an_empty_big_database_as_missing(tmp_path):
    # The test database is migrated (the suite's schema) but holds no leads outside a test's
    # rolled-back transaction: empty counts as missing, so --quick skips rather than generates.
    server = make_url(normalize_database_url(TEST_DATABASE_URL))
    url = server.render_as_string(hide_password=False)
    with Processes(tmp_path) as processes:
        found = ensure_big_database(
            url, 1_000_000, processes, may_generate=False, own_name=f"{server.database}_x"
        )
    assert found is None
    assert not database_exists(server, f"{server.database}_x")


def test_the_skipped_figures_are_named_in_the_output_and_in_results(tmp_path, capsys):
    notes: list[str] = []
    figures = skipped_big_database_section("postgresql://postgres@127.0.0.1:5432/leadrouter_bench", notes)

    said = capsys.readouterr().out
    assert "--quick never generates the 1,000,000-lead database" in said
    assert [figure.verdict for figure in figures] == ["not measured"] * 3
    assert {figure.name for figure in figures} == {
        "advisor queue page (p95) at 1M leads",
        "routing report, 30 days (p95) at 1M leads",
        "CSV export at 1M leads",
    }
    results = tmp_path / "RESULTS.md"
    write_results(results, "python bench/run.py --quick", *_run_facts(), figures, notes, {})
    written = results.read_text()
    assert "3 not measured" in written
    assert "skipped: --quick never generates the 1,000,000-lead database" in written
    assert "1M figures not measured: --quick found no 1,000,000-lead database" in written


def _run_facts():
    from datetime import UTC, datetime

    return datetime.now(UTC), 1.0, machine()


def test_big_database_section_in_quick_mode_stops_at_the_missing_database(tmp_path):
    """The section itself: no 10k generation either, only the three named rows.

    A server that does not answer (nothing listens on port 1) has neither database, wherever the
    suite runs; the real leadrouter_bench_run_1m of this machine, if any, is not asked.
    """
    args = Namespace(
        big_database_url="postgresql+psycopg://postgres@127.0.0.1:1/leadrouter_bench", quick=True
    )
    notes: list[str] = []
    with Processes(tmp_path) as processes:
        figures = big_database_section(args, make_plan(True, None), processes, tmp_path, notes)
    assert [figure.verdict for figure in figures] == ["not measured"] * 3
    assert not list(tmp_path.iterdir())
    assert notes and "never generates one" in notes[0]
