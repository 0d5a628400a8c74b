"""A real worker process takes tasks from the real broker (not eager mode)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from leadrouter.extensions import db
from leadrouter.jobs import enqueue
from leadrouter.models import Assignment, AuditEntry, ReportPartial, utcnow
from tests.factories import make_advisor, make_lead
from tests.worker_stack import wait_for

pytestmark = pytest.mark.slow


def _heartbeat_seen(app, token):
    with app.app_context():
        found = db.session.scalar(select(AuditEntry.id).where(AuditEntry.target == token))
        db.session.remove()
        return found


def test_a_task_round_trips_through_broker_and_worker(stack):
    stack.start_worker("--pool", "solo")
    token = f"round-trip-{uuid.uuid4().hex}"
    with stack.app.app_context():
        enqueue("diagnostics.record_heartbeat", token)
        db.session.commit()
    wait_for(lambda: _heartbeat_seen(stack.app, token), timeout=60, stack=stack)


def test_a_committed_lead_is_routed_by_the_worker(stack):
    stack.start_worker("--pool", "solo")
    with stack.app.app_context():
        advisor = make_advisor(regions=["TX"])
        lead = make_lead(route=True, state="TX")  # enqueues routing.route_lead after commit
        db.session.commit()
        lead_id, advisor_id = lead.id, advisor.id
        db.session.remove()

    def assigned():
        with stack.app.app_context():
            owner = db.session.scalar(select(Assignment.advisor_id).where(Assignment.lead_id == lead_id))
            db.session.remove()
            return owner

    assert wait_for(assigned, timeout=60, stack=stack) == advisor_id


def test_the_worker_keeps_the_report_rollups(stack):
    """`reports.refresh_rollups` (scheduled every 30 s) runs on a real worker and stores the hour
    of a lead (an hour that is over: the hour under way is folded live, never stored)."""
    from workers.schedule import beat_schedule

    schedule = beat_schedule(stack.app.config)
    assert "reports.refresh_rollups" in {entry["task"] for entry in schedule.values()}
    stack.start_worker("--pool", "solo")
    with stack.app.app_context():
        lead = make_lead(route=False, state="TX")
        lead.created_at = utcnow() - timedelta(hours=2)
        enqueue("reports.refresh_rollups")
        db.session.commit()
        hour = lead.created_at.replace(minute=0, second=0, microsecond=0)
        db.session.remove()

    def stored():
        with stack.app.app_context():
            found = db.session.scalar(
                select(ReportPartial.body).where(ReportPartial.scope == "", ReportPartial.start == hour)
            )
            db.session.remove()
            return found

    assert b'"source:' in wait_for(stored, timeout=60, stack=stack)
