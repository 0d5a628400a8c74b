"""What one lead costs, counted in-process: SQL statements, transactions, Redis round trips, CPU-ms.

    .venv/bin/python bench/cost.py                       # PostgreSQL + Redis (production shape)
    .venv/bin/python bench/cost.py --embedded            # SQLite + the embedded broker
    .venv/bin/python bench/cost.py --show-statements     # and every statement of one typical lead
    .venv/bin/python bench/cost.py --hold                # one hold turn, 100 callers holding (issue 14)

Counting is not disturbed by a busy machine the way timing is, so this is the instrument for
"fewer round trips per lead" (issue 17). Leads arrive one at a time, as a helpline sees them
at ordinary rates: each is posted to `POST /api/v1/leads` through the whole Flask stack (rate
limiter, API key, schema, intake, commit, the routing publish), then the routing task runs
for it in the same process (`routing.route_lead`, as a worker would with one lead waiting).
With --hold it measures a caller's hold turn instead: 100 calls answered by POST /twilio/voice
and put in line with every advisor busy (as bench/calls_bench.py does), then signed POSTs of
/twilio/voice/hold, cycling over them as their <Redirect>s would. The figures are medians over
the leads (or turns); CPU is `time.process_time()` of this process (the
PostgreSQL backend's CPU is read from /proc when it runs on this machine). The database
(`leadrouter_bench_cost` by default) is dropped and recreated; the Redis database is
flushed (default db 6 of 127.0.0.1: give it one nobody else uses).
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness.common import (  # noqa: E402  (after the path above)
    HELPLINE,
    MESSAGES,
    PUBLIC_BASE_URL,
    STATES,
    SUBSTANCES,
    TWILIO_TOKEN,
)
from bench.harness.database import recreate_postgres_database  # noqa: E402  (after the path above)


@dataclass
class Tally:
    """What one unit of work (an intake request, a routing task) sent to the database and Redis."""

    statements: int = 0
    transactions: int = 0
    redis_round_trips: int = 0
    redis_commands: int = 0
    cpu_ms: float = 0.0
    backend_cpu_ms: float = 0.0
    sql: list[str] = field(default_factory=list)
    redis: list[str] = field(default_factory=list)


class Counters:
    """Counts every statement, commit and Redis round trip of this process into the current tally."""

    def __init__(self, engine):
        import redis.connection
        from sqlalchemy import event

        self.current = Tally()
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        tally = self

        # One send_packed_command is one write to the socket, answered before the next: a round
        # trip (a pipeline packs its commands into one). Wrapped on the class, so every client
        # counts: the rate limiter's storage, the waiting marks and kombu's publisher.
        original_send = redis.connection.AbstractConnection.send_packed_command
        original_pack = redis.connection.AbstractConnection.pack_commands

        def send_packed_command(connection, command, check_health=True):
            tally.current.redis_round_trips += 1
            return original_send(connection, command, check_health)

        def send_command(connection, *args, **kwargs):
            tally.current.redis_commands += 1
            tally.current.redis.append(" ".join(_word(a) for a in args[:2]))
            return original_send_command(connection, *args, **kwargs)

        def pack_commands(connection, commands):
            commands = list(commands)
            tally.current.redis_commands += len(commands)
            tally.current.redis.append("pipeline: " + ", ".join(_word(c[0]) for c in commands))
            return original_pack(connection, commands)

        original_send_command = redis.connection.AbstractConnection.send_command
        redis.connection.AbstractConnection.send_packed_command = send_packed_command
        redis.connection.AbstractConnection.send_command = send_command
        redis.connection.AbstractConnection.pack_commands = pack_commands

    def _statement(self, _conn, _cursor, statement, _parameters, _context, _executemany):
        self.current.statements += 1
        self.current.sql.append(" ".join(statement.split())[:160])

    def _commit(self, _conn):
        self.current.transactions += 1

    def measure(self, work, backend_pids=(), profiler=None) -> Tally:
        self.current = Tally()
        backend_before = sum(_cpu_seconds(pid) for pid in backend_pids)
        began = time.process_time()
        if profiler is not None:
            profiler.runcall(work)
        else:
            work()
        self.current.cpu_ms = (time.process_time() - began) * 1000
        self.current.backend_cpu_ms = (sum(_cpu_seconds(pid) for pid in backend_pids) - backend_before) * 1000
        return self.current


def _word(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _cpu_seconds(pid: int) -> float:
    import os

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lead_body(number: int) -> bytes:
    body = {
        "name": "Bench Caller",
        "phone": f"+1737{4_000_000 + number:07d}",
        "state": STATES[number % len(STATES)],
        "substances": SUBSTANCES[number % len(SUBSTANCES)],
        "consent": {"given": True, "text": "You may call or text me.", "version": "bench-1"},
        "utm": {"source": "bench", "campaign": "cost"},
    }
    if MESSAGES[number % len(MESSAGES)]:
        body["message"] = MESSAGES[number % len(MESSAGES)]
    return json.dumps(body).encode()


def build_app(args, instance: Path):
    import redis

    from leadrouter import create_app

    if args.embedded:
        database_url = f"sqlite:///{instance / 'leadrouter.sqlite'}"
        broker_url = f"sqla+sqlite:///{instance / 'broker.sqlite'}"
        storage = "memory://"
    else:
        from leadrouter.config import normalize_database_url

        database_url = normalize_database_url(args.database_url)
        recreate_postgres_database(database_url)
        redis.Redis.from_url(args.redis_url).flushdb()
        broker_url = storage = args.redis_url
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "CELERY_BROKER_URL": broker_url,
            "REDIS_URL": None if args.embedded else args.redis_url,
            "RATELIMIT_STORAGE_URI": storage,
            "RATELIMIT_API_LEADS": "1000000 per minute",
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "bench-secret-key-0123456789",
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "HELPLINE_NUMBER": HELPLINE,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/leadrouter_bench_cost"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--embedded", action="store_true", help="SQLite and the embedded broker")
    parser.add_argument("--leads", type=int, default=150, help="leads measured (after 20 warm-up leads)")
    parser.add_argument("--show-statements", action="store_true", help="list one typical lead's statements")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--profile", choices=("intake", "routing", "hold"), help="cProfile that work, top functions"
    )
    parser.add_argument(
        "--hold", action="store_true", help="a hold turn with 100 callers holding, not a lead"
    )
    args = parser.parse_args(argv)

    from flask_migrate import upgrade

    from bench.harness.database import Database
    from leadrouter.extensions import db

    instance = Path(tempfile.mkdtemp(prefix="leadrouter-cost-"))
    app = build_app(args, instance)
    bench_db = Database.__new__(Database)  # the team set-up of the benchmark, on this app
    bench_db.app, bench_db.url = app, app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        upgrade()
    [raw_key] = bench_db.create_team(keys=1)

    from workers.tasks.routing import route_lead

    headers = {"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"}
    client = app.test_client()
    tallies: dict[str, list[Tally]] = collections.defaultdict(list)
    if args.hold:
        import cProfile
        import pstats

        profiler = cProfile.Profile(time.process_time) if args.profile == "hold" else None
        tallies["hold turn"] = hold_turns(app, client, args, profiler)
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        print(report(summarise(tallies), args))
        return 0
    with app.app_context():
        counters = Counters(db.engine)
        backends = _backend_pids(db) if not args.embedded else []
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU, not waiting
        for number in range(20 + args.leads):
            response = None

            def intake(number=number):
                nonlocal response
                response = client.post("/api/v1/leads", data=lead_body(number), headers=headers)

            profiled = number >= 20 and args.profile == "intake"
            intake_tally = counters.measure(intake, backends, profiler if profiled else None)
            if response.status_code != 201:
                raise SystemExit(f"intake answered {response.status_code}: {response.get_data(as_text=True)}")
            lead_id = response.get_json()["id"]
            profiled = number >= 20 and args.profile == "routing"
            routing_tally = counters.measure(
                lambda lead_id=lead_id: route_lead(lead_id), backends, profiler if profiled else None
            )
            db.session.remove()
            if number >= 20:
                tallies["intake"].append(intake_tally)
                tallies["routing"].append(routing_tally)

    if args.profile:
        import pstats

        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    figures = summarise(tallies)
    print(report(figures, args))
    if args.show_statements:
        for kind in ("intake", "routing"):
            typical = tallies[kind][len(tallies[kind]) // 2]
            print(f"\n{kind}: {typical.statements} statements, {typical.redis_round_trips} Redis round trips")
            for statement in typical.sql:
                print(f"  SQL   {statement}")
            for command in typical.redis:
                print(f"  Redis {command}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    if not args.embedded:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
    return 0


HOLDING_CALLERS = 100


def hold_turns(app, client, args, profiler=None, turns: int = 300) -> list[Tally]:
    """Each hold turn's tally, the callers in line and every advisor busy (nobody to ring)."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from bench.calls_bench import hold_request
    from bench.harness.load import Traffic
    from leadrouter.extensions import db
    from leadrouter.models import Advisor, Call

    calls = Traffic([]).voice(HOLDING_CALLERS)
    for call in calls:
        if client.post(call.path, data=call.body, headers=call.headers).status_code != 200:
            raise SystemExit("POST /twilio/voice did not answer 200")
    sids = [parse_qs(call.body.decode())["CallSid"][0] for call in calls]
    with app.app_context():
        db.session.execute(update(Advisor).values(status="busy"))
        db.session.execute(
            update(Call).where(Call.call_sid.in_(sids)).values(hold_started_at=datetime.now(UTC))
        )
        db.session.commit()
        counters = Counters(db.engine)
        backends = _backend_pids(db) if not args.embedded else []
        tallies = []
        for number in range(20 + turns):
            turn = hold_request(sids[number % len(sids)], calls[number % len(calls)].key)
            response = None

            def post(turn=turn):
                nonlocal response
                response = client.post(turn.path, data=turn.body, headers=turn.headers)

            tally = counters.measure(post, backends, profiler if number >= 20 else None)
            if response.status_code != 200 or b"<Gather" not in response.data:
                raise SystemExit(f"the hold turn answered {response.status_code}: {response.data[:300]!r}")
            db.session.remove()
            if number >= 20:
                tallies.append(tally)
    return tallies


def _backend_pids(db) -> list[int]:
    from sqlalchemy import text

    # Our one connection's backend: its CPU is the database's share of each lead.
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
    db.session.remove()
    pids = {pid}
    rows = db.session.execute(
        text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    ).scalars()
    pids.update(rows)
    db.session.remove()
    return sorted(pids)


COUNTED = ("statements", "transactions", "redis_round_trips", "redis_commands", "cpu_ms")


def summarise(tallies: dict[str, list[Tally]]) -> dict:
    figures = {}
    for kind, rows in tallies.items():
        figures[kind] = {name: statistics.median(getattr(row, name) for row in rows) for name in COUNTED}
        # /proc counts in clock ticks (10 ms): one lead's share only shows as a mean.
        figures[kind]["backend_cpu_ms"] = statistics.fmean(row.backend_cpu_ms for row in rows)
        figures[kind]["leads"] = len(rows)
    every = (*COUNTED, "backend_cpu_ms")
    if {"intake", "routing"} <= set(tallies):
        figures["lead"] = {name: sum(figures[kind][name] for kind in tallies) for name in every}
    return figures


def report(figures: dict, args) -> str:
    where = "SQLite + embedded broker" if args.embedded else "PostgreSQL + Redis"
    unit = "hold turns" if "hold turn" in figures else "leads"
    count = figures.get("hold turn", figures.get("intake", {})).get("leads", 0)
    lines = [
        f"one at a time, {count} {unit}, {where}; medians per {unit[:-1]}",
        "| work | SQL statements | transactions | Redis round trips (commands) | CPU-ms (this process) "
        "| CPU-ms (database backend, mean) |",
        "|---|---|---|---|---|---|",
    ]
    for kind in ("intake", "routing", "lead", "hold turn"):
        if kind not in figures:
            continue
        row = figures[kind]
        name = "whole lead" if kind == "lead" else kind
        lines.append(
            f"| {name} | {row['statements']:.0f} | {row['transactions']:.0f} "
            f"| {row['redis_round_trips']:.0f} ({row['redis_commands']:.0f}) | {row['cpu_ms']:.2f} "
            f"| {row['backend_cpu_ms']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
