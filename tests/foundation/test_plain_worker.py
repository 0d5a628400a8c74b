"""`celery -A workers worker`, typed as every Celery user types it, consumes every queue and routes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from leadrouter.extensions import TASK_QUEUES, db
from leadrouter.models import Assignment, WorkerHeartbeat
from tests.factories import make_advisor, make_lead
from tests.worker_stack import wait_for

pytestmark = pytest.mark.slow


def _owner(app, lead_id):
    with app.app_context():
        owner = db.session.scalar(select(Assignment.advisor_id).where(Assignment.lead_id == lead_id))
        db.session.remove()
        return owner


def test_a_plain_worker_consumes_every_queue_and_routes_a_lead(stack):
    stack.start_worker(queues=None)
    with stack.app.app_context():
        advisor = make_advisor(regions=["TX"])
        lead = make_lead(route=True, state="TX")  # publishes routing.route_lead on the routing queue
        db.session.commit()
        lead_id, advisor_id = lead.id, advisor.id
        db.session.remove()

    assert wait_for(lambda: _owner(stack.app, lead_id), timeout=60, stack=stack) == advisor_id
    assert f"consumes the queues: {', '.join(sorted(TASK_QUEUES))}" in stack.log()

    def ready_with_a_worker():
        body = stack.app.test_client().get("/readyz").get_json()
        return body if body["status"] == "ready" else None

    assert wait_for(ready_with_a_worker, timeout=30, stack=stack)["workers"] == "ok"


def test_a_worker_left_off_the_routing_queue_says_so_and_readiness_warns(stack):
    stack.start_worker(queues="default,notify")

    def registered():
        with stack.app.app_context():
            row = db.session.scalar(select(WorkerHeartbeat))
            db.session.remove()
            return row

    row = wait_for(registered, timeout=60, stack=stack)
    assert row.queues == ",default,notify,"
    assert "does not consume the 'routing' queue" in stack.log()
    response = stack.app.test_client().get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    assert "'routing' queue" in body["warnings"]["workers"]
