"""Routing a batch of leads in one transaction decides and records what one-by-one routing does."""

from __future__ import annotations

from sqlalchemy import event, func, select, text

from leadrouter.assignment import operations
from leadrouter.extensions import db
from leadrouter.models import Advisor, Assignment, Event, FollowUp, Lead, Notification, RoutingDecision
from tests.assignment.test_routing_cost import counted_statements
from tests.factories import make_advisor, make_lead


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


def test_a_batch_writes_what_routing_each_lead_alone_writes(session):
    make_advisor(capacity=10)
    batch = [make_lead(message="he overdosed and is not breathing") for _ in range(3)]
    alone = [make_lead(message="he overdosed and is not breathing") for _ in range(3)]
    session.flush()

    operations.route_leads([lead.id for lead in batch])
    for lead in alone:
        operations.route_lead(lead.id)
    session.flush()

    def written(lead: Lead) -> tuple:
        events = session.scalars(select(Event.type).where(Event.lead_id == lead.id).order_by(Event.id))
        callbacks = session.scalar(select(func.count()).where(FollowUp.lead_id == lead.id))
        texts = session.scalar(
            select(func.count())
            .select_from(Notification)
            .join(Assignment, Assignment.id == Notification.assignment_id)
            .where(Assignment.lead_id == lead.id)
        )
        decisions = session.scalar(select(func.count()).where(RoutingDecision.lead_id == lead.id))
        has_next_due = lead.next_due_at is not None
        return (lead.status, lead.urgency, tuple(events), callbacks, texts, decisions, has_next_due)

    assert batch[0].urgency == "critical"
    assert [written(lead) for lead in batch] == [written(lead) for lead in alone]
    assert written(batch[0])[3:5] == (1, 1), "the critical lead gets its callback and its advisor a text"


def test_a_lead_whose_slot_another_worker_took_is_decided_again(session):
    first = make_advisor(name="Taken Meanwhile", capacity=1)
    second = make_advisor(name="Still Free", capacity=1)
    lead = make_lead()
    session.flush()
    engine = db.session.get_bind().engine
    taken = []

    def another_worker_claims_first(conn, _cursor, statement, parameters, *_args):
        # Between this worker's read of the team and its claim, the slot it chose is gone.
        if not taken and statement.lstrip().upper().startswith("UPDATE ADVISORS"):
            taken.append(parameters)
            conn.execute(text("UPDATE advisors SET open_leads = capacity WHERE id = :id"), {"id": first.id})

    event.listen(engine, "before_cursor_execute", another_worker_claims_first)
    try:
        decision = operations.route_leads([lead.id])[lead.id]
    finally:
        event.remove(engine, "before_cursor_execute", another_worker_claims_first)

    claimed_first = taken[0].values() if isinstance(taken[0], dict) else taken[0]
    assert first.id in claimed_first and second.id not in claimed_first
    assert decision.advisor_id == lead.owner_id == second.id
    assert session.scalar(select(func.count()).where(Assignment.lead_id == lead.id)) == 1
    assert session.scalar(select(Advisor.open_leads).where(Advisor.id == second.id)) == 1


def test_owned_closed_and_missing_leads_are_left_out_of_the_batch(session):
    make_advisor(capacity=5)
    owned, waiting = make_lead(), make_lead()
    operations.route_lead(owned.id)
    session.flush()

    decisions = operations.route_leads([owned.id, waiting.id, 987654321])

    assert list(decisions) == [waiting.id]
    assert session.scalar(select(func.count()).where(Assignment.lead_id == owned.id)) == 1
