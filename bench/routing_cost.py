"""Routing cost in-process on PostgreSQL: leads routed one per transaction vs in batches.

    python bench/routing_cost.py --database-url postgresql://postgres@127.0.0.1/leadrouter_bench_routing

The database is dropped, created and given the benchmark's team (200 advisors in ten states
and a national pool). Each round records N leads through the real intake, then routes them
one per transaction (`route_lead`, what a single routing message does) or in batches
(`route_leads`, what a routing task does with a backlog), and prints CPU-ms and SQL
statements per lead. Rounds alternate so a noisy machine spreads its noise over both.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import common as bench  # noqa: E402  (after the path above)
from bench.harness.database import Database, recreate_postgres_database  # noqa: E402  (after the path above)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/leadrouter_bench_routing"
    )
    parser.add_argument("--leads", type=int, default=500, help="leads per round")
    parser.add_argument("--batch", type=int, default=50, help="leads per batch")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each way")
    args = parser.parse_args()

    from sqlalchemy import event

    recreate_postgres_database(args.database_url)
    database = Database(args.database_url, "memory://", Path(tempfile.mkdtemp()))
    database.migrate()
    database.create_team()

    from leadrouter.assignment import operations
    from leadrouter.extensions import db
    from leadrouter.intake.operations import ConsentInput, LeadInput, record_lead

    made = 0

    def record(count: int) -> list[int]:
        nonlocal made
        ids = []
        for _ in range(count):
            made += 1
            data = LeadInput(
                source="api",
                name="Bench Caller",
                phone=f"+1737{3_000_000 + made:07d}",
                state=bench.STATES[made % len(bench.STATES)],
                message=bench.MESSAGES[made % len(bench.MESSAGES)],
                consent=ConsentInput(given=True, text="You may call or text me.", version="bench-1"),
            )
            ids.append(record_lead(data, "bench", route=False).lead.id)
        db.session.commit()
        return ids

    def one_by_one(ids: list[int]) -> None:
        for lead_id in ids:
            operations.route_lead(lead_id, notify=False)
            db.session.commit()

    def in_batches(ids: list[int]) -> None:
        for start in range(0, len(ids), args.batch):
            operations.route_leads(ids[start : start + args.batch], notify=False)
            db.session.commit()

    statements = 0

    def count(*_args) -> None:
        nonlocal statements
        statements += 1

    results: dict[str, list[tuple[float, float]]] = {"one per transaction": [], "batches": []}
    with database.app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        for _round in range(args.rounds):
            for label, route in (("one per transaction", one_by_one), ("batches", in_batches)):
                ids = record(args.leads)
                statements = 0
                began = time.process_time()
                route(ids)
                cpu_ms = (time.process_time() - began) * 1000 / len(ids)
                results[label].append((cpu_ms, statements / len(ids)))
                database.reset(capacity=100_000)
        db.session.remove()

    print(f"{args.leads} leads per round, {args.rounds} rounds, 200 advisors; batches of {args.batch}")
    for label, rows in results.items():
        cpu = statistics.median(row[0] for row in rows)
        sql = statistics.median(row[1] for row in rows)
        print(f"  {label:20s} median {cpu:5.2f} CPU-ms per lead, {sql:4.1f} SQL statements per lead")
    single = statistics.median(row[0] for row in results["one per transaction"])
    batched = statistics.median(row[0] for row in results["batches"])
    print(f"  ratio {single / batched:.1f}x (CPU of this process; PostgreSQL's own CPU is not counted)")


if __name__ == "__main__":
    main()
