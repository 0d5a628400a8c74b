"""Exactly once under concurrency: several worker processes routing the same leads at once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from leadrouter.extensions import db
from leadrouter.models import Advisor, Assignment, Lead
from tests.factories import make_advisor, make_lead
from tests.worker_stack import wait_for

pytestmark = pytest.mark.slow


def _routed_count(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count(Lead.id)).where(Lead.routed_at.is_not(None)))
        db.session.remove()
        return count


def test_four_workers_assign_each_lead_at_most_once_and_never_overfill(stack):
    lead_count = 200 if stack.kind == "postgres+redis" else 60
    with stack.app.app_context():
        advisors = [make_advisor(regions=["TX"], capacity=10 if lead_count == 200 else 3) for _ in range(5)]
        capacity = sum(a.capacity for a in advisors)
        lead_ids = [make_lead(state="TX").id for _ in range(lead_count)]
        db.session.commit()
        db.session.remove()
    for _ in range(4):
        stack.start_worker("--pool", "prefork", "--concurrency", "1")
    celery = stack.app.extensions["celery"]
    # At-least-once delivery: every lead is offered twice, from two directions.
    for lead_id in lead_ids + lead_ids[::-1]:
        celery.send_task("routing.route_lead", args=[lead_id])

    wait_for(lambda: _routed_count(stack.app) == lead_count, timeout=120, stack=stack)
    wait_for(lambda: stack.pending_messages() == 0, timeout=60, stack=stack)

    with stack.app.app_context():
        per_lead = db.session.execute(
            select(Assignment.lead_id, func.count()).group_by(Assignment.lead_id)
        ).all()
        assert all(count == 1 for _, count in per_lead), "a lead was assigned twice"
        assert len(per_lead) == capacity
        for advisor in db.session.scalars(select(Advisor)):
            held = db.session.scalar(select(func.count()).where(Assignment.advisor_id == advisor.id))
            assert advisor.open_leads == held <= advisor.capacity
        statuses = dict(db.session.execute(select(Lead.status, func.count()).group_by(Lead.status)).all())
        assert statuses == {"assigned": capacity, "queued": lead_count - capacity}
        db.session.remove()
