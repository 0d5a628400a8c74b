"""A benchmark stops everything it started, on every path (issue 17).

Two process trees are interrupted here and /proc is read afterwards: nothing of their process
groups may be left alive (zombies, already dead and waiting for a parent, do not count).

- the harness (`bench/harness/processes.py`, as `bench/run.py` uses it): a run holding a
  long-lived group (gunicorn-like: a leader and children that ignore SIGTERM, as a stuck
  worker would) and blocked in `Processes.run` on another (as while generate_data.py runs),
  stopped by Ctrl-C (SIGINT to its terminal's process group) or by SIGTERM to its pid;
- `bench/generate_data.py` itself, on PostgreSQL, interrupted while its COPY workers load
  a small history: Ctrl-C to the group, SIGTERM to the main process alone, and the main
  process killed outright (its workers must not outlive it).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from leadrouter.config import normalize_database_url

ROOT = Path(__file__).resolve().parents[2]
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


def processes() -> dict[int, tuple[str, int, int]]:
    """Every process in /proc: pid -> (state, parent pid, process group)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = (fields[0], int(fields[1]), int(fields[2]))
    return found


def live_members(pgid: int) -> list[int]:
    """Pids of the processes of group `pgid` that are still running (zombies excluded)."""
    return [
        pid for pid, (state, _, group) in processes().items() if group == pgid and state not in ("Z", "X")
    ]


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def assert_groups_gone(groups: list[int], timeout: float = 10) -> None:
    """Every group is empty (allowing a moment for SIGKILLed processes to be reaped by init)."""
    deadline = time.monotonic() + timeout
    while True:
        left = {group: live_members(group) for group in groups}
        left = {group: pids for group, pids in left.items() if pids}
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for pids in left.values():
        for pid in pids:  # do not leave them behind for the rest of the suite
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left running, by group: {left}"


# --- the harness -------------------------------------------------------------------------------

TREE = textwrap.dedent(
    """
    import multiprocessing, signal, time

    def stuck():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a child that does not stop when asked
        time.sleep(600)

    if __name__ == "__main__":
        context = multiprocessing.get_context("fork")
        for _ in range(2):
            context.Process(target=stuck).start()
        time.sleep(600)
    """
)

RUNNER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path

    sys.path.insert(0, sys.argv[2])
    from bench.harness.processes import Processes

    tree = [sys.executable, "-c", sys.argv[3]]
    with Processes(Path(sys.argv[1])) as processes:
        web = processes.start("web", tree, dict(os.environ))
        print(json.dumps({"web": web.pid}), flush=True)
        processes.run("generate", tree, dict(os.environ), timeout=600)
    """
)


def _as_a_background_job():
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what a shell script's `&` does to SIGINT


@pytest.mark.parametrize(
    "interrupt", ["ctrl-c to the group", "sigint to a background run", "sigterm to the runner"]
)
def test_an_interrupted_run_stops_every_process_group_it_started(tmp_path, interrupt):
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(tmp_path), str(ROOT), TREE],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group, as a benchmark run in a terminal has
        preexec_fn=_as_a_background_job if interrupt == "sigint to a background run" else None,
    )
    groups = [runner.pid]
    try:
        web = json.loads(runner.stdout.readline())["web"]
        groups.append(web)
        log = tmp_path / "generate.log"
        wait_for(lambda: log.exists(), 30, "the second group to start")
        wait_for(lambda: len(live_members(web)) == 3, 60, "the first group's leader and two children")

        def second_group():
            others = [
                pid
                for pid, (_, parent, group) in processes().items()
                if pid not in groups and group == pid and parent == runner.pid
            ]
            return others if others and len(live_members(others[0])) == 3 else None

        groups += wait_for(second_group, 60, "the generator-like group's leader and two children")

        if interrupt == "ctrl-c to the group":
            os.killpg(runner.pid, signal.SIGINT)
        elif interrupt == "sigint to a background run":
            os.kill(runner.pid, signal.SIGINT)
        else:
            os.kill(runner.pid, signal.SIGTERM)
        runner.wait(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        assert_groups_gone(groups)
    assert len(groups) == 3


# --- bench/generate_data.py --------------------------------------------------------------------


@pytest.fixture
def scratch_database():
    """A database of its own on the test server (generate_data.py truncates what it loads into)."""
    url = make_url(normalize_database_url(TEST_DATABASE_URL))
    name = f"{url.database}_cleanup"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="generate_data.py loads PostgreSQL only: needs TEST_DATABASE_URL"
)
@pytest.mark.parametrize(
    "interrupt", ["ctrl-c to the group", "sigterm to the main process", "main process killed"]
)
def test_an_interrupted_generation_leaves_no_worker_behind(tmp_path, scratch_database, interrupt):
    output = tmp_path / "generate.log"
    with open(output, "wb") as log:
        generator = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "generate_data.py"),
                "--database-url",
                scratch_database,
                "--leads",
                "100000",
                "--advisors",
                "20",
                "--workers",
                "2",
                "--chunk-size",
                "500",
                "--truncate",
                "--seed",
                "1",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    group = generator.pid
    try:
        # The first progress line: both COPY workers are up and chunks are being loaded.
        wait_for(lambda: " leads (" in output.read_text(errors="replace"), 180, "the load to start")
        assert len(live_members(group)) >= 3, output.read_text(errors="replace")
        if interrupt == "ctrl-c to the group":
            os.killpg(group, signal.SIGINT)
        elif interrupt == "sigterm to the main process":
            os.kill(generator.pid, signal.SIGTERM)
        else:
            os.kill(generator.pid, signal.SIGKILL)
        returncode = generator.wait(timeout=60)
    finally:
        if generator.poll() is None:
            generator.kill()
            generator.wait()
        assert_groups_gone([group])
    said = output.read_text(errors="replace")
    if interrupt == "main process killed":
        assert returncode == -signal.SIGKILL
    else:
        assert returncode == 130, said
        assert "no worker process is left" in said
        assert "done:" not in said
