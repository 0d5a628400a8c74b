"""Routing report latency on a big database: p50/p95 of N runs, plus the CSV export's time and memory.

    .venv/bin/python bench/report_latency.py --database-url postgresql://postgres@127.0.0.1/leadrouter_bench

First it refreshes the report rollups, as the workers do every 30 s (a full build if they
were never built), and says how many hours that took. The range ends on the newest lead's
day (REPORT_TIMEZONE, default UTC) and covers --days days; each run computes the whole
report (every number the page and the JSON API show) and serialises it to JSON, as
GET /api/v1/reports/routing does after checking the key. Add --explain to print
PostgreSQL's plans for the report's queries.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, select  # noqa: E402

from leadrouter import create_app  # noqa: E402
from leadrouter.config import normalize_database_url  # noqa: E402
from leadrouter.extensions import db  # noqa: E402
from leadrouter.models import Advisor, Lead  # noqa: E402
from leadrouter.reports import rollups  # noqa: E402
from leadrouter.reports.csv_export import stream_csv  # noqa: E402
from leadrouter.reports.queries import ReportFilters, routing_report  # noqa: E402


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _time_reports(filters: ReportFilters, timezone: str, runs: int) -> list[float]:
    routing_report(filters, timezone)  # warm the cache, as a live server's would be
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        json.dumps(routing_report(filters, timezone))
        timings.append(time.perf_counter() - began)
        db.session.rollback()
    return sorted(timings)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


def _export(filters: ReportFilters, timezone: str) -> tuple[int, int, float, float]:
    """Rows and bytes streamed, seconds taken, and growth of the peak RSS in MB."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began = time.perf_counter()
    rows = size = 0
    for chunk in stream_csv(filters, timezone):
        rows += chunk.count("\r\n")
        size += len(chunk)
    elapsed = time.perf_counter() - began
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    db.session.rollback()
    return rows - 1, size, elapsed, rss_after - rss_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), required=False)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--timezone", default=os.environ.get("REPORT_TIMEZONE", "UTC"))
    parser.add_argument("--csv-days", type=int, default=366, help="range of the CSV export test (0: skip)")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("give --database-url or set DATABASE_URL")

    url = normalize_database_url(args.database_url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "CELERY_BROKER_URL": "memory://"})
    gc.freeze()  # as leadrouter/wsgi.py does in the web process that serves the report
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Lead))
        newest = db.session.scalar(select(func.max(Lead.created_at)))
        if not total:
            raise SystemExit("the database has no leads")
        end = newest.astimezone(ZoneInfo(args.timezone)).date()
        start = end - timedelta(days=args.days - 1)
        print(f"{url.split('@')[-1]}: {total:,} leads; range {start} to {end} ({args.timezone})")
        began = time.perf_counter()
        hours = rollups.refresh(commit=db.session.commit)
        print(f"report rollups refreshed: {hours:,} hours in {time.perf_counter() - began:.1f} s")

        if args.explain:
            _explain(start, end, args.timezone)

        base = ReportFilters(start=start, end=end)
        advisor_id = db.session.scalar(select(Advisor.id).order_by(Advisor.id).limit(1))
        variants = {
            "all leads": base,
            "region=TX": ReportFilters(start=start, end=end, region="TX"),
            "urgency=high": ReportFilters(start=start, end=end, urgency="high"),
            f"advisor={advisor_id}": ReportFilters(start=start, end=end, advisor_id=advisor_id),
        }
        leads_in_range = routing_report(base, args.timezone)["leads"]
        print(f"{leads_in_range:,} leads in the range; {args.runs} runs each\n")
        print(f"{'report':<16} {'p50':>8} {'p95':>8} {'max':>8}")
        for label, filters in variants.items():
            timings = _time_reports(filters, args.timezone, args.runs)
            p50, p95, worst = statistics.median(timings), _p95(timings), timings[-1]
            print(f"{label:<16} {_ms(p50):>8} {_ms(p95):>8} {_ms(worst):>8}")

        if args.csv_days:
            csv_filters = ReportFilters(start=end - timedelta(days=args.csv_days - 1), end=end)
            rows, size, elapsed, grown = _export(csv_filters, args.timezone)
            print(
                f"\nCSV export, {args.csv_days} days: {rows:,} rows, {size / 1e6:.0f} MB in {elapsed:.1f} s "
                f"({rows / elapsed:,.0f} rows/s); peak RSS grew {grown:.0f} MB"
            )


def _explain(start: date, end: date, timezone: str) -> None:
    """Print EXPLAIN ANALYZE of each statement the report runs (PostgreSQL only)."""
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    routing_report(ReportFilters(start=start, end=end), timezone)
    event.remove(engine, "before_cursor_execute", capture)
    db.session.rollback()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith("SET "):
                cursor.execute(statement, parameters)  # the report's own settings (work_mem, jit)
                print(statement, end="\n\n")
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            print("\n".join(row[0] for row in cursor.fetchall()), end="\n\n")
    finally:
        raw.close()


if __name__ == "__main__":
    main()
