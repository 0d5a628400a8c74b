"""What routing one lead costs, and that the cheaper paths decide and record the same."""

from __future__ import annotations

from contextlib import contextmanager
from functools import partial

from sqlalchemy import event, select

from leadrouter.assignment import operations
from leadrouter.assignment.policy_store import load_policy, save_policy
from leadrouter.assignment.queries import callable_lead_ids, open_follow_ups_of
from leadrouter.extensions import db
from leadrouter.intake.operations import LeadInput, record_lead
from leadrouter.models import ConsentRecord, FollowUp, RoutingDecision, utcnow
from leadrouter.pipeline import operations as pipeline
from leadrouter.reports.views import explain_decision
from leadrouter.routing.hours import sla_due_at
from tests.factories import make_advisor, make_lead
from workers.tasks.routing import drain_queue


@contextmanager
def counted_statements():
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = db.session.get_bind().engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_routing_a_new_lead_takes_a_handful_of_statements(session):
    for number in range(20):
        make_advisor(regions=["*"] if number < 2 else ["TX" if number % 2 else "CA"])
    lead = make_lead(state="TX")
    session.flush()

    with counted_statements() as statements:
        decision = operations.route_lead(lead.id)
        session.flush()

    assert decision.outcome == "assigned"
    # The lead with its policy, consent and follow-up flags; advisors; the claim (lock and
    # UPDATE on PostgreSQL); then the decision, assignment, events (one batch on PostgreSQL,
    # one each on SQLite), callback and the lead in one flush.
    assert len(statements) <= 10, "\n".join(statements)
    assert sum(s.lstrip().upper().startswith("UPDATE LEADS") for s in statements) == 1


def test_the_claim_is_visible_on_an_advisor_already_loaded(session):
    advisor = make_advisor()
    assert advisor.open_leads == 0
    lead = make_lead()
    operations.route_lead(lead.id)
    assert advisor.open_leads == 1 and advisor.last_assigned_at is not None
    operations.release_lead(lead, "test")
    assert advisor.open_leads == 0


def test_next_due_counts_the_new_callback_and_the_open_follow_ups(session):
    make_advisor()
    lead = make_lead()
    earlier = utcnow()
    session.add(FollowUp(lead_id=lead.id, kind="follow_up", due_at=earlier, created_by="test"))
    session.flush()
    operations.route_lead(lead.id)
    callback = session.scalar(
        select(FollowUp).where(FollowUp.lead_id == lead.id, FollowUp.kind == "callback")
    )
    assert callback is not None and callback.advisor_id == lead.owner_id
    assert lead.next_due_at == min(earlier, callback.due_at, lead.sla_due_at)


def test_a_reopened_lead_goes_back_to_its_previous_advisor(session):
    first = make_advisor(name="First Owner")
    make_advisor(name="Idle Colleague")
    lead = make_lead(phone="+15122060391")
    operations.route_lead(lead.id)
    assert lead.owner_id == first.id
    pipeline.change_status(lead, "closed", "test", "unreachable")

    record_lead(LeadInput(source="web_form", phone="+15122060391", name="Back Again"))
    decision = operations.route_lead(lead.id)

    assert decision.rule == "continuity" and lead.owner_id == first.id


def test_the_trace_lists_advisors_no_rule_reached_by_id(session):
    texan = make_advisor(name="Tex", regions=["TX"])
    outsiders = [make_advisor(name=f"Cal {n}", regions=["CA"]) for n in range(3)]
    lead = make_lead(state="TX")

    operations.route_lead(lead.id)

    row = session.scalar(select(RoutingDecision).where(RoutingDecision.lead_id == lead.id))
    assert [c["advisor_id"] for c in row.trace["candidates"]] == [texan.id]
    assert row.trace["not_considered"] == [
        {"reason": "does not cover TX", "advisor_ids": [a.id for a in outsiders]}
    ]
    assert "3 not considered (does not cover TX)" in row.trace["explanation"]
    assert lead.routing_trace == row.trace


def test_the_explorer_shows_grouped_and_old_traces_alike():
    candidate = {
        "advisor_id": 1,
        "name": "Ana",
        "eligible": True,
        "chosen": True,
        "reasons": ["chosen by exact_state: first in line"],
        "open_leads": 0,
        "capacity": 5,
        "rule": "exact_state",
        "rank": 1,
        "group": "TX advisors",
        "idle_minutes": None,
    }
    old_outsider = {
        **candidate,
        "advisor_id": 2,
        "name": "Cal",
        "eligible": False,
        "chosen": False,
        "reasons": ["does not cover TX"],
        "rule": None,
        "rank": None,
        "group": "not considered",
        "idle_minutes": 3,
    }
    base = {"outcome": "assigned", "explanation": "Ana chosen. 1 not considered (does not cover TX)."}
    old = RoutingDecision(
        id=1,
        advisor_id=1,
        outcome="assigned",
        rule="exact_state",
        reason="r",
        trigger="intake",
        trace={**base, "candidates": [candidate, old_outsider]},
    )
    new = RoutingDecision(
        id=2,
        advisor_id=1,
        outcome="assigned",
        rule="exact_state",
        reason="r",
        trigger="intake",
        trace={
            **base,
            "candidates": [candidate],
            "not_considered": [{"reason": "does not cover TX", "advisor_ids": [2]}],
        },
    )
    names = {1: "Ana", 2: "Cal"}

    shown = [explain_decision(decision, names) for decision in (old, new)]

    for view in shown:
        assert view["headline"] == "Assigned to Ana (advisors for the lead's state)"
        assert [(c["name"], c["verdict"], c["reasons"]) for c in view["candidates"]] == [
            ("Ana", "chosen", ["chosen by advisors for the lead's state: first in line"]),
            ("Cal", "passed over", ["does not cover TX"]),
        ]
    assert shown[1]["candidates"][1]["group"] == "not considered"


def test_a_drain_reads_the_policy_once_for_the_whole_queue(session):
    advisor = make_advisor(status="offline")
    leads = [make_lead() for _ in range(3)]
    for lead in leads:
        operations.route_lead(lead.id)
    advisor.status = "available"
    session.flush()

    with counted_statements() as statements:
        assert drain_queue.run() == 3

    assert [lead.owner_id for lead in leads] == [advisor.id] * 3
    assert sum("FROM settings" in statement for statement in statements) == 1


def test_the_locking_read_answers_what_the_separate_reads_answer(session):
    """Consent, do-not-contact, phone and follow-ups, read with the lock, agree lead by lead."""
    consented = make_lead()
    withdrawn = make_lead()  # consent given, then a later record withdraws it
    session.add(ConsentRecord(lead_id=withdrawn.id, given=False, text="stop", version="2"))
    regained = make_lead(consent=None)
    session.add(ConsentRecord(lead_id=regained.id, given=False, text="no", version="1"))
    session.add(ConsentRecord(lead_id=regained.id, given=True, text="yes", version="2"))
    never = make_lead(consent=None)
    blocked = make_lead()
    blocked.do_not_contact = True
    no_phone = make_lead()
    no_phone.phone = None
    with_open = make_lead()
    session.add(FollowUp(lead_id=with_open.id, kind="follow_up", due_at=utcnow(), created_by="test"))
    with_done = make_lead()
    session.add(
        FollowUp(lead_id=with_done.id, kind="follow_up", due_at=utcnow(), created_by="test", status="done")
    )
    session.flush()
    leads = [consented, withdrawn, regained, never, blocked, no_phone, with_open, with_done]

    rows = operations.lock_leads_for_routing([lead.id for lead in leads])

    assert [row.lead.id for row in rows] == sorted(lead.id for lead in leads)
    assert {row.lead.id for row in rows if row.may_call_back} == callable_lead_ids(leads)
    assert {row.lead.id for row in rows if row.may_call_back} >= {consented.id, regained.id}
    assert (
        {row.lead.id for row in rows if row.has_open_follow_ups}
        == set(open_follow_ups_of(leads))
        == {with_open.id}
    )


def test_a_saved_policy_is_used_by_the_very_next_routing(session):
    """The policy read with the lock is parsed once per stored text: a change is never missed."""
    make_advisor(regions=["TX"])
    make_advisor(regions=["TX"])
    first = make_lead(state="TX")
    assert operations.route_lead(first.id).outcome == "assigned"
    before = load_policy()
    changed = before.to_dict()
    urgency = first.urgency
    changed["sla_minutes"] = {**changed["sla_minutes"], urgency: before.sla_minutes[urgency] + 7}
    save_policy(changed, actor="test")
    session.flush()
    second = make_lead(state="TX")
    assert second.urgency == urgency

    operations.route_lead(second.id)

    promise = partial(sla_due_at, urgency, second.created_at, tz_name=second.timezone, state=second.region)
    assert second.sla_due_at == promise(policy=load_policy())
    assert second.sla_due_at != promise(policy=before)


def test_the_first_batch_read_with_the_lock_is_the_batch_the_backlog_query_gave(session):
    """The task's lead first, then the most urgent and oldest of the others, up to the size."""
    for _ in range(5):
        make_advisor(regions=["*"])
    waiting = [make_lead() for _ in range(4)]
    session.flush()
    latest = waiting[-1]
    expected = [latest.id] + [i for i in operations.unrouted_lead_ids(older_than=None) if i != latest.id][:2]

    routed, counted = operations.route_lead_with_backlog(latest.id, 3)

    assert sorted(routed) == sorted(expected) and counted == 3
    rest, counted = operations.route_lead_with_backlog(latest.id, 3)  # routed already: the others
    assert list(rest) == [i for i in (lead.id for lead in waiting) if i not in routed]
    assert counted == 1
