"""Granian's WSGI mode against gunicorn gthread, for the app and for the floor, in the same run.

Same processes and threads (2 workers x 4 threads), same port binding, same database; the
Celery worker is stopped (intake only, as in the max-rate search). Each server serves the
floor view, then the app, at the same rates, plan.repetitions runs each; CPU per request is
read from /proc for the server's processes and the PostgreSQL backends. Granian is a bench
dependency only (`pip install granian` into the venv); without it the phase says so.
"""

from __future__ import annotations

import shutil
import time

from bench.harness.common import BIN, GUNICORN_OPTIONS, Figure, ms, say
from bench.harness.judging import Spread
from bench.harness.processes import children_of, cpu_seconds, free_port, wait_http

GRANIAN_OPTIONS = ["--interface", "wsgi", "--workers", "2", "--blocking-threads", "4"]
TARGETS = {"floor": ("bench.floor_app:app", "/floor"), "app": ("leadrouter.wsgi:app", "/api/v1/leads")}


def granian_binary() -> str | None:
    path = BIN / "granian"
    return str(path) if path.exists() else shutil.which("granian")


def server_command(server: str, target: str, port: int) -> list[str]:
    if server == "gunicorn":
        return [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", *GUNICORN_OPTIONS, target]
    address = ["--host", "127.0.0.1", "--port", str(port)]
    return [granian_binary() or "granian", *GRANIAN_OPTIONS, *address, target]


def compare_servers(bench_pass, rates: list[int] | None = None) -> Figure:
    """Run floor and app under both servers at `rates` (default: half the app's max); one info figure."""
    rates = rates or [max(50, round(bench_pass.raw.get("intake_max", 100) / 2))]
    if granian_binary() is None:
        figure = Figure(
            "server: Granian WSGI vs gunicorn gthread (same run)",
            "not measured: granian is not installed in the bench's venv (`pip install granian`)",
            verdict="not measured",
        )
        bench_pass.figures.append(figure)
        return figure
    rows = []
    for server in ("gunicorn", "granian"):
        for name, (target, path) in TARGETS.items():
            rows += _measure(bench_pass, server, name, target, path, rates)
    lines = [
        f"{server} {name} at {rate}/s: p50 {p50}, p99 {p99}, {cpu:.2f} CPU-ms per request"
        for server, name, rate, p50, p99, cpu in rows
    ]
    say("    " + "\n    ".join(lines))
    figure = Figure(
        "server: Granian WSGI vs gunicorn gthread, app and floor (same run)",
        "; ".join(f"{s} {n} {r}/s p99 {p99}" for s, n, r, _p50, p99, _cpu in rows if n == "app"),
        "; ".join(f"{s} floor {r}/s p99 {p99}" for s, n, r, _p50, p99, _cpu in rows if n == "floor"),
        "-",
        "(compared, not a target: gunicorn stays unless Granian wins clearly)",
        "info",
        "; ".join(lines),
    )
    bench_pass.figures.append(figure)
    return figure


def _measure(bench_pass, server: str, name: str, target: str, path: str, rates: list[int]) -> list[tuple]:
    label = f"{bench_pass.kind}-{server}-{name}"
    port = free_port()
    say(f"\n[{bench_pass.kind}] {server} serving the {name} on 127.0.0.1:{port}")
    process = bench_pass.processes.start(label, server_command(server, target, port), bench_pass.env)
    rows = []
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")  # the floor answers 404: answered all the same
        time.sleep(3)
        base_url = f"http://127.0.0.1:{port}"
        for rate in rates:
            pids = [process.pid, *children_of(process.pid), *bench_pass.db.postgres_pids()]
            before = sum(cpu_seconds(pid) or 0.0 for pid in pids)
            results = [
                bench_pass.probe_at(base_url, rate, path, seconds=bench_pass.plan.phase_seconds)
                for _run in range(bench_pass.plan.repetitions)
            ]
            pids = sorted(set(pids) | set(bench_pass.db.postgres_pids()))
            spent = sum(cpu_seconds(pid) or 0.0 for pid in pids) - before
            requests = sum(len(result.latencies) for result in results)
            rows.append(
                (
                    server,
                    name,
                    rate,
                    Spread.of([r.pct(0.5) for r in results]).show(ms),
                    Spread.of([r.pct(0.99) for r in results]).show(ms),
                    spent / max(1, requests) * 1000,
                )
            )
    finally:
        bench_pass.processes.stop(label)
    return rows
