"""A worker killed with SIGKILL in the middle of routing loses nothing and doubles nothing."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select, text

from leadrouter.extensions import db
from leadrouter.models import Advisor, Assignment, Lead, utcnow
from tests.factories import make_advisor, make_lead
from tests.worker_stack import wait_for

pytestmark = pytest.mark.slow


def _hold_advisor_lock(stack, advisor_id):
    """Block writers on the advisor row, so the worker stops mid-task at its capacity claim."""
    engine = create_engine(stack.database_url)
    conn = engine.connect()
    if stack.kind == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.execute(text("SELECT id FROM advisors WHERE id = :id FOR UPDATE"), {"id": advisor_id})
    return engine, conn


def _worker_is_waiting(stack) -> bool:
    if stack.kind == "sqlite":
        return "routing.route_lead" in stack.log() and "received" in stack.log()
    with stack.app.app_context():
        waiting = db.session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND query ILIKE '%advisors%'"
            )
        )
        db.session.remove()
        return bool(waiting)


def test_a_worker_killed_mid_claim_leaves_the_lead_routable_exactly_once(stack):
    with stack.app.app_context():
        advisor = make_advisor(regions=["TX"])
        lead = make_lead(state="TX", occurred_at=utcnow() - timedelta(minutes=2))
        db.session.commit()
        advisor_id, lead_id = advisor.id, lead.id
        db.session.remove()

    engine, lock = _hold_advisor_lock(stack, advisor_id)
    worker = stack.start_worker("--pool", "prefork", "--concurrency", "1")
    stack.app.extensions["celery"].send_task("routing.route_lead", args=[lead_id])
    wait_for(lambda: _worker_is_waiting(stack), timeout=60, stack=stack)
    time.sleep(0.5)
    os.killpg(worker.pid, signal.SIGKILL)  # the main process and its pool child, mid-transaction
    worker.wait()
    lock.rollback()
    lock.close()
    engine.dispose()

    with stack.app.app_context():
        assert db.session.get(Lead, lead_id).routed_at is None  # nothing half-done was kept
        db.session.remove()

    stack.start_worker("--pool", "solo")
    stack.app.extensions["celery"].send_task("routing.sweep_unrouted")

    def assigned():
        with stack.app.app_context():
            count = db.session.scalar(select(func.count()).where(Assignment.lead_id == lead_id))
            db.session.remove()
            return count

    assert wait_for(assigned, timeout=60, stack=stack) == 1
    time.sleep(1)
    with stack.app.app_context():
        assert db.session.scalar(select(func.count()).where(Assignment.lead_id == lead_id)) == 1
        assert db.session.get(Advisor, advisor_id).open_leads == 1
        db.session.remove()
