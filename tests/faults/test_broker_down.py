"""The broker (Redis) dies: people and callers are still served, and nothing is lost or doubled.

A private redis-server is started for the test and killed with SIGKILL. While it is down,
the form, the partner API and incoming calls go through the real app on a committed
database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set); /readyz names the broker.
Then Redis comes back on the same port (empty, as after a crash), a real worker process
starts, the periodic sweep runs, and every lead ends up with exactly one assignment.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from leadrouter.auth.api_keys import issue_api_key
from leadrouter.extensions import db
from leadrouter.jobs import send_now
from leadrouter.models import Assignment, Call, Lead
from tests.api.conftest import bearer
from tests.conftest import TEST_DATABASE_URL
from tests.factories import make_advisor
from tests.fault_stack import FaultStack, PrivateRedis
from tests.intake.conftest import VALID_FORM
from tests.telephony.test_twiml import said
from tests.telephony.test_voice_webhooks import SimulatedCall
from tests.worker_stack import isolated_database, wait_for

pytestmark = pytest.mark.slow

KINDS = ["sqlite"] + (["postgres"] if TEST_DATABASE_URL else [])
CALL_BUDGET_SECONDS = 2.0
ADVISOR_PHONE = "+15122060990"


@pytest.fixture(params=KINDS)
def stack_and_broker(request, tmp_path):
    broker = PrivateRedis(tmp_path).start()
    with isolated_database(request.param, tmp_path) as url:
        stack = FaultStack(request.param, tmp_path, url, broker.url)
        try:
            yield stack, broker
        finally:
            stack.stop()
            broker.kill()


def timed(action):
    started = time.monotonic()
    result = action()
    return result, time.monotonic() - started


def assignments_per_lead(stack) -> dict[int, int]:
    with stack.app.app_context():
        rows = db.session.execute(
            select(Lead.id, func.count(Assignment.id))
            .outerjoin(Assignment, Assignment.lead_id == Lead.id)
            .group_by(Lead.id)
        ).all()
        db.session.remove()
    return dict(rows)


def test_with_the_broker_down_intake_and_calls_succeed_and_every_lead_is_routed_once_after(
    stack_and_broker,
):
    stack, broker = stack_and_broker
    app = stack.app
    with app.app_context():
        make_advisor(regions=["TX"], capacity=50, phone=ADVISOR_PHONE)
        _, partner_key = issue_api_key("partner", "Partner site")
        db.session.commit()
        db.session.remove()

    broker.kill()
    assert broker.is_down()
    client = app.test_client()

    # The form: three people, each stored and thanked, none kept waiting on the broker.
    for n in range(3):
        response, seconds = timed(
            lambda n=n: client.post("/contact", data={**VALID_FORM, "phone": f"(512) 206-01{n:02d}"})
        )
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        assert seconds < CALL_BUDGET_SECONDS

    # The partner API: three leads, 201 each.
    for n in range(3):
        body = {"name": f"Partner Lead {n}", "phone": f"+1512206{200 + n:04d}", "state": "TX"}
        response, seconds = timed(
            lambda body=body: client.post("/api/v1/leads", json=body, headers=bearer(partner_key))
        )
        assert response.status_code == 201, response.get_json()
        assert seconds < CALL_BUDGET_SECONDS

    # A caller: greeted, then put through to the advisor, each step within 2 s.
    with app.app_context():
        call = SimulatedCall(client, "+15125550177", FromState="TX")
        welcome, seconds = timed(call.start)
        assert welcome.find("Gather") is not None and "911" in said(welcome)
        assert seconds < CALL_BUDGET_SECONDS
        dial_doc, seconds = timed(lambda: call.press(welcome, "1"))
        assert dial_doc.find("Dial/Number").text == ADVISOR_PHONE
        assert seconds < CALL_BUDGET_SECONDS
        # The advisor took that call (accepted after the whisper: a bare "completed" Dial is her
        # voicemail picking up, a miss) and it ended: she is free again (a live call keeps her busy).
        call.dial_ends(dial_doc, "completed", call.advisor_leg(dial_doc))
        call.hang_up()

        # A critical caller (presses 0) is never queued behind the broker either.
        critical = SimulatedCall(client, "+15125550178", FromState="TX")
        guidance, seconds = timed(lambda: critical.press(critical.start(), "0"))
        assert "911" in said(guidance) and seconds < 2 * CALL_BUDGET_SECONDS
        dial_doc, seconds = timed(lambda: critical.press(guidance, None))
        assert dial_doc.find("Dial/Number").text == ADVISOR_PHONE
        assert seconds < CALL_BUDGET_SECONDS
        assert critical.lead.urgency == "critical"
        critical.dial_ends(dial_doc, "completed", critical.advisor_leg(dial_doc))
        critical.hang_up()  # the advisor is free for the leads the outage left unrouted
        call_sids = [call.sid, critical.sid]
        db.session.remove()

    # Readiness says what is wrong, and only that.
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert set(ready.get_json()["failing"]) == {"broker"}

    with app.app_context():
        leads = db.session.scalar(select(func.count()).select_from(Lead))
        assert leads == 8
        routed_by_calls = set(db.session.scalars(select(Call.lead_id).where(Call.call_sid.in_(call_sids))))
        unrouted = set(db.session.scalars(select(Lead.id).where(Lead.routed_at.is_(None))))
        assert len(unrouted) == 6 and not unrouted & routed_by_calls
        # The outage lasted a while: the leads are older than the sweep's grace period.
        for lead in db.session.scalars(select(Lead)):
            lead.created_at -= timedelta(minutes=5)
        db.session.commit()
        db.session.remove()

    # The broker comes back (empty) on the same port, and a worker starts.
    broker.start()
    stack.start_worker()
    celery_app = app.extensions["celery"]
    with app.app_context():
        wait_for(lambda: send_now(celery_app, "routing.sweep_unrouted", (), {}), timeout=15, stack=stack)
    wait_for(lambda: set(assignments_per_lead(stack).values()) == {1}, timeout=60, stack=stack)

    # The sweep again, and a late copy of each lost routing task: still exactly once.
    with app.app_context():
        assert send_now(celery_app, "routing.sweep_unrouted", (), {})
        for lead_id in unrouted:
            assert send_now(celery_app, "routing.route_lead", (lead_id,), {})
    wait_for(lambda: stack.pending_messages() == 0, timeout=60, stack=stack)
    time.sleep(0.5)  # let the last acknowledged task's transaction finish
    counts = assignments_per_lead(stack)
    assert len(counts) == 8
    assert set(counts.values()) == {1}, counts
    assert "sweep routed 6 leads" in stack.log()
