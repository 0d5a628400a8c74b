"""An owned lead over time: hand-offs for a call, urgency rises, reopening, queue waits, call endings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from leadrouter.assignment import operations
from leadrouter.intake import calls
from leadrouter.intake.operations import LeadInput, record_lead
from leadrouter.models import Assignment, Call, FollowUp, Notification, utcnow
from leadrouter.pipeline import operations as pipeline
from tests.factories import make_advisor, make_lead


def test_a_caller_whose_owner_is_away_reaches_another_free_advisor(session):
    owner = make_advisor(name="Away Owner")
    lead = make_lead(phone="+15122060301")
    operations.route_lead(lead.id)
    assert lead.owner_id == owner.id
    owner.status = "offline"
    other = make_advisor(name="Free Colleague")
    call = Call(call_sid="CAhandoff", lead_id=lead.id)
    session.add(call)
    session.flush()

    step = calls.connect_caller(call)

    assert step.kind == "dial" and step.advisor.id == other.id
    assert lead.owner_id == other.id
    assert owner.open_leads == 0 and other.open_leads == 1


def test_with_nobody_else_free_the_owner_keeps_the_lead(session):
    owner = make_advisor(name="Only One")
    lead = make_lead(phone="+15122060302")
    operations.route_lead(lead.id)
    owner.status = "busy"
    assert operations.hand_over_for_call(lead) is False
    assert lead.owner_id == owner.id and owner.open_leads == 1


def test_an_emergency_on_an_assigned_lead_tightens_its_deadline_and_texts_the_advisor(session):
    make_advisor(phone="+15122060399")
    lead = make_lead(phone="+15122060303", message="looking for options")
    operations.route_lead(lead.id)
    assert lead.urgency == "normal"
    relaxed_due = lead.sla_due_at
    assert session.scalars(select(Notification)).all() == []

    record_lead(LeadInput(source="sms", phone="+15122060303", message="he overdosed and is not breathing"))

    assert lead.urgency == "critical"
    assert lead.sla_due_at <= utcnow() + timedelta(minutes=5, seconds=5) < relaxed_due
    assert [n.channel for n in session.scalars(select(Notification))] == ["sms"]
    callback = session.scalar(
        select(FollowUp).where(FollowUp.lead_id == lead.id, FollowUp.kind == "callback")
    )
    assert callback.due_at <= utcnow()


def test_a_closed_lead_that_gets_in_touch_again_is_routed_afresh(session):
    first = make_advisor(name="First Owner")
    lead = make_lead(phone="+15122060304")
    operations.route_lead(lead.id)
    pipeline.change_status(lead, "closed", "test", "unreachable")
    first.status = "offline"
    second = make_advisor(name="Second Owner")

    result = record_lead(LeadInput(source="web_form", phone="+15122060304", name="Back Again"))

    assert result.lead.id == lead.id and lead.status == "new" and lead.owner_id is None
    assert lead.id in operations.unrouted_lead_ids(now=utcnow() + timedelta(minutes=1))
    operations.route_lead(lead.id)
    assert lead.owner_id == second.id


def test_a_lead_that_waited_in_the_queue_is_not_overdue_on_arrival(session):
    advisor = make_advisor(status="offline")
    lead = make_lead(phone="+15122060305", occurred_at=utcnow() - timedelta(hours=3))
    operations.route_lead(lead.id, now=utcnow() - timedelta(hours=3))
    advisor.status = "available"
    now = utcnow()
    operations.route_lead(lead.id, trigger="drain", now=now)
    assert lead.owner_id == advisor.id
    assert lead.sla_due_at > now
    assert operations.enforce_sla(lead.id, now=now + timedelta(minutes=1)) is None


def test_a_finished_lead_cannot_be_reassigned(session):
    advisor = make_advisor()
    lead = make_lead(phone="+15122060306")
    operations.route_lead(lead.id)
    pipeline.change_status(lead, "closed", "test", "not_interested")
    with pytest.raises(operations.AssignmentRefused):
        operations.reassign_lead(lead, advisor, "manager:1", "test")
    assert advisor.open_leads == 0
    assert session.scalars(select(Assignment).where(Assignment.ended_at.is_(None))).all() == []


def test_an_outbound_call_that_ends_is_not_an_abandoned_caller(session):
    make_advisor()
    lead = make_lead(phone="+15122060307")
    operations.route_lead(lead.id)
    call = Call(call_sid="CAoutbound", lead_id=lead.id, direction="outbound", status="queued")
    session.add(call)
    session.flush()
    calls.update_call_status("CAoutbound", "completed", "42")
    assert call.outcome == "answered" and lead.urgency == "normal"
