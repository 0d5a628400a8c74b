"""The database as the benchmark sees it: seeding, counting statements, creating and dropping."""

from __future__ import annotations

import re
import statistics
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.harness.common import STATES

# --- the database, seen from the benchmark ---------------------------------------------------


class Database:
    """The benchmark's own app instance on a database: team set-up, resets and read-outs."""

    def __init__(self, url: str, broker: str, instance: Path):
        from leadrouter import create_app

        self.url = url
        self.app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "CELERY_BROKER_URL": broker,
                "INSTANCE_PATH": str(instance),
                "SECRET_KEY": "bench-secret-key-0123456789",
            }
        )

    def migrate(self) -> None:
        from flask_migrate import upgrade

        with self.app.app_context():
            upgrade()

    def create_team(self, advisors: int = 200, capacity: int = 100_000, keys: int = 8) -> list[str]:
        """Advisors in ten states plus a national pool, all available; return partner API keys."""
        from leadrouter.auth.api_keys import issue_api_key
        from leadrouter.extensions import db
        from leadrouter.models import Advisor

        with self.app.app_context():
            pool = advisors // 10
            for number in range(advisors):
                regions = ["*"] if number < pool else [STATES[number % len(STATES)]]
                db.session.add(
                    Advisor(
                        name=f"Bench Advisor {number}",
                        email=f"advisor{number}@bench.invalid",
                        phone=f"+1737200{number:04d}",
                        regions=regions,
                        languages=["en", "es"] if number % 4 == 0 else ["en"],
                        capacity=capacity,
                        status="available",
                        timezone="America/Chicago",
                    )
                )
            raw_keys = [issue_api_key("partner", f"bench partner {n}")[1] for n in range(keys)]
            db.session.commit()
            return raw_keys

    def reset(self, capacity: int) -> None:
        """Close every lead, end every assignment and give each advisor `capacity` free slots."""
        from sqlalchemy import update

        from leadrouter.extensions import db
        from leadrouter.models import Advisor, Assignment, Lead, utcnow

        with self.app.app_context():
            now = utcnow()
            db.session.execute(
                update(Assignment)
                .where(Assignment.ended_at.is_(None))
                .values(ended_at=now, end_reason="bench reset")
            )
            db.session.execute(
                update(Lead)
                .where(Lead.is_open.is_(True))
                .values(status="closed", is_open=False, closed_reason="bench reset")
            )
            db.session.execute(update(Advisor).values(open_leads=0, capacity=capacity, last_assigned_at=None))
            db.session.commit()

    def routing_backlog(self, since: datetime) -> int:
        from sqlalchemy import func, select

        from leadrouter.extensions import db
        from leadrouter.models import Lead

        with self.app.app_context():
            count = db.session.scalar(
                select(func.count(Lead.id)).where(
                    Lead.created_at >= since,
                    Lead.source == "api",
                    Lead.is_open.is_(True),
                    Lead.routed_at.is_(None),
                )
            )
            db.session.rollback()
            return count or 0

    def wait_routed(self, since: datetime, timeout: float) -> float:
        """Wait until every lead created since `since` was routed; return the seconds waited."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if self.routing_backlog(since) == 0:
                break
            time.sleep(0.25)
        return time.monotonic() - began

    def leads_since(self, since: datetime, source: str = "api") -> list:
        from sqlalchemy import select

        from leadrouter.extensions import db
        from leadrouter.models import Lead

        with self.app.app_context():
            rows = db.session.execute(
                select(Lead.id, Lead.phone, Lead.created_at, Lead.assigned_at, Lead.status).where(
                    Lead.created_at >= since, Lead.source == source
                )
            ).all()
            db.session.rollback()
            return rows

    def burst_checks(self, since: datetime) -> dict:
        """Double assignments and advisors over capacity after a burst."""
        from sqlalchemy import func, select

        from leadrouter.extensions import db
        from leadrouter.models import Advisor, Assignment, RoutingDecision

        with self.app.app_context():
            twice = db.session.execute(
                select(Assignment.lead_id)
                .where(Assignment.started_at >= since)
                .group_by(Assignment.lead_id)
                .having(func.count(Assignment.id) > 1)
            ).all()
            current_twice = db.session.execute(
                select(Assignment.lead_id)
                .where(Assignment.ended_at.is_(None))
                .group_by(Assignment.lead_id)
                .having(func.count(Assignment.id) > 1)
            ).all()
            held = dict(
                db.session.execute(
                    select(Assignment.advisor_id, func.count(Assignment.id))
                    .join(RoutingDecision, RoutingDecision.id == Assignment.decision_id)
                    .where(Assignment.ended_at.is_(None), RoutingDecision.rule != "critical_override")
                    .group_by(Assignment.advisor_id)
                ).all()
            )
            over = 0
            counter_over = 0
            for advisor_id, capacity, open_leads in db.session.execute(
                select(Advisor.id, Advisor.capacity, Advisor.open_leads)
            ).all():
                over += held.get(advisor_id, 0) > capacity
                counter_over += open_leads > capacity
            db.session.rollback()
            return {
                "double_assigned": len(twice) + len(current_twice),
                "over_capacity": over,
                "counter_over_capacity": counter_over,
            }

    def postgres_pids(self) -> list[int]:
        from sqlalchemy import text

        from leadrouter.extensions import db

        with self.app.app_context():
            if db.engine.dialect.name != "postgresql":
                return []
            rows = db.session.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE (datname = current_database() "
                    "AND pid <> pg_backend_pid()) OR backend_type IN "
                    "('walwriter', 'checkpointer', 'background writer')"
                )
            ).all()
            db.session.rollback()
            return [row[0] for row in rows]

    def dispose(self) -> None:
        from leadrouter.extensions import db

        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def statements_per_lead(database: Database, runs: int = 30) -> dict:
    """SQL statements and single-threaded service time of one intake and one routing, in-process."""
    from sqlalchemy import event

    from leadrouter.assignment.operations import route_lead
    from leadrouter.extensions import db
    from leadrouter.intake.operations import ConsentInput, LeadInput, record_lead

    counts = {"intake": [], "routing": []}
    times = {"intake": [], "routing": []}
    current = {"n": 0}

    def count(*_args, **_kwargs):
        current["n"] += 1

    with database.app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            for number in range(runs):
                data = LeadInput(
                    source="api",
                    name="Bench Caller",
                    phone=f"+1737{3_000_000 + number:07d}",
                    state=STATES[number % len(STATES)],
                    substances=("alcohol",),
                    consent=ConsentInput(given=True, text="You may call or text me.", version="bench-1"),
                )
                for kind, work in (
                    ("intake", lambda data=data: record_lead(data, "bench", route=False).lead.id),
                    ("routing", None),
                ):
                    current["n"] = 0
                    began = time.perf_counter()
                    if kind == "intake":
                        lead_id = work()
                    else:
                        route_lead(lead_id, notify=False)
                    db.session.commit()
                    times[kind].append(time.perf_counter() - began)
                    counts[kind].append(current["n"])
        finally:
            event.remove(engine, "before_cursor_execute", count)
            db.session.remove()
    return {
        kind: {"statements": statistics.median(counts[kind]), "ms": statistics.median(times[kind]) * 1000}
        for kind in counts
    }


def recreate_postgres_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    name = urlsplit(url).path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"refusing an unusual database name: {name!r}")
    engine = create_engine(with_database(url, "postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def lead_count(url: str) -> int | None:
    return scalar(url, "SELECT count(*) FROM leads")


def scalar(url: str, sql: str):
    """One value from the database at url; None when it is missing or has no schema yet."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar()
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()
