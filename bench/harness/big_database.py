"""In-process figures on the big databases: dashboard, report, CSV export, routing decisions."""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness.common import ROOT, STATES, Figure, Plan, ms, percentile, say, verdict
from bench.harness.database import Database, lead_count, recreate_postgres_database, scalar, with_database
from bench.harness.judging import size_label
from bench.harness.processes import Processes, rss_mb

# --- in-process figures on the big databases -------------------------------------------------


def time_calls(function, runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        function()
        timings.append(time.perf_counter() - began)
    return sorted(timings)


def time_statements(engine, function) -> list[tuple[str, float]]:
    """Run `function` once and return its SQL statements (first words) with their durations, slowest first."""
    from sqlalchemy import event

    started: dict = {}
    timings: list[tuple[str, float]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        started[id(cursor)] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        began = started.pop(id(cursor), None)
        if began is not None:
            words = " ".join(statement.split())
            timings.append((words[:90], time.perf_counter() - began))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        function()
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return sorted(timings, key=lambda item: -item[1])


def database_figures(url: str, plan: Plan, work: Path) -> dict:
    """Indexed-query floor, the advisor queue page and (if present) the routing report, in-process."""
    from sqlalchemy import func, select

    from leadrouter.dashboard.queries import QueueFilters, queue_counts, queue_page
    from leadrouter.extensions import db
    from leadrouter.models import Advisor, Lead, utcnow

    database = Database(url, "memory://", work / "instance-readonly")
    rng = random.Random(7)
    found: dict = {}
    with database.app.app_context():
        found["leads"] = db.session.scalar(select(func.count(Lead.id)))
        max_id = db.session.scalar(select(func.max(Lead.id)))
        owners = [
            row[0]
            for row in db.session.execute(
                select(Lead.owner_id).where(Lead.is_open.is_(True), Lead.owner_id.is_not(None)).distinct()
            ).all()
        ] or list(db.session.scalars(select(Advisor.id)))
        found["owners_with_open_leads"] = len(owners)
        db.session.rollback()

        def indexed():
            db.session.execute(select(Lead.id, Lead.status).where(Lead.id == rng.randint(1, max_id))).first()
            db.session.rollback()

        def page():
            mine = QueueFilters(owner_id=rng.choice(owners))
            queue_page(mine, utcnow())
            queue_counts(mine, utcnow())
            db.session.rollback()

        def page_only():
            queue_page(QueueFilters(owner_id=rng.choice(owners)), utcnow())
            db.session.rollback()

        for function in (indexed, page):
            time_calls(function, 20)  # warm the pool and the caches, as a live server's would be
        found["indexed"] = time_calls(indexed, plan.query_runs)
        found["queue_page"] = time_calls(page, plan.query_runs)
        found["queue_page_only"] = time_calls(page_only, plan.query_runs)
        found["open_per_owner"] = db.session.scalar(
            select(func.count(Lead.id)).where(Lead.is_open.is_(True), Lead.owner_id.is_not(None))
        ) / max(1, len(owners))
        db.session.rollback()

        try:
            from leadrouter.reports.queries import ReportFilters, routing_report
        except ImportError:
            found["report"] = None
        else:
            from zoneinfo import ZoneInfo

            from leadrouter.reports import rollups

            # As the workers' 30-second refresh would (a full build if the load predates them).
            began = time.perf_counter()
            found["rollup_hours_refreshed"] = rollups.refresh(commit=db.session.commit)
            found["rollup_refresh_seconds"] = time.perf_counter() - began
            newest = db.session.scalar(select(func.max(Lead.created_at)))
            end = newest.astimezone(ZoneInfo("UTC")).date()
            filters = ReportFilters(start=end - timedelta(days=29), end=end)

            def report():
                json.dumps(routing_report(filters, "UTC"), default=str)
                db.session.rollback()

            report()
            found["report"] = time_calls(report, plan.report_runs)
            found["report_range"] = f"{filters.start} to {filters.end}"
            found["report_statements"] = time_statements(db.engine, report)

    database.dispose()
    return found


def csv_export_child(url: str, days: int) -> None:
    """Run in a child process: stream the CSV export, print rows, seconds and RSS samples as JSON."""
    from sqlalchemy import func, select

    from leadrouter.extensions import db
    from leadrouter.models import Lead
    from leadrouter.reports.csv_export import stream_csv
    from leadrouter.reports.queries import ReportFilters

    database = Database(url, "memory://", Path(tempfile.mkdtemp(prefix="leadrouter-bench-csv-")))
    with database.app.app_context():
        newest = db.session.scalar(select(func.max(Lead.created_at)))
        end = newest.date()
        filters = ReportFilters(start=end - timedelta(days=days - 1), end=end)
        rss = [rss_mb(os.getpid())]
        began = time.perf_counter()
        rows = size = 0
        for index, chunk in enumerate(stream_csv(filters, "UTC")):
            rows += chunk.count("\r\n")
            size += len(chunk)
            if index % 25 == 0:
                rss.append(rss_mb(os.getpid()))
        elapsed = time.perf_counter() - began
        rss.append(rss_mb(os.getpid()))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows - 1, "bytes": size, "seconds": elapsed, "rss": rss, "peak": peak}))


def csv_export(url: str) -> dict | None:
    try:
        import leadrouter.reports.csv_export  # noqa: F401
    except ImportError:
        return None
    child = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--internal-csv-export", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    if child.returncode != 0:
        return {"error": child.stderr.strip().splitlines()[-1] if child.stderr.strip() else "failed"}
    return json.loads(child.stdout.strip().splitlines()[-1])


def routing_decisions_per_second(seconds: float = 2.0) -> dict:
    """The pure engine alone: decide() for one lead among 200 advisors, and assign_batch of 500."""
    from leadrouter.routing.engine import AdvisorFacts, LeadFacts, assign_batch, decide

    now = datetime.now(UTC)
    advisors = [
        AdvisorFacts(
            id=number + 1,
            name=f"A{number}",
            regions=frozenset({"*"} if number < 20 else {STATES[number % len(STATES)]}),
            languages=frozenset({"en"}),
            capacity=25,
            open_leads=number % 20,
            status="available",
            timezone="America/Chicago",
        )
        for number in range(200)
    ]
    leads = [
        LeadFacts(
            id=i + 1, urgency=("high", "normal", "low")[i % 3], region=STATES[i % len(STATES)], created_at=now
        )
        for i in range(500)
    ]
    count = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        decide(leads[count % 500], advisors, now)
        count += 1
    single = count / (time.perf_counter() - began)
    began = time.perf_counter()
    batches = 0
    while time.perf_counter() - began < seconds:
        assign_batch(leads, advisors, now)
        batches += 1
    batch = batches * 500 / (time.perf_counter() - began)
    return {"decide": single, "assign_batch": batch}


OWN_BIG_DATABASE = "leadrouter_bench_run_1m"


def ensure_big_database(
    url: str, wanted: int, processes: Processes, may_generate: bool, own_name: str = OWN_BIG_DATABASE
) -> tuple[str, int] | None:
    """The loaded 1M database if it is there; otherwise one of our own (own_name), generated unless --quick.

    With --quick (may_generate False) nothing is generated: a short database is used as it is,
    and with none at all (missing or empty) the answer is None and the 1M figures are skipped.
    """
    count = lead_count(url)
    if count is not None and (count >= wanted * 0.99 or (count and not may_generate)):
        return url, count
    own = with_database(url, own_name)
    count_own = lead_count(own)
    if count_own is not None and (count_own >= wanted * 0.99 or (count_own and not may_generate)):
        return own, count_own
    if not may_generate:
        return None
    say(f"  {url.rsplit('/', 1)[-1]} has {count} leads; generating {wanted:,} into {own_name}")
    generate(own, wanted, processes)
    return own, lead_count(own) or 0


def recent_history(url: str) -> bool:
    """Whether the database's history spans at most a week (the 10k comparison's shape)."""
    span = scalar(url, "SELECT extract(epoch FROM max(created_at) - min(created_at)) FROM leads")
    return span is not None and span <= 7 * 86400


def generate(url: str, leads: int, processes: Processes, history_days: int = 365) -> None:
    """bench/generate_data.py in its own process group: interrupted, it stops with its workers."""
    recreate_postgres_database(url)
    processes.run(
        f"generate-{leads}",
        [
            sys.executable,
            str(ROOT / "bench" / "generate_data.py"),
            "--database-url",
            url,
            "--leads",
            str(leads),
            "--advisors",
            "200",
            "--truncate",
            "--seed",
            "1",
            "--history-days",
            str(history_days),
        ],
        dict(os.environ),
        timeout=3600,
    )


def big_database_section(
    args, plan: Plan, processes: Processes, work: Path, notes: list[str]
) -> list[Figure]:
    """The dashboard and report figures at 1M leads, with the 10k comparison and the indexed-query floor."""
    figures = []
    say("\n[1M] dashboard and reports, in-process")
    found = ensure_big_database(args.big_database_url, plan.big_leads, processes, not args.quick)
    if found is None:
        return skipped_big_database_section(args.big_database_url, notes)
    big_url, big_count = found
    size = size_label(big_count)  # a short database is named by what it holds, not by "1M"
    small_url = with_database(big_url, "leadrouter_bench_run_10k")
    if (lead_count(small_url) or 0) < 9_900 or not recent_history(small_url):
        # The same team and arrival rate as the 1M year (~2,700 leads a day), over 4 days: the
        # live workload (open leads per advisor, what a queue page shows) is the 1M one's, so
        # the comparison isolates the growth of history.
        say("  generating 10,000 leads over 4 days into leadrouter_bench_run_10k")
        generate(small_url, 10_000, processes, history_days=4)
    big = database_figures(big_url, plan, work)
    small = database_figures(small_url, plan, work)
    say(
        f"  1M: {big['leads']:,} leads, {big['owners_with_open_leads']} owners, "
        f"{big['open_per_owner']:.0f} open leads each; 10k: {small['leads']:,} leads"
    )
    floor_big = percentile(big["indexed"], 0.95)
    page_big, page_small = percentile(big["queue_page"], 0.95), percentile(small["queue_page"], 0.95)
    growth = page_big / page_small if page_small else float("inf")
    figures.append(
        Figure(
            f"advisor queue page at {size} (p95)",
            f"{ms(page_big)} (10k: {ms(page_small)}; {growth:.2f}x)",
            f"indexed query p95 {ms(floor_big)}",
            f"{page_big / floor_big:.1f}x" if floor_big else "-",
            "p95 <= 30 ms; <= 1.3x the 10k p95",
            verdict(page_big <= 0.030 and growth <= 1.3),
            f"queue_page + queue_counts, {plan.query_runs} runs each, random owners "
            f"({big['owners_with_open_leads']} with open leads, ~{big['open_per_owner']:.0f} open each at "
            f"{size}; "
            f"~{small['open_per_owner']:.0f} at 10k); queue_page alone p95 "
            f"{ms(percentile(big['queue_page_only'], 0.95))} "
            f"at {size}, {ms(percentile(small['queue_page_only'], 0.95))} at 10k; indexed query p50 "
            f"{ms(percentile(big['indexed'], 0.5))} ({size}), {ms(percentile(small['indexed'], 0.5))} (10k); "
            f"database {big_url.rsplit('@', 1)[-1]} ({big_count:,} leads)",
        )
    )
    if big.get("report") is None:
        figures.append(
            Figure(
                f"routing report, 30 days, {size} (p95)",
                "not measured: reports module missing",
                target="p95 <= 150 ms",
                verdict="not measured",
            )
        )
    else:
        p95 = percentile(big["report"], 0.95)
        figures.append(
            Figure(
                f"routing report, 30 days, {size} (p95)",
                f"{ms(p95)} (p50 {ms(statistics.median(big['report']))})",
                f"indexed query p95 {ms(floor_big)}",
                f"{p95 / floor_big:.0f}x" if floor_big else "-",
                "p95 <= 150 ms",
                verdict(p95 <= 0.150),
                f"routing_report() + JSON, {len(big['report'])} runs after one warm-up, range "
                f"{big['report_range']}, from the rollups (refreshed first as the workers do: "
                f"{big['rollup_hours_refreshed']:,} hours in {big['rollup_refresh_seconds']:.1f} s); "
                f"{len(big['report_statements'])} SQL statements, slowest: "
                + "; ".join(f"{ms(seconds)} `{sql}…`" for sql, seconds in big["report_statements"][:3]),
            )
        )
    target = big_url if not args.quick else small_url
    export = csv_export(target)
    if export is None:
        figures.append(
            Figure(
                f"CSV export of {size}",
                "not measured: reports CSV export missing",
                target="<= 20 s, memory flat",
                verdict="not measured",
            )
        )
    elif "error" in export:
        figures.append(
            Figure(
                f"CSV export of {size}",
                f"failed: {export['error']}",
                target="<= 20 s, memory flat",
                verdict="missed",
            )
        )
    else:
        rss = [value for value in export["rss"] if value]
        settled = rss[min(len(rss) - 1, 2)]
        growth = max(rss) - settled
        flat = growth <= 20
        figures.append(
            Figure(
                f"CSV export of {export['rows']:,} leads"
                + (" (--quick: the 10k database)" if args.quick else ""),
                f"{export['seconds']:.1f} s, peak RSS {max(rss):.0f} MB",
                "-",
                "-",
                "<= 20 s, memory flat",
                verdict(export["seconds"] <= 20 and flat),
                f"{export['bytes'] / 1e6:.0f} MB of CSV, {export['rows'] / export['seconds']:,.0f} "
                "rows/s; RSS "
                f"{rss[0]:.0f} MB before, {settled:.0f} MB after the first batches, {max(rss):.0f} MB peak "
                f"({growth:+.0f} MB after the first batches)",
            )
        )
    notes.append(
        f"big-database figures from {big_url.rsplit('@', 1)[-1]} ({big_count:,} leads); 10k from "
        "leadrouter_bench_run_10k"
    )
    return figures


def skipped_big_database_section(big_database_url: str, notes: list[str]) -> list[Figure]:
    """--quick without a 1M database: the figures that need one are named, not measured."""
    name = big_database_url.rsplit("/", 1)[-1]
    reason = (
        f"skipped: --quick never generates the 1,000,000-lead database, and neither {name} nor "
        f"{OWN_BIG_DATABASE} holds any leads"
    )
    say(f"  {reason}")
    say(
        "  (load one with bench/generate_data.py, see bench/README.md, or run without --quick to generate it)"
    )
    notes.append(
        f"1M figures not measured: --quick found no 1,000,000-lead database ({name} and "
        f"{OWN_BIG_DATABASE} are missing or empty) and never generates one; load one with "
        "bench/generate_data.py or run without --quick"
    )
    return [
        Figure(f"{what} at 1M leads", reason, target=target, verdict="not measured")
        for what, target in (
            ("advisor queue page (p95)", "p95 <= 30 ms; <= 1.3x the 10k p95"),
            ("routing report, 30 days (p95)", "p95 <= 150 ms"),
            ("CSV export", "<= 20 s, memory flat"),
        )
    ]
