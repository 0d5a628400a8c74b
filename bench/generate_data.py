"""Load a realistic year of helpline history into PostgreSQL with COPY, for the benchmarks.

    python bench/generate_data.py --database-url postgresql://postgres@127.0.0.1/leadrouter_bench \\
        --leads 1000000 --advisors 200 --truncate --seed 1 --check

Migrates the schema, creates the team (users, advisor profiles over ~30 states plus a
national pool, shifts, capacities, languages), then plays out N leads over the last 12
months with the app's own rules: intake scoring, routing with capacity and shifts,
SLA deadlines and reassignments, contact attempts, status moves, follow-ups, calls,
voicemails, texts and consent. The main process decides each lead's story in arrival
order (advisor load is shared state); worker processes render the rows and stream them
into PostgreSQL with COPY, one transaction per chunk, with every index and constraint in
place. Finally advisors' counters and id sequences are set, the tables are analysed, the
routing report's rollups are built (as `flask --app leadrouter rebuild-report-rollups`
would; about 4 minutes at 1M leads), the tables are counted, and --check runs the
consistency queries (exit status 1 on any violation).
"""

from __future__ import annotations

import argparse
import ctypes
import multiprocessing
import os
import queue
import random
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.datagen import checks, loader  # noqa: E402
from bench.datagen.clock import Clock, verify  # noqa: E402
from bench.datagen.simulate import Simulation  # noqa: E402
from bench.datagen.world import SHIFT_PATTERNS, build_world  # noqa: E402
from leadrouter.config import ConfigError, normalize_database_url  # noqa: E402

PR_SET_PDEATHSIG = 1  # prctl(2)

DAY = 86400


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="PostgreSQL URL")
    parser.add_argument("--leads", type=int, default=1_000_000, help="leads to create (default 1,000,000)")
    parser.add_argument("--advisors", type=int, default=200, help="advisors on the team (default 200)")
    parser.add_argument("--seed", type=int, default=1, help="random seed: the same seed gives the same data")
    parser.add_argument(
        "--history-days",
        type=int,
        default=365,
        help="how far back the history goes (default 365); fewer days at the same arrival rate give "
        "a small database whose live workload (open leads per advisor) matches a big one's",
    )
    parser.add_argument(
        "--truncate", action="store_true", help="empty every table first (else refuse a non-empty db)"
    )
    parser.add_argument(
        "--check", action="store_true", help="run the consistency checks; exit 1 on a violation"
    )
    parser.add_argument("--check-only", action="store_true", help="only run the checks on an existing load")
    parser.add_argument(
        "--end", help="ISO time the history ends at (default: now; UTC unless an offset is given)"
    )
    parser.add_argument(
        "--vacuum",
        action="store_true",
        help="VACUUM (ANALYZE) at the end instead of ANALYZE, as autovacuum would (about a minute at 1M)",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="COPY worker processes")
    parser.add_argument("--chunk-size", type=int, default=5000, help="leads per COPY transaction")
    parser.add_argument(
        "--keep-fk-triggers",
        action="store_true",
        help="check foreign keys row by row during the load (slower) instead of once after it",
    )
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL) is required")
    if not 1 <= args.history_days <= 3 * 365:
        parser.error("--history-days must be 1..1095")
    if args.leads < 1 or args.leads >= 7_000_000 or args.advisors < 10 or args.advisors > 2000:
        parser.error("--leads must be 1..6,999,999 and --advisors 10..2000")
    try:
        args.database_url = normalize_database_url(args.database_url)
    except ConfigError as error:
        parser.error(str(error))
    if not args.database_url.startswith("postgresql"):
        parser.error("the generator loads PostgreSQL only (it uses COPY)")
    return args


def end_of_history(text: str | None) -> float:
    """--end as epoch seconds (a time without an offset is UTC); default: now, to the second."""
    if not text:
        return float(int(time.time()))
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def say(message: str) -> None:
    print(message, flush=True)


def migrate(url: str) -> None:
    """Bring the schema to the newest migration (a no-op when it is there already)."""
    import flask_migrate

    from leadrouter import create_app
    from leadrouter.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


def rebuild_report_rollups(url: str) -> int:
    """Fold the loaded history into the routing report's hourly partials, as the workers would."""
    from leadrouter import create_app
    from leadrouter.extensions import db
    from leadrouter.reports import rollups

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        hours = rollups.rebuild(commit=db.session.commit)
        db.engine.dispose()
    return hours


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    if args.check_only:
        with loader.connect(args.database_url) as conn:
            return 1 if checks.run_checks(conn, say) else 0

    say("migrating the schema if needed ...")
    migrate(args.database_url)
    conn = loader.connect(args.database_url)
    problems = loader.check_schema(conn)
    if problems:
        for problem in problems:
            say(f"schema: {problem}")
        say("the generator no longer matches the schema; update bench/datagen/render.py and loader.py")
        return 2
    existing = conn.execute("SELECT count(*) FROM leads").fetchone()[0]
    users = conn.execute("SELECT count(*) FROM users").fetchone()[0]
    if existing or users:
        if not args.truncate:
            say(f"the database already has {existing:,} leads and {users:,} users; --truncate replaces them")
            return 2
        say("truncating every table ...")
        loader.truncate(conn)

    now = end_of_history(args.end)
    start = now - args.history_days * DAY
    world = build_world(random.Random(args.seed), args.advisors, start, now)
    clock = Clock(start, now + 60 * 86400)
    verified = verify(clock, world.zones(), list(SHIFT_PATTERNS.values()), start, now)
    say(f"clock arithmetic matches leadrouter.routing.hours on {verified:,} samples")
    simulation = Simulation(world, clock, args.leads, start, now, args.seed)
    hour = clock.hour_index(now)
    on_shift_now = [bool(simulation.on_shift[i][hour]) for i in range(len(world.advisors))]
    loader.load_people(conn, world, now, on_shift_now, random.Random(f"{args.seed}:people"))
    setup = time.perf_counter() - started
    say(
        f"team: {len(world.advisors)} advisors ({sum(on_shift_now)} on shift now), "
        f"{len(world.manager_user_ids)} managers; setup {setup:.1f} s"
    )

    superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
    args.skip_fk_triggers = superuser and not args.keep_fk_triggers
    if args.skip_fk_triggers:
        say("loading with foreign key triggers off in the loading sessions; every key is checked after")
    totals, load_seconds = load_leads(args, world, simulation, now)

    finishing = time.perf_counter()
    loader.finish_advisors(conn, simulation.advisor_state())
    loader.reset_sequences(conn)
    if args.skip_fk_triggers:
        orphans = checks.count_orphans(conn)
        if orphans:
            say(
                f"{orphans} rows point at missing parents: the load is broken (rerun with --keep-fk-triggers)"
            )
            return 1
        say(f"foreign keys verified after the load ({time.perf_counter() - finishing:.1f} s)")
    conn.execute("VACUUM (ANALYZE)" if args.vacuum else "ANALYZE")
    finish_seconds = time.perf_counter() - finishing
    say("building the routing report's rollups (flask --app leadrouter rebuild-report-rollups) ...")
    folding = time.perf_counter()
    hours = rebuild_report_rollups(args.database_url)
    say(f"report rollups: {hours:,} hours in {time.perf_counter() - folding:.1f} s")
    counts = loader.table_counts(conn)
    total = time.perf_counter() - started
    rows = sum(totals.values())
    say(
        f"done: {args.leads:,} leads, {rows:,} rows in {load_seconds:.1f} s of loading "
        f"({args.leads / load_seconds:,.0f} leads/s, {rows / load_seconds:,.0f} rows/s); "
        f"setup {setup:.1f} s, counters/keys/ANALYZE {finish_seconds:.1f} s, total {total:.1f} s"
    )
    say("rows per table:")
    for table, count in sorted(counts.items(), key=lambda item: -item[1]):
        say(f"  {table:<22}{count:>12,}")
    if args.check:
        say("checking consistency ...")
        failed = checks.run_checks(conn, say)
        say(f"{failed} check(s) failed" if failed else "all checks passed")
        return 1 if failed else 0
    return 0


def load_leads(args, world, simulation: Simulation, now: float) -> tuple[dict[str, int], float]:
    """Plan chunks here, render and COPY them in worker processes; print progress."""
    context = multiprocessing.get_context("fork")
    tasks = context.Queue(maxsize=args.workers * 2)
    results = context.Queue()
    workers = [
        context.Process(
            target=copy_worker,
            args=(
                os.getpid(),
                args.database_url,
                world,
                args.seed,
                now,
                tasks,
                results,
                args.skip_fk_triggers,
            ),
            daemon=True,
        )
        for _ in range(args.workers)
    ]
    for process in workers:
        process.start()
    started = time.perf_counter()
    progress = Progress(args.leads, started)
    sent = 0
    finished = False
    try:
        for index, chunk in enumerate(simulation.chunks(args.chunk_size)):
            while True:
                try:
                    tasks.put((index, chunk), timeout=0.5)
                    break
                except queue.Full:
                    progress.collect(results, workers, block=False)
            sent += 1
            progress.collect(results, workers, block=False)
        for _ in workers:
            tasks.put(None)
        while progress.chunks < sent or progress.cpu_reports < len(workers):
            progress.collect(results, workers, block=True)
        finished = True
    finally:
        if finished:
            for process in workers:
                process.join(timeout=60)
        else:
            # Interrupted (Ctrl-C, SIGTERM) or a worker failed: stop them all now, without
            # waiting for the chunks still queued; those will never be read, so do not flush them.
            tasks.cancel_join_thread()
            for process in workers:
                if process.is_alive():
                    process.terminate()
        for process in workers:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
    backend = "n/a" if None in progress.backend_cpu else f"{sum(progress.backend_cpu):.0f} s"
    say(
        f"CPU: planning (main) {time.process_time():.0f} s, rendering + COPY (workers) "
        f"{sum(progress.worker_cpu):.0f} s, PostgreSQL backends {backend}"
    )
    return progress.rows, time.perf_counter() - started


def copy_worker(parent: int, *args) -> None:
    """A COPY worker that never outlives the main process, which alone answers Ctrl-C.

    Ctrl-C (or a hangup) in a terminal reaches the whole process group: the workers ignore it and the main
    process stops them (terminate, then kill). Should the main process die without doing so
    (SIGKILL), the kernel sends each worker SIGTERM (PR_SET_PDEATHSIG).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    stop_with_parent(parent)
    loader.worker(*args)


def stop_with_parent(parent: int) -> None:
    """Ask Linux to send SIGTERM to this process when its parent exits (nothing elsewhere)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request was in place
        os._exit(1)


def stop_on_sigterm() -> None:
    """SIGTERM (and SIGHUP) end the run as Ctrl-C does, through the same cleanup of the workers.

    Ctrl-C itself raises KeyboardInterrupt even if the script was started with SIGINT ignored
    (a shell script's `&` does that).
    """

    def interrupt(signum, _frame):
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)


class Progress:
    """Collect worker reports; print a line every ~5% with the rates so far."""

    def __init__(self, leads: int, started: float):
        self.leads, self.started = leads, started
        self.done = self.chunks = 0
        self.rows: dict[str, int] = {}
        self.render_seconds = self.copy_seconds = 0.0
        self.next_report = 0.05
        self.failed = False
        self.cpu_reports = 0
        self.worker_cpu: list[float] = []
        self.backend_cpu: list[float | None] = []

    def collect(self, results, workers, block: bool) -> None:
        while True:
            try:
                message = results.get(timeout=1.0) if block else results.get_nowait()
            except queue.Empty:
                if any(not p.is_alive() and p.exitcode not in (0, None) for p in workers):
                    self.failed = True
                    raise SystemExit("a worker process died; see its error above") from None
                if block:
                    continue
                return
            if message[0] == "error":
                self.failed = True
                raise SystemExit(f"a worker failed:\n{message[1]}")
            if message[0] == "cpu":
                self.cpu_reports += 1
                self.worker_cpu.append(message[1])
                self.backend_cpu.append(message[2])
                if block:
                    return
                continue
            _, _, leads, counts, render_seconds, copy_seconds = message
            self.chunks += 1
            self.done += leads
            for table, count in counts.items():
                self.rows[table] = self.rows.get(table, 0) + count
            self.render_seconds += render_seconds
            self.copy_seconds += copy_seconds
            if self.done / self.leads >= self.next_report or self.done == self.leads:
                self.report()
                self.next_report = self.done / self.leads + 0.05
            if block:
                return

    def report(self) -> None:
        elapsed = time.perf_counter() - self.started
        rows = sum(self.rows.values())
        say(
            f"  {self.done:>10,} leads ({self.done / self.leads:4.0%}) {rows:>12,} rows  "
            f"{elapsed:6.1f} s  {self.done / elapsed:8,.0f} leads/s  {rows / elapsed:9,.0f} rows/s  "
            f"(workers: render {self.render_seconds:.0f} s, COPY {self.copy_seconds:.0f} s)"
        )


if __name__ == "__main__":
    stop_on_sigterm()
    try:
        sys.exit(main())
    except KeyboardInterrupt as interrupted:
        say(f"interrupted ({interrupted or 'Ctrl-C'}): stopped, and no worker process is left")
        sys.exit(130)
