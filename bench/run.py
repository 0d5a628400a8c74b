"""leadrouter's benchmark: one command starts the stack, loads it open-loop and writes bench/RESULTS.md.

    .venv/bin/python bench/run.py                  # full run (~45 min on 2 cores)
    .venv/bin/python bench/run.py --quick          # every figure, shorter (~7 min)
    .venv/bin/python bench/run.py --production-only | --embedded-only
    .venv/bin/python bench/run.py --rewrite-from /tmp/leadrouter-bench-XXXX/figures.json

Pass 1, production style: its own Redis (a private redis-server on a free port, unless
--redis-url), a PostgreSQL database it drops, creates and migrates (--database-url,
default leadrouter_bench_run on 127.0.0.1), gunicorn (2 workers x 4 threads, gthread) on
127.0.0.1:<free port> and one Celery worker (prefork, concurrency 2). Pass 2, the embedded
default: SQLite and the kombu SQLAlchemy broker, the same gunicorn and worker settings.
The dashboard and report figures run in-process on the 1,000,000-lead database made by
bench/generate_data.py (--big-database-url; generated into leadrouter_bench_run_1m when
the given one is missing or short) and on a 10,000-lead one it generates.

Every figure sits next to a floor measured in the same run on the same machine: the
insert-and-commit Flask view of bench/floor_app.py on the same gunicorn configuration,
the no-op task of bench/floor_tasks.py on the same broker, and a single indexed query.

Load is open loop: request i is sent at t0 + i/rate whatever happened to the ones before,
and its latency runs from that intended time, so a server that falls behind shows it in
the percentiles instead of slowing the client down (no coordinated omission). Every
latency is kept; percentiles are read from the sorted samples.

Every process it starts (gunicorn, Celery, redis-server, generate_data.py and its workers,
py-spy) runs in its own process group, and every group is stopped at the end, also on an
error, Ctrl-C, SIGTERM or SIGHUP.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

# The harness is the package bench.harness: put the repository on the path.
if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.calls_bench import measure_calls  # noqa: E402  (after the path above)
from bench.harness.big_database import (  # noqa: E402  (after the path above)
    big_database_section,
    csv_export_child,
    routing_decisions_per_second,
)
from bench.harness.common import ROOT, Figure, make_plan, say  # noqa: E402  (after the path above)
from bench.harness.passes import Pass  # noqa: E402  (after the path above)
from bench.harness.processes import Processes, free_port  # noqa: E402  (after the path above)
from bench.harness.report import machine, table, write_results  # noqa: E402  (after the path above)
from bench.harness.scale_out import scale_out  # noqa: E402  (after the path above)
from bench.harness.servers import compare_servers  # noqa: E402  (after the path above)
from bench.site_bench import kept_section, put_section  # noqa: E402  (after the path above)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short phases: every figure in ~8 minutes")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--embedded-only", action="store_true")
    scope.add_argument("--production-only", action="store_true")
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/leadrouter_bench_run",
        help="PostgreSQL database to drop, create and load (default %(default)s)",
    )
    parser.add_argument(
        "--big-database-url",
        default="postgresql://postgres@127.0.0.1:5432/leadrouter_bench",
        help="the 1,000,000-lead database of bench/generate_data.py (read only)",
    )
    parser.add_argument("--redis-url", default=None, help="use this Redis instead of starting a private one")
    parser.add_argument("--soak-seconds", type=float, default=None, help="default 600, or 60 with --quick")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="skip the py-spy phase")
    parser.add_argument("--no-servers", dest="servers", action="store_false", help="skip Granian vs gunicorn")
    parser.add_argument("--scale-out", action="store_true", help="two web instances and two workers")
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"))
    parser.add_argument(
        "--rewrite-from",
        metavar="JSON",
        help="rewrite RESULTS.md from a run's figures.json dump, measuring nothing",
    )
    parser.add_argument("--internal-csv-export", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.internal_csv_export:
        csv_export_child(args.internal_csv_export, 366)
        return 0
    if args.rewrite_from:
        rewrite_from(Path(args.rewrite_from), Path(args.results))
        say(f"rewrote {args.results} from {args.rewrite_from}")
        return 0

    from leadrouter.config import normalize_database_url

    args.big_database_url = normalize_database_url(args.big_database_url)
    plan = make_plan(args.quick, args.soak_seconds)
    started = datetime.now(UTC)
    began = time.monotonic()
    info = machine()
    command = "python bench/run.py" + (" " + " ".join(sys.argv[1:]) if len(sys.argv) > 1 else "")
    work = Path(tempfile.mkdtemp(prefix="leadrouter-bench-"))
    say(f"leadrouter benchmark: {command}\n  {info}\n  logs and scratch files in {work}")
    try:
        # The load generator shares the 2 cores with the stack it measures: let it send on time.
        os.nice(-5)
    except OSError:
        say("  (could not raise the load generator's priority; send lag is reported per probe)")
    figures: list[Figure] = []
    notes: list[str] = []
    profiles: dict = {}
    raw: dict = {}
    # One cleanup path: leaving this block (done, failed, Ctrl-C, SIGTERM or SIGHUP) stops every
    # process group the run started, children included.
    with Processes(work) as processes:
        if not args.embedded_only:
            redis_url = args.redis_url
            redis_pid = None
            if redis_url is None:
                port = free_port()
                process = processes.start(
                    "redis",
                    [
                        shutil.which("redis-server") or "redis-server",
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--protected-mode",
                        "yes",
                    ],
                    dict(os.environ),
                )
                redis_pid = process.pid
                redis_url = f"redis://127.0.0.1:{port}/0"
                time.sleep(0.5)
            production = Pass("production", plan, processes, work, args)
            production.prepare(redis_url)
            production.redis_pid = redis_pid
            production.floors_and_intake()
            if args.servers:
                compare_servers(production)
            production.with_workers()
            measure_calls(production)
            production.stack.stop_worker()
            production.stack.stop_web()
            if args.scale_out:
                scale_out(production)
            production.db.dispose()
            figures += production.figures
            notes += [f"production: {note}" for note in production.notes]
            profiles.update(production.raw.get("profiles", {}))
            raw["production"] = production.raw
            processes.stop("redis")
            figures += big_database_section(args, plan, processes, work, notes)
        if not args.production_only:
            embedded = Pass("embedded", plan, processes, work, args)
            embedded.prepare(None)
            embedded.floors_and_intake()
            embedded.with_workers()
            measure_calls(embedded)
            embedded.db.dispose()
            figures += embedded.figures
            notes += [f"embedded: {note}" for note in embedded.notes]
            raw["embedded"] = embedded.raw
        engine = routing_decisions_per_second()
        figures.append(
            Figure(
                "routing decisions/s, pure engine in-process (200 advisors)",
                f"decide {engine['decide']:,.0f}/s; assign_batch {engine['assign_batch']:,.0f} leads/s",
                verdict="info",
                note="one core, no database: the decision itself is not what bounds routing",
            )
        )
    elapsed = time.monotonic() - began
    say("\n" + table(figures))
    for figure in figures:
        if figure.caveat:
            say(f"- not judged: {figure.name}: {figure.caveat}")
    for note in notes:
        say(f"- {note}")
    info["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    run = {
        "command": command,
        "started": started.isoformat(),
        "elapsed": elapsed,
        "info": info,
        "figures": figures,
        "notes": notes,
        "profiles": profiles,
        "raw": raw,
    }
    dump = work / "figures.json"
    # Every figure the report rests on, so that a report bug costs `--rewrite-from`, not a rerun;
    # the report is written from the dump itself, so a rewrite gives the same file.
    dump_run(run, dump)
    say(f"\nraw figures in {dump} (bench/run.py --rewrite-from {dump} rewrites the report from them)")
    rewrite_from(dump, Path(args.results))
    say(f"\nwrote {args.results} ({elapsed / 60:.1f} min)")
    return 0


def dump_run(run: dict, path: Path) -> None:
    """A run's figures, notes, profiles and raw dicts as JSON (Figures as dicts)."""
    figures = [dataclasses.asdict(f) if isinstance(f, Figure) else f for f in run["figures"]]
    path.write_text(json.dumps({**run, "figures": figures}, indent=1, default=str))


def write_report(results: Path, run: dict) -> None:
    """RESULTS.md from one run's figures (live or from its JSON dump), keeping the site section."""
    site_section = kept_section(results)  # bench/site_bench.py's figures outlive this rewrite
    write_results(
        results,
        run["command"],
        datetime.fromisoformat(run["started"]),
        run["elapsed"],
        run["info"],
        [figure if isinstance(figure, Figure) else Figure(**figure) for figure in run["figures"]],
        run["notes"],
        run["profiles"],
        run.get("raw", {}),
    )
    put_section(results, site_section)


def rewrite_from(dump: Path, results: Path) -> None:
    """Rewrite RESULTS.md from a figures.json written by an earlier run, measuring nothing."""
    write_report(results, json.loads(dump.read_text()))


if __name__ == "__main__":
    raise SystemExit(main())
