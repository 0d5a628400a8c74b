"""Routing applied to the database: assignment, queueing, capacity, SLA, release."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from leadrouter.assignment import operations
from leadrouter.models import Assignment, Event, FollowUp, Notification, RoutingDecision, utcnow
from tests.factories import make_advisor, make_lead


def _events(session, lead):
    return [e.type for e in session.scalars(select(Event).where(Event.lead_id == lead.id).order_by(Event.id))]


def test_a_lead_goes_to_the_advisor_covering_its_state(session):
    make_advisor(regions=["CA"])
    texan = make_advisor(regions=["TX"])
    lead = make_lead(state="TX")

    decision = operations.route_lead(lead.id)

    assert decision.advisor_id == texan.id
    assert lead.owner_id == texan.id and lead.status == "assigned"
    assert texan.open_leads == 1
    assert lead.routing_trace["outcome"] == "assigned"
    assert "assigned" in _events(session, lead)
    assert session.scalar(select(Assignment).where(Assignment.lead_id == lead.id)).advisor_id == texan.id


def test_routing_twice_assigns_once(session):
    advisor = make_advisor()
    lead = make_lead()
    operations.route_lead(lead.id)
    assert operations.route_lead(lead.id) is None
    assert advisor.open_leads == 1
    assert len(session.scalars(select(Assignment).where(Assignment.lead_id == lead.id)).all()) == 1


def test_no_eligible_advisor_queues_the_lead_then_a_drain_assigns_it(session):
    advisor = make_advisor(status="offline")
    lead = make_lead()
    decision = operations.route_lead(lead.id)
    assert decision.outcome == "queued" and lead.status == "queued"

    advisor.status = "available"
    session.flush()
    assert lead.id in operations.waiting_lead_ids()
    operations.route_lead(lead.id, trigger="drain")
    assert lead.owner_id == advisor.id
    assert _events(session, lead).count("queued") == 1


def test_capacity_is_never_exceeded(session):
    advisor = make_advisor(capacity=2)
    leads = [make_lead() for _ in range(3)]
    outcomes = [operations.route_lead(lead.id).outcome for lead in leads]
    assert outcomes == ["assigned", "assigned", "queued"]
    assert advisor.open_leads == 2


def test_an_urgent_assignment_queues_one_sms_in_the_outbox(session):
    advisor = make_advisor()
    lead = make_lead(message="he overdosed and is not breathing")
    assert lead.urgency == "critical"
    operations.route_lead(lead.id)
    notifications = session.scalars(select(Notification)).all()
    assert [n.status for n in notifications] == ["pending"]
    assert advisor.open_leads == 1


def test_a_consented_lead_gets_a_callback_inside_quiet_hours(session):
    make_advisor()
    lead = make_lead()
    operations.route_lead(lead.id)
    callback = session.scalar(select(FollowUp).where(FollowUp.lead_id == lead.id))
    assert callback is not None and callback.kind == "callback"


def test_no_callback_without_consent_or_for_do_not_contact(session):
    make_advisor()
    without_consent = make_lead(consent=None)
    operations.route_lead(without_consent.id)
    blocked = make_lead()
    blocked.do_not_contact = True
    operations.route_lead(blocked.id)
    assert session.scalars(select(FollowUp)).all() == []


def test_an_overdue_lead_is_reassigned_then_escalated(session):
    first = make_advisor(name="First")
    second = make_advisor(name="Second")
    lead = make_lead()
    operations.route_lead(lead.id)
    original = lead.owner_id
    later = lead.sla_due_at + timedelta(minutes=1)

    assert operations.enforce_sla(lead.id, now=later) == "reassigned"
    assert lead.owner_id != original and lead.reassignment_count == 1
    assert {first.open_leads, second.open_leads} == {0, 1}

    assert operations.enforce_sla(lead.id, now=lead.sla_due_at + timedelta(minutes=1)) == "reassigned"
    assert operations.enforce_sla(lead.id, now=lead.sla_due_at + timedelta(minutes=1)) == "escalated"
    assert lead.escalated_at is not None
    assert "escalated" in _events(session, lead)
    current = session.scalars(
        select(Assignment).where(Assignment.lead_id == lead.id, Assignment.ended_at.is_(None))
    )
    assert len(current.all()) == 1


def test_releasing_a_lead_frees_capacity(session):
    advisor = make_advisor(capacity=1)
    lead = make_lead()
    operations.route_lead(lead.id)
    lead.set_status("closed")
    operations.release_lead(lead, "closed")
    assert advisor.open_leads == 0
    assert lead.owner_id == advisor.id  # who handled it stays visible


def test_every_decision_is_stored_with_its_trace(session):
    make_advisor(status="busy", name="Busy Bee")
    lead = make_lead()
    operations.route_lead(lead.id)
    decision = session.scalar(select(RoutingDecision).where(RoutingDecision.lead_id == lead.id))
    assert decision.outcome == "queued"
    reasons = [reason for c in decision.trace["candidates"] for reason in c["reasons"]]
    assert any("busy" in reason for reason in reasons)


def test_unrouted_sweep_finds_leads_the_queue_missed(session):
    lead = make_lead()
    assert lead.id not in operations.unrouted_lead_ids(now=utcnow())
    assert lead.id in operations.unrouted_lead_ids(now=utcnow() + timedelta(minutes=1))
