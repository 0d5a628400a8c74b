"""Routing a batch of leads in one transaction decides and records what one-by-one routing does."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, func, select, text, update

from leadrouter.assignment import operations
from leadrouter.assignment.policy_store import load_policy
from leadrouter.extensions import db
from leadrouter.models import (
    Advisor,
    Assignment,
    Event,
    FollowUp,
    Lead,
    Notification,
    RoutingDecision,
    utcnow,
)
from leadrouter.pipeline import operations as pipeline
from leadrouter.pipeline.operations import CLOSE_REASONS
from tests.assignment.test_routing_cost import counted_statements
from tests.factories import make_advisor, make_lead
from workers.tasks.routing import drain_queue


def test_a_batch_reads_the_team_once_and_fills_each_advisor_to_capacity(session):
    advisors = [make_advisor(capacity=2) for _ in range(3)]
    leads = [make_lead() for _ in range(8)]
    session.flush()

    with counted_statements() as statements:
        decisions = operations.route_leads([lead.id for lead in leads])
        session.flush()

    assert sorted(d.outcome for d in decisions.values()) == ["assigned"] * 6 + ["queued"] * 2
    team_reads = [s for s in statements if s.lstrip().upper().startswith("SELECT advisors.id".upper())]
    assert len(team_reads) == 1, team_reads
    for advisor in advisors:
        session.refresh(advisor)
        held = session.scalar(select(func.count()).where(Assignment.advisor_id == advisor.id))
        assert advisor.open_leads == held == 2
    assert {lead.status for lead in leads} == {"assigned", "queued"}
    assert all(lead.routing_trace and lead.routed_at for lead in leads)


def test_a_batch_writes_what_routing_one_lead_at_a_time_writes(session):
    make_advisor(capacity=10)
    messages = ["he overdosed and is not breathing", "my son is using heroin again", None]
    batch = [make_lead(message=message) for message in messages]
    alone = [make_lead(message=message) for message in messages]
    session.flush()
    policy, now = load_policy(), utcnow()
    # The same arrival time for both, so deadlines can be compared as they are.
    session.execute(update(Lead).values(created_at=now - timedelta(minutes=1)))
    session.expire_all()

    operations.route_leads([lead.id for lead in batch], now=now, policy=policy)
    for lead in alone:
        # The one-lead writer that SLA reassignment and call hand-over still use.
        operations._decide_and_apply(operations.lock_lead(lead.id), "intake", now, policy, notify=True)
    session.flush()

    def written(lead: Lead) -> tuple:
        events = session.scalars(select(Event.type).where(Event.lead_id == lead.id).order_by(Event.id))
        callbacks = session.scalars(select(FollowUp.due_at).where(FollowUp.lead_id == lead.id)).all()
        texts = session.scalar(
            select(func.count())
            .select_from(Notification)
            .join(Assignment, Assignment.id == Notification.assignment_id)
            .where(Assignment.lead_id == lead.id)
        )
        decisions = session.scalar(select(func.count()).where(RoutingDecision.lead_id == lead.id))
        return (
            lead.status,
            lead.urgency,
            tuple(events),
            tuple(callbacks),
            texts,
            decisions,
            lead.sla_due_at,
            lead.next_due_at,
        )

    assert batch[0].urgency == "critical" and batch[1].urgency != "critical"
    assert [written(lead) for lead in batch] == [written(lead) for lead in alone]
    assert len(written(batch[0])[3]) == written(batch[0])[4] == 1, "a callback, and a text to the advisor"


def test_a_lead_whose_slot_another_worker_took_is_decided_again(session):
    first = make_advisor(name="Taken Meanwhile", capacity=1)
    second = make_advisor(name="Still Free", capacity=1)
    lead = make_lead()
    session.flush()
    engine = db.session.get_bind().engine
    claims = []

    def another_worker_claims_first(conn, _cursor, statement, *_args):
        # Between this worker's read of the team and its claim, the slot it chose is gone.
        if statement.lstrip().upper().startswith("UPDATE ADVISORS") and "RETURNING" in statement:
            claims.append(statement)
            if len(claims) == 1:
                conn.execute(
                    text("UPDATE advisors SET open_leads = capacity WHERE id = :id"), {"id": first.id}
                )

    event.listen(engine, "before_cursor_execute", another_worker_claims_first)
    try:
        decision = operations.route_leads([lead.id])[lead.id]
    finally:
        event.remove(engine, "before_cursor_execute", another_worker_claims_first)

    assert len(claims) == 2, "the first claim (for the advisor ranked first) failed, a second one won"
    assert decision.advisor_id == lead.owner_id == second.id
    assert session.scalar(select(func.count()).where(Assignment.lead_id == lead.id)) == 1
    assert session.scalar(select(Advisor.open_leads).where(Advisor.id == second.id)) == 1
    assert session.scalar(select(Advisor.open_leads).where(Advisor.id == first.id)) == 1


def test_owned_closed_and_missing_leads_are_left_out_of_the_batch(session):
    make_advisor(capacity=5)
    owned, closed, waiting = make_lead(), make_lead(), make_lead()
    operations.route_lead(owned.id)
    pipeline.change_status(closed, "closed", "test", CLOSE_REASONS[0])
    session.flush()

    decisions = operations.route_leads([owned.id, closed.id, waiting.id, 987654321])

    assert list(decisions) == [waiting.id]
    assert session.scalar(select(func.count()).where(Assignment.lead_id == owned.id)) == 1
    assert session.scalar(select(func.count()).where(Assignment.lead_id == closed.id)) == 0


def test_a_lead_that_breaks_routing_goes_to_the_managers_and_holds_back_no_one(session, caplog):
    make_advisor(capacity=10)
    healthy = [make_lead() for _ in range(3)]
    broken = make_lead()
    session.flush()
    # Data no deadline can be computed from (a time zone that does not exist).
    session.execute(text("UPDATE leads SET timezone = 'Mars/Olympus' WHERE id = :id"), {"id": broken.id})
    session.expire_all()

    assigned = drain_queue()

    assert assigned == 3
    for lead in healthy:
        session.refresh(lead)
        assert lead.status == "assigned"
    session.refresh(broken)
    assert broken.owner_id is None and broken.escalated_at is not None and broken.routed_at is not None
    assert f"could not route lead {broken.id}" in caplog.text
    assert broken.id not in operations.waiting_lead_ids()
    assert broken.id not in operations.unrouted_lead_ids(older_than=None)
    escalation = session.scalar(
        select(Event.detail).where(Event.lead_id == broken.id, Event.type == "escalated")
    )
    assert "assign it by hand" in escalation["reason"]
