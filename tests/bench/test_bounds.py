"""What bounds each missed row (bench/harness/bounds.py), and the report's JSON dump and rewrite.

The raw dict is made by hand; every bound is checked against the arithmetic done here by hand.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from bench.harness import bounds
from bench.harness.bounds import bounds_markdown, burst_seconds, capacity, queue_wait, row_bound
from bench.harness.common import Figure
from bench.harness.report import BOUNDS_HEADING, write_results
from bench.run import dump_run, main, rewrite_from, write_report

CORES = 2
RAW = {
    "production": {
        "cpu_per_lead": {
            "100": {
                "leads": 3000,
                "per_lead_ms": 15.0,
                "breakdown_ms": {"gunicorn": 6.0, "celery": 5.0, "postgres": 3.0, "redis": 1.0},
                "floor_web_ms": 3.0,
                "floor_task_ms": 2.0,
                "client_ms": 1.0,
            },
        },
        "statements_per_lead": {
            "intake": {"statements": 6, "ms": 4.0},
            "routing": {"statements": 9, "ms": 6.0},
        },
        "assign": {
            "200": {
                "p50": 4.2,
                "p99": 8.9,
                "assigned": 4000,
                "unassigned": 0,
                "seconds": 20,
                "routed_rate": 118.0,
                "headline": True,
            },
            "40": {"p50": 0.021, "p99": 0.090, "seconds": 20, "routed_rate": 40.0, "headline": False},
        },
        "burst": {"leads": 10_000, "send_seconds": 10, "assigned": 10_000, "all_within": 95.0},
        "intake_max": 150.0,
        "floor_max": 600.0,
        "intake_max_many_keys": 300.0,
        "intake_latency": {"50": {"p50": 0.009, "p99": 0.030, "floor_p50": 0.003, "floor_p99": 0.008}},
        "memory_libraries_mb": 62.0,
        "memory_pss_web": 95.0,
        "memory_floor_web": 40.0,
        "voice": {"rate": 50, "p50": 0.008, "p99": 0.030, "floor_p50": 0.003, "floor_p99": 0.010},
        "calls": {
            "hold step POST /twilio/voice/hold (PostgreSQL), 50/s, 100 holding": {
                "p50": 0.140,
                "p99": 0.900,
                "floor_p50": 0.007,
                "floor_p99": 0.020,
            }
        },
    },
    "embedded": {
        "statements_per_lead": {
            "intake": {"statements": 6, "ms": 5.0},
            "routing": {"statements": 9, "ms": 7.0},
        },
        "intake_max": 120.0,
        "floor_max": 400.0,
    },
}
CPU_100 = "CPU per lead at 100 leads/s, end to end (intake + routing; gunicorn + Celery + PostgreSQL + Redis)"
ASSIGN = "lead created -> advisor assigned at 200 leads/s (PostgreSQL + Redis)"
BURST = "burst: 10,000 leads sent within 10 s"
INTAKE_MAX = "intake API, PostgreSQL, one partner key: max sustained req/s with p99 <= 50 ms"
LATENCY = "intake latency at 50/s, one key (workers routing)"
MEMORY = "memory PSS, gunicorn worker (largest of 2)"
EMBEDDED = (
    "intake API on the embedded default (SQLite + SQLAlchemy broker): max sustained req/s, p99 <= 50 ms"
)
VOICE = "/twilio/voice signed (PostgreSQL), 50 calls/s"


def bound(name: str, raw: dict = RAW, profiles: dict | None = None) -> str:
    return row_bound(name, raw, CORES, profiles or {})


def test_the_arithmetic():
    assert capacity(2, 16.0) == 125.0  # 2,000 CPU-ms/s / 16 CPU-ms per lead
    # 200/s against 125/s: 75 leads/s pile up; at 10 s, 750 ahead, drained at 125/s: 6 s.
    assert queue_wait(200, 125, 20, 0.5) == pytest.approx(6.0)
    assert queue_wait(200, 125, 20, 1.0) == pytest.approx(12.0)
    assert queue_wait(100, 125, 20, 1.0) == 0.0
    assert burst_seconds(10_000, 15.0, 2) == 75.0


def test_cpu_per_lead_sets_the_breakdown_beside_the_floor_and_the_in_process_work():
    text = bound(CPU_100)

    assert "gunicorn 6.00 + celery 5.00 + postgres 3.00 + redis 1.00 = 15.00 CPU-ms" in text
    assert "3.00 + no-op task 2.00 = 5.00 CPU-ms, so 3.0x (target 2x = 10.00 CPU-ms)" in text
    # The floor does not route: intake 4 ms + routing 6 ms = 10 ms; 5 + 10 = 15 ms = 3.0x.
    assert "intake 4.0 ms (6 statements) + routing 6.0 ms (9 statements) = 10.0 ms" in text
    assert "= 10.0 ms of wall time" in text
    assert "were it all CPU, floor + that = 15.00 ms = 3.0x the floor: the work itself can take" in text


def test_created_to_assigned_gives_the_capacity_the_queue_and_the_diagnostic_rate():
    text = bound(ASSIGN)

    # 2 x 1000 / (15 + 1) = 125 leads/s; 200 - 125 = 75 leads/s of queue; 20 s phase.
    assert "(15.00 CPU-ms per lead at 100/s + 1.00 of the load generator) = 125 leads/s" in text
    assert "a queue grows by 75 leads/s" in text
    # All 4,000 leads sent (20 s): at 10 s, 750 ahead drained at 125/s = 6 s; at 20 s, 12 s.
    assert "This run sent 4,000 leads (20.0 s at 200/s of the 20 s planned)" in text
    assert "the median lead waits ~6000.0 ms and the last ~12.0 s" in text
    assert "p50 4200.0 ms, p99 8900.0 ms; routing kept pace at 118 leads/s" in text

    raw = copy.deepcopy(RAW)
    raw["production"]["assign"]["200"].update(assigned=1000, unassigned=0)  # sending stopped at 5 s
    text = bound(ASSIGN, raw)
    # 75 x 2.5 / 125 = 1.5 s; 75 x 5 / 125 = 3 s; over the 20 s planned the median: 6 s.
    assert "sent 1,000 leads (5.0 s at 200/s of the 20 s planned)" in text
    assert "median lead waits ~1500.0 ms and the last ~3000.0 ms" in text
    assert "over the whole 20 s the median would wait ~6000.0 ms" in text
    assert "At 40 leads/s (the diagnostic rate the intake sustains): p50 21.0 ms, p99 90.0 ms, within" in text


def test_the_burst_cannot_be_shorter_than_its_cpu():
    text = bound(BURST)

    # 10,000 x 15 / 2,000 = 75 s; with the load generator 10,000 x 16 / 2,000 = 80 s.
    assert ">= 75.0 s" in text and ">= 80.0 s" in text and "CPU alone rules the target out" in text
    assert "last assigned 95.0 s after the first send" in text


def test_intake_max_compares_cpu_bounds_and_names_the_per_key_lock():
    text = bound(INTAKE_MAX)

    # 6 + 3 x 6/15 + 1 = 8.2 CPU-ms: 2000 / 8.2 = 244 req/s; floor 2000 / 3 = 667; 244/667 = 37%.
    assert "= 8.20 CPU-ms, so max ~= 2 x 1000 / 8.20 = 244 req/s" in text
    assert "floor 2 x 1000 / 3.00 = 667 req/s; CPU bounds the ratio at 37%" in text
    assert "Measured: 150 vs 600 req/s (25%)." in text  # 150 is more than half of the CPU bound 244
    # 8 keys 300 = 2.0x one key; one key serialised over 4 ms: 250 req/s.
    assert "300 req/s (2.0x one key)" in text and "<= 250 req/s per key" in text

    raw = copy.deepcopy(RAW)
    raw["production"]["intake_max"] = 12.0  # under half of 244: something other than CPU
    assert "Measured: 12 vs 600 req/s (2%), far below the CPU bound" in bound(INTAKE_MAX, raw)


def test_intake_latency_says_whether_twice_the_floor_is_below_the_lower_bound():
    text = bound(LATENCY)

    # 3 ms + 4 ms = 7 ms; 2 x 3 = 6 ms, below it.
    assert "floor p50 3.0 ms + intake's own in-process time 4.0 ms = 7.0 ms" in text
    assert "the target 2x floor = 6.0 ms is below that bound" in text
    assert "p99 30.0 ms vs 25 ms (floor p99 8.0 ms)" in text

    raw = copy.deepcopy(RAW)
    raw["production"]["intake_latency"]["50"]["floor_p50"] = 0.005  # 10 ms >= 5 + 4
    assert "above that bound: reachable in principle" in bound(LATENCY, raw)


def test_memory_embedded_and_voice():
    assert "the libraries alone take 62 MB RSS" in bound(MEMORY)
    assert "measured PSS 95 MB; the insert+commit floor's worker 40 MB RSS, 18 MB left." in bound(MEMORY)
    # One SQLite writer held 5 ms per intake: 1000 / 5 = 200 req/s, below 300.
    assert "~1000 / 5.0 = 200 req/s; target 300 req/s (the bound is below it)" in bound(EMBEDDED)
    assert "measured 120 req/s, the insert+commit floor 400 req/s" in bound(EMBEDDED)
    assert "p99 30.0 ms vs the insert+commit floor's p99 10.0 ms at the same rate" in bound(VOICE)
    hold = "hold step POST /twilio/voice/hold (PostgreSQL), 50/s, 100 holding"
    assert (
        "p99 900.0 ms vs the insert+commit floor's p99 20.0 ms at the same rate (p50 140.0 ms vs 7.0 ms)"
        in bound(hold)
    )
    assert "in-process cost: not measured in this run" in bound(VOICE)
    assert "not measured in this run (embedded/voice)" in bound(VOICE.replace("PostgreSQL", "embedded"))
    holding = "/twilio/voice signed (PostgreSQL), 50 calls/s, 100 holding"  # never the paired phase's figure
    assert bound(holding) == "not measured in this run (production/calls)."


def test_a_missing_figure_says_so_and_a_bug_in_one_row_spares_the_others(monkeypatch):
    assert bound(BURST, {"production": {}}) == "not measured in this run (production/burst)."
    assert bound(CPU_100, {}) == "not measured in this run (production/cpu_per_lead/100)."

    broken = copy.deepcopy(RAW)
    broken["production"]["burst"]["leads"] = "many"
    figures = [Figure(BURST, "x", verdict="missed"), Figure(MEMORY, "x", verdict="missed")]
    text = bounds_markdown(figures, broken, CORES, {})
    assert "bounds could not be computed: " in text and "the libraries alone take 62 MB" in text


def test_only_missed_and_not_judged_rows_get_a_paragraph_with_the_profile_frames():
    profiles = {
        "gunicorn worker, one partner key, wall clock": {
            "leadrouter_inclusive": [
                ["leadrouter.intake.views:create_lead", 0.8],
                ["a", 0.5],
                ["b", 0.3],
                ["c", 0.1],
            ]
        },
        "Celery pool process, wall clock": {
            "leadrouter_inclusive": [["leadrouter.assignment:route_lead", 0.9]]
        },
    }
    figures = [
        Figure(INTAKE_MAX, "150 req/s", verdict="missed"),
        Figure(MEMORY, "95 MB", verdict="met"),
        Figure(LATENCY, "9 ms", verdict="not judged"),
        Figure("queue page on the 1M database", "1 ms", verdict="missed"),
    ]
    text = bounds_markdown(figures, RAW, CORES, profiles)

    assert f"- **{INTAKE_MAX}** (missed): CPU per intake request" in text
    assert f"- **{LATENCY}** (not judged): lower bound" in text
    assert MEMORY not in text
    assert (
        "Profile, gunicorn worker, one partner key, wall clock: `leadrouter.intake.views:create_lead` 80%"
        in text
    )
    assert "`c` 10%" not in text  # the top three frames only
    assert "route_lead" not in text  # the Celery profile is not the intake's
    assert "- **queue page on the 1M database** (missed): no bound is computed for this row" in text
    assert (
        bounds_markdown([Figure(MEMORY, "95 MB", verdict="met")], RAW, CORES) == "No target row was missed."
    )


def run_record() -> dict:
    return {
        "command": "python bench/run.py --quick",
        "started": datetime(2026, 12, 2, 11, 0, tzinfo=UTC).isoformat(),
        "elapsed": 300.0,
        "info": {
            "nproc": CORES,
            "memory": "8 GiB",
            "cpu": "test",
            "kernel": "6",
            "python": "3.11",
            "loadavg": ["1", "1", "1"],
            "loadavg_end": ["2", "2", "2"],
        },
        "figures": [
            Figure(BURST, "95 s", verdict="missed", note="details"),
            Figure(MEMORY, "60 MB", verdict="met"),
        ],
        "notes": ["production: a note"],
        "profiles": {
            "Celery pool process, wall clock": {
                "rate": 40,
                "samples": 100,
                "self_by_layer": [("leadrouter", 0.5)],
                "leaves": [("wait", 0.4)],
                "leadrouter_inclusive": [("leadrouter.assignment:route_lead", 0.9)],
            }
        },
        "raw": RAW,
    }


def test_the_dump_rewrites_the_same_results_without_measuring(tmp_path):
    live, rewritten, dump = tmp_path / "live.md", tmp_path / "rewritten.md", tmp_path / "figures.json"
    run = run_record()

    write_report(live, run)
    dump_run(run, dump)
    assert json.loads(dump.read_text())["raw"]["production"]["burst"]["leads"] == 10_000
    assert main(["--rewrite-from", str(dump), "--results", str(rewritten)]) == 0

    assert rewritten.read_text() == live.read_text()
    text = rewritten.read_text()
    assert (
        f"{BOUNDS_HEADING}\n" in text
        and ">= 75.0 s" in text
        and "`leadrouter.assignment:route_lead` 90%" in text
    )
    assert "load average at start 1 1 1, at the end 2 2 2" in text


def test_a_bug_in_the_bounds_still_writes_the_results(tmp_path, monkeypatch):
    def broken(*_args):
        raise RuntimeError("boom")

    monkeypatch.setattr(bounds, "bounds_markdown", broken)
    run = run_record()
    path = tmp_path / "RESULTS.md"
    write_results(path, run["command"], datetime.now(UTC), 1.0, run["info"], run["figures"], [], {}, RAW)

    text = path.read_text()
    assert "bounds could not be computed: RuntimeError: boom" in text
    assert "| burst: 10,000 leads sent within 10 s |" in text and "## How the figures are measured" in text


def test_a_dump_without_raw_figures_still_rewrites(tmp_path):
    dump = tmp_path / "figures.json"
    run = run_record()
    del run["raw"]
    dump_run(run, dump)

    rewrite_from(dump, tmp_path / "RESULTS.md")

    assert "not measured in this run (production/burst)." in (tmp_path / "RESULTS.md").read_text()
