"""Apply routing decisions to the database: claim, assign, queue, reassign, escalate, release.

Exactly once under concurrency: the lead row is locked (PostgreSQL `FOR UPDATE SKIP LOCKED`;
SQLite runs one writer at a time), the advisor's capacity is taken by a conditional UPDATE,
and a partial unique index allows one current assignment per lead. Operations flush; the
caller (request or task) commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from sqlalchemy import Row, Text, cast, func, literal, select, union_all
from sqlalchemy.orm import defer

from leadrouter.assignment.capacity import claim_capacity, claim_for, free_of_calls, release_capacity
from leadrouter.assignment.facts import active_advisor_facts, advisor_facts, lead_facts
from leadrouter.assignment.policy_store import POLICY_KEY, load_policy, stored_policy_from_text
from leadrouter.assignment.queries import (
    MISSED_RING_REASON,
    callable_lead_ids,
    has_open_follow_ups_column,
    may_call_back_column,
    open_follow_ups_of,
    previous_owner_ids,
)
from leadrouter.database import is_postgres
from leadrouter.extensions import db
from leadrouter.i18n import N_
from leadrouter.jobs import enqueue
from leadrouter.leads.deadlines import refresh_next_due
from leadrouter.leads.timeline import add_event
from leadrouter.models import (
    URGENCY_RANK,
    Advisor,
    Assignment,
    AuditEntry,
    FollowUp,
    Lead,
    Notification,
    RoutingDecision,
    Setting,
    utcnow,
)
from leadrouter.routing.calls import (
    CallStep,
    Hold,
    MissedOffer,
    NobodyOnDuty,
    Ring,
    could_take_call,
    first_in_line_for,
    next_call_step,
)
from leadrouter.routing.engine import AdvisorFacts, Decision, LeadFacts, assign_batch, decide
from leadrouter.routing.hours import next_contact_time, sla_due_at
from leadrouter.routing.policy import RoutingPolicy
from leadrouter.routing.reassignment import reassignment_concerns, unconfirmed
from leadrouter.routing.vocabulary import DEFAULT_TIMEZONE

log = logging.getLogger(__name__)
NOTIFY_BY_SMS = ("critical", "high")
CLAIM_ATTEMPTS = 3
SWEEP_GRACE = timedelta(seconds=30)


def route_lead(
    lead_id: int,
    *,
    trigger: str = "intake",
    now: datetime | None = None,
    policy: RoutingPolicy | None = None,
    notify: bool = True,
    wait_for_lock: bool = False,
) -> Decision | None:
    """Assign an unowned open lead to the best eligible advisor, or queue it.

    Returns None when there was nothing to do: the lead is owned, closed, gone, or being
    routed by another worker right now. A caller on the line waits for that worker
    (`wait_for_lock`) rather than being sent to voicemail.
    """
    decisions = route_leads(
        [lead_id], trigger=trigger, now=now, policy=policy, notify=notify, wait_for_lock=wait_for_lock
    )
    return decisions.get(lead_id)


def route_leads(
    lead_ids: list[int],
    *,
    trigger: str = "intake",
    now: datetime | None = None,
    policy: RoutingPolicy | None = None,
    notify: bool = True,
    wait_for_lock: bool = False,
) -> dict[int, Decision]:
    """Route several unowned open leads in one pass: one lock, one read of the team, one flush.

    The engine decides the batch in queue order against one roster, counting each
    assignment against capacity; the claims then go out in advisor order, so two batches
    rarely wait on each other in a cycle (PostgreSQL breaks one that does; the task
    retries). A lead whose claim lost a race to another worker is decided again on fresh
    facts after the others. Leads that are owned, closed, gone or locked by another worker
    are left out of the result.
    """
    locked = lock_leads_for_routing(lead_ids, skip_locked=not wait_for_lock, with_policy=policy is None)
    return _route_locked(locked, trigger=trigger, now=now or utcnow(), policy=policy, notify=notify)


class RoutedWithBacklog(NamedTuple):
    decisions: dict[int, Decision]
    waiting: int  # unrouted new leads when the batch was read (at most the batch size)


def route_lead_with_backlog(lead_id: int, size: int, *, trigger: str = "intake") -> RoutedWithBacklog:
    """Route the lead and the most urgent of the others waiting, `size` leads at most, in one
    pass; also say how many were waiting (at most `size`): the batch `route_leads` would
    route after `unrouted_lead_ids(limit=size)`, read with the lock in one statement."""
    locked = lock_leads_for_routing([lead_id], backlog=size)
    waiting = locked[0].waiting if locked else 0
    return RoutedWithBacklog(
        _route_locked(locked, trigger=trigger, now=utcnow(), policy=None, notify=True), waiting
    )


def _route_locked(
    locked: list[LockedForRouting], *, trigger: str, now: datetime, policy: RoutingPolicy | None, notify: bool
) -> dict[int, Decision]:
    locked = [row for row in locked if row.lead.is_open and row.lead.owner_id is None]
    if not locked:
        return {}
    policy = policy or stored_policy_from_text(locked[0].policy)
    leads = [row.lead for row in locked]
    may_call_back = {row.lead.id for row in locked if row.may_call_back}
    with_follow_ups = {row.lead.id for row in locked if row.has_open_follow_ups}
    previous_owners = previous_owner_ids(leads)
    facts = [lead_facts(lead, previous_owner_id=previous_owners.get(lead.id)) for lead in leads]
    decisions = assign_batch(facts, active_advisor_facts(), now, policy)
    claims = {
        decision.lead_id: claim_for(decision, now, policy)
        for decision in sorted((d for d in decisions if d.advisor_id is not None), key=lambda d: d.advisor_id)
    }
    by_id = {lead.id: lead for lead in leads}
    assigned = [by_id[d.lead_id] for d in decisions if claims.get(d.lead_id) is not None]
    # The locking read said which leads may be called back and which have follow-ups to move:
    # a new lead (the common case) costs no further read.
    callers = {lead.id for lead in assigned if lead.id in may_call_back}
    follow_ups = open_follow_ups_of([lead for lead in assigned if lead.id in with_follow_ups])
    results: dict[int, Decision] = {}
    to_notify: list[tuple[Lead, Assignment, Row]] = []
    lost_race: list[Lead] = []
    for decision in decisions:
        lead = by_id[decision.lead_id]
        claim = claims.get(lead.id)
        if decision.advisor_id is None:
            _queue(lead, decision, trigger, now)
        elif claim is None:
            lost_race.append(lead)
            continue
        else:
            assignment = _write_routed_assignment(
                lead,
                decision,
                claim,
                trigger,
                now,
                policy,
                may_call_back=lead.id in callers,
                follow_ups=follow_ups.get(lead.id, []),
            )
            to_notify.append((lead, assignment, claim))
        results[lead.id] = decision
    db.session.flush()
    if notify:
        _notify_urgent(to_notify)
    for lead in lost_race:
        results[lead.id] = _decide_and_apply(lead, trigger, now, policy, notify=notify)
    return results


def lock_lead(lead_id: int, *, skip_locked: bool = True) -> Lead | None:
    """Lock the lead row for this transaction; None if another worker holds it (skip_locked)."""
    return next(iter(lock_leads([lead_id], skip_locked=skip_locked)), None)


def lock_leads(lead_ids: list[int], *, skip_locked: bool = True) -> list[Lead]:
    """Lock the leads' rows for this transaction, in id order; those another worker holds are skipped."""
    query = (
        # Routing replaces the stored trace without reading it; don't decode the old one.
        select(Lead)
        .where(Lead.id.in_(lead_ids))
        .order_by(Lead.id)
        .options(defer(Lead.routing_trace))
        .execution_options(populate_existing=True)
    )
    if is_postgres():
        query = query.with_for_update(skip_locked=skip_locked)
    return list(db.session.scalars(query))


def waiting_lead_ids(limit: int = 500) -> list[int]:
    """Unowned open leads, most urgent first, then longest waiting; not those left to managers."""
    query = (
        select(Lead.id)
        .where(Lead.status.in_(("new", "queued")), Lead.owner_id.is_(None), Lead.escalated_at.is_(None))
        .order_by(Lead.urgency_rank, Lead.created_at, Lead.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


class LockedForRouting(NamedTuple):
    lead: Lead
    may_call_back: bool
    has_open_follow_ups: bool
    policy: str | None  # the stored policy as JSON text (None: not read, or none saved)
    waiting: int  # with a backlog: unrouted new leads, at most the backlog size


def lock_leads_for_routing(
    lead_ids: list[int], *, skip_locked: bool = True, with_policy: bool = True, backlog: int = 0
) -> list[LockedForRouting]:
    """Lock the leads as `lock_leads` does and, in the same statement, read what routing
    needs beside them: whether each may be called back, whether it has open follow-ups, and
    the stored routing policy (one statement instead of four for a lead on its own).

    With `backlog`, the batch is filled up to that many leads with the most urgent unrouted
    ones, and `waiting` counts the unrouted leads up to that many, as a routing task's
    `unrouted_lead_ids(limit=backlog)` would have found them just before.

    Read under the same lock and in the same transaction as the separate reads were, so
    the answers are the same; the policy comes back as text, parsed once per version.
    """
    stored_policy = (
        select(cast(Setting.value, Text)).where(Setting.key == POLICY_KEY).scalar_subquery()
        if with_policy
        else literal(None, Text)
    )
    chosen = Lead.id.in_(lead_ids)
    waiting = literal(0)
    if backlog:
        # A union, not an OR: the batch's ids are found by primary key, never by a scan.
        others = _unrouted().where(Lead.id.not_in(lead_ids)).limit(backlog - len(lead_ids)).subquery()
        given = (select(literal(lead_id)) for lead_id in lead_ids)
        chosen = Lead.id.in_(union_all(*given, select(others.c.id)))
        waiting = select(func.count()).select_from(_unrouted().limit(backlog).subquery()).scalar_subquery()
    query = (
        select(
            Lead,
            may_call_back_column().label("may_call_back"),
            has_open_follow_ups_column().label("has_open_follow_ups"),
            stored_policy.label("policy"),
            waiting.label("waiting"),
        )
        .where(chosen)
        .order_by(Lead.id)
        .options(defer(Lead.routing_trace))
        .execution_options(populate_existing=True)
    )
    if is_postgres():
        query = query.with_for_update(of=Lead, skip_locked=skip_locked)
    return [
        LockedForRouting(lead, bool(call_back), bool(follow_ups), policy, waiting)
        for lead, call_back, follow_ups, policy, waiting in db.session.execute(query)
    ]


def _unrouted(older_than: datetime | None = None):
    conditions = [Lead.status == "new", Lead.routed_at.is_(None)]
    if older_than is not None:
        conditions.append(Lead.created_at <= older_than)
    return select(Lead.id).where(*conditions).order_by(Lead.urgency_rank, Lead.created_at)


def unrouted_lead_ids(
    now: datetime | None = None, limit: int = 500, older_than: timedelta | None = SWEEP_GRACE
) -> list[int]:
    """New leads the router has not seen yet, most urgent first.

    The sweep asks for those older than a grace period (their message was lost); a routing
    task asks for all (`older_than=None`), whatever the clocks of the hosts that stamped them.
    """
    cutoff = None if older_than is None else (now or utcnow()) - older_than
    return list(db.session.scalars(_unrouted(cutoff).limit(limit)))


def escalate_unroutable(lead_id: int, error: Exception, now: datetime | None = None) -> None:
    """Routing this lead raised: hand it to the managers, out of every routing backlog.

    Stamped as routed, so routing tasks stop retrying it; escalated, so the manager console
    shows it for a person to assign by hand.
    """
    now = now or utcnow()
    lead = db.session.get(Lead, lead_id)
    if lead is None or lead.owner_id is not None or not lead.is_open or lead.escalated_at is not None:
        return
    lead.routed_at = lead.routed_at or now
    _escalate(lead, now, f"routing failed ({type(error).__name__}); assign it by hand")


def overdue_lead_ids(now: datetime | None = None, limit: int = 500) -> list[int]:
    """Owned leads whose first contact is past due and not yet escalated."""
    query = (
        select(Lead.id)
        .where(
            Lead.is_open.is_(True),
            Lead.first_contact_at.is_(None),
            Lead.owner_id.is_not(None),
            Lead.escalated_at.is_(None),
            Lead.sla_due_at < (now or utcnow()),
        )
        .order_by(Lead.sla_due_at)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def enforce_sla(
    lead_id: int, *, now: datetime | None = None, policy: RoutingPolicy | None = None
) -> str | None:
    """Reassign an overdue lead to the next eligible advisor, or escalate it to managers."""
    now = now or utcnow()
    policy = policy or load_policy()
    lead = lock_lead(lead_id)
    if (
        lead is None
        or not lead.is_open
        or lead.owner_id is None
        or lead.first_contact_at is not None
        or lead.escalated_at is not None
        or lead.sla_due_at is None
        or lead.sla_due_at >= now
    ):
        return None
    overdue_owner = lead.owner_id
    minutes_late = int((now - lead.sla_due_at).total_seconds() // 60)
    if lead.urgency == "critical":
        # Another advisor round costs a critical person minutes they may not have: a manager acts.
        _escalate(lead, now, f"critical lead still unreached {minutes_late} min after its deadline")
        return "escalated"
    if lead.reassignment_count >= policy.max_reassignments:
        _escalate(lead, now, f"first contact still overdue after {lead.reassignment_count} reassignments")
        return "escalated"
    facts = lead_facts(lead, exclude_ids={overdue_owner}, exclude_reason="first contact overdue")
    decision = decide(facts, active_advisor_facts(), now, policy)
    claim = claim_for(decision, now, policy)
    if claim is None:
        _escalate(lead, now, "first contact overdue and no other advisor is eligible")
        return "escalated"
    _end_current_assignment(lead, now, f"first contact overdue by {minutes_late} min")
    lead.reassignment_count += 1
    _assign(lead, decision, claim, "sla", now, policy, kind="reassigned")
    return "reassigned"


def release_lead(lead: Lead, reason: str, now: datetime | None = None) -> None:
    """Free the owner's capacity when a lead leaves the open pipeline, and drain the queue."""
    _end_current_assignment(lead, now or utcnow(), reason, keep_owner=True)
    enqueue("routing.drain_queue")


def reassign_lead(
    lead: Lead,
    advisor: Advisor,
    actor: str,
    why: str,
    now: datetime | None = None,
    confirmed: frozenset[str] = frozenset(),
) -> Assignment:
    """A manager moves an open lead to a named active advisor; recorded with who and why.

    An advisor routing would not choose (not available, off shift, outside the lead's state
    or language, full) needs each such concern in `confirmed`; the confirmed ones are kept
    on the timeline and in the audit trail. The lead's open follow-ups move with it.
    """
    now = now or utcnow()
    if not lead.is_open:
        raise AssignmentRefused(
            "lead", N_("the lead is %(status)s; reopen it before reassigning"), status=lead.status
        )
    if not advisor.active:
        raise AssignmentRefused("advisor_id", N_("%(name)s is not active"), name=advisor.name)
    if advisor.id == lead.owner_id:
        raise AssignmentRefused(
            "advisor_id", N_("%(name)s already has this lead; choose another advisor"), name=advisor.name
        )
    concerns = reassignment_concerns(advisor_facts(advisor), lead_facts(lead), now)
    missing = unconfirmed(concerns, confirmed)
    if missing:
        raise ReassignmentNeedsConfirmation(advisor.name, missing)
    _end_current_assignment(lead, now, f"reassigned by {actor}: {why}")
    if claim_capacity(advisor.id, now, manual=True) is None:
        raise AssignmentRefused("advisor_id", N_("%(name)s cannot take leads now"), name=advisor.name)
    decision = RoutingDecision(
        lead_id=lead.id,
        advisor_id=advisor.id,
        outcome="assigned",
        rule="manual",
        reason=f"{actor} reassigned the lead: {why}",
        trace={"manual": True, "by": actor, "why": why, "confirmed": list(concerns)},
        trigger="manual",
        decided_at=now,
    )
    db.session.add(decision)
    follow_ups = _open_follow_ups(lead)
    event = {"advisor_id": advisor.id, "advisor": advisor.name, "why": why}
    if concerns:
        event["confirmed"] = list(concerns)
    db.session.add(
        AuditEntry(
            at=now,
            actor=actor,
            action="lead.reassigned",
            target=f"lead:{lead.id}",
            detail={"advisor_id": advisor.id, "why": why, "confirmed": list(concerns)},
        )
    )
    return _write_assignment(
        lead, decision, now, load_policy(), kind="reassigned", actor=actor, event=event, follow_ups=follow_ups
    )


def reassignment_options(lead: Lead, now: datetime | None = None) -> list[tuple[Advisor, tuple[str, ...]]]:
    """Every active advisor a manager may hand the lead to, with what would need confirming."""
    now = now or utcnow()
    facts = lead_facts(lead)
    advisors = db.session.scalars(select(Advisor).where(Advisor.active.is_(True)).order_by(Advisor.name))
    return [
        (advisor, reassignment_concerns(advisor_facts(advisor), facts, now))
        for advisor in advisors
        if advisor.id != lead.owner_id
    ]


class AssignmentRefused(ValueError):
    """A requested assignment is not allowed; `field` names what to change."""

    def __init__(self, field: str, message: str, **params):
        self.field, self.message, self.params = field, message, params
        super().__init__(f"{field}: {message % params if params else message}")


class ReassignmentNeedsConfirmation(AssignmentRefused):
    """The chosen advisor is one routing would pass over; `concerns` say why, to confirm."""

    def __init__(self, name: str, concerns: tuple[str, ...]):
        super().__init__("confirm", N_("confirm the reassignment to %(name)s"), name=name)
        self.concerns = concerns


def hand_over_for_call(lead: Lead, now: datetime | None = None) -> bool:
    """The owner cannot take the call now: give the lead to an advisor who can, if any.

    The person on the line matters more than continuity; with nobody else free the owner
    keeps the lead and the caller reaches voicemail.
    """
    now = now or utcnow()
    if lead.owner_id is None or not lead.is_open:
        return False
    policy = load_policy()
    owner = lead.owner_id
    facts = lead_facts(lead, exclude_ids={owner}, exclude_reason="owner not available for the call")
    decision = decide(facts, active_advisor_facts(), now, policy)
    claim = claim_for(decision, now, policy)
    if claim is None:
        return False
    _end_current_assignment(lead, now, "owner not available while the person called")
    _assign(lead, decision, claim, "call", now, policy, kind="reassigned", notify=False)
    return True


def offer_caller(
    lead: Lead,
    now: datetime | None = None,
    *,
    missed: Sequence[MissedOffer] = (),
    line: Callable[[], Sequence[LeadFacts]] = tuple,
    waiting_since: datetime | None = None,
    ring_all_size: int = 1,
) -> CallStep:
    """Claim the advisor(s) to ring for a caller on the line now, or say why nobody is rung.

    The engine's order (the lead's owner first if they can take it), skipping whoever missed
    this call within a minute and any advisor a caller in `line()` has first claim on (more
    urgent, or waiting longer); the line is read only once an advisor is free for this caller.
    Each advisor is locked and checked free of calls before being rung, so two callers are
    never offered the same one; the lead moves to the first advisor rung. Returns Ring
    (claimed, in ringing order), Hold or NobodyOnDuty.
    """
    now = now or utcnow()
    policy = load_policy()
    caller = lead_facts(lead, previous_owner_id=lead.owner_id)
    me = replace(caller, queued_since=waiting_since or now)
    skipped: set[int] = set()
    first: Decision | None = None
    step: CallStep = NobodyOnDuty()
    advisors = _advisors_for_caller(lead)
    line = cache(line)
    while True:
        step = next_call_step(caller, advisors, now, missed=missed, policy=policy, taken=frozenset(skipped))
        if not isinstance(step, Ring):
            break
        advisor_id = step.advisor_ids[0]
        skipped.add(advisor_id)
        if not _first_in_line(advisor_id, advisors, me, line(), now, policy):
            continue
        if _claim_for_caller(lead, step.decision, now, policy):
            first = step.decision
            break
        advisors = _advisors_for_caller(lead)  # someone took that one: read the team again
    if first is None:
        if not skipped:
            return step  # nobody to ring from the start: the engine's Hold or NobodyOnDuty
        on_duty = [a for a in advisors if could_take_call(a, caller, now)]
        return Hold(on_duty=len(on_duty)) if on_duty else NobodyOnDuty()
    rung = [first.advisor_id]
    while len(rung) < ring_all_size:
        extra = next_call_step(caller, advisors, now, missed=missed, policy=policy, taken=frozenset(skipped))
        if not isinstance(extra, Ring):
            break
        advisor_id = extra.advisor_ids[0]
        skipped.add(advisor_id)
        if _first_in_line(advisor_id, advisors, me, line(), now, policy) and free_of_calls(
            advisor_id, skip_locked=True
        ):
            rung.append(advisor_id)
    return Ring(advisor_ids=tuple(rung), decision=first)


def release_missed_ring(lead: Lead, advisor_id: int, rang_at: datetime, now: datetime | None = None) -> bool:
    """An advisor did not take the call she was rung for: the lead the ring gave her goes back.

    Only a lead the ring itself moved to her (an assignment started at the ring, by a call)
    is released, freeing her capacity; a lead she owned before the call stays hers. The lead
    waits unowned for the next advisor rung, or for routing once the call ends, which does
    not count her as its previous owner (see previous_owner_ids).
    """
    current = db.session.scalar(
        select(Assignment).where(Assignment.lead_id == lead.id, Assignment.ended_at.is_(None))
    )
    if current is None or current.advisor_id != advisor_id or current.started_at != rang_at:
        return False
    decision = db.session.get(RoutingDecision, current.decision_id) if current.decision_id else None
    if decision is None or decision.trigger != "call":
        return False
    now = now or utcnow()
    _end_current_assignment(lead, now, MISSED_RING_REASON)
    if lead.status == "assigned":
        lead.set_status("queued")
        lead.queued_at = now
    return True


def _advisors_for_caller(lead: Lead) -> list[AdvisorFacts]:
    """The team as routing facts; the owner's slot for this very lead is not counted against them."""
    return [
        replace(advisor, open_leads=max(0, advisor.open_leads - 1))
        if advisor.id == lead.owner_id
        else advisor
        for advisor in active_advisor_facts()
    ]


def _first_in_line(
    advisor_id: int,
    advisors: Sequence[AdvisorFacts],
    me: LeadFacts,
    line: Sequence[LeadFacts],
    now: datetime,
    policy: RoutingPolicy,
) -> bool:
    """No caller ahead of this one who could take the advisor: the engine just chose her for this one."""
    advisor = next(a for a in advisors if a.id == advisor_id)
    head = first_in_line_for(advisor, [*line, me], now, policy)
    return head is None or head is me


def _claim_for_caller(lead: Lead, decision: Decision, now: datetime, policy: RoutingPolicy) -> bool:
    """Lock and claim the advisor for the caller; the lead moves to them unless they own it already."""
    if lead.owner_id == decision.advisor_id or not lead.is_open:
        return free_of_calls(decision.advisor_id, skip_locked=True)
    claim = claim_for(decision, now, policy, skip_locked=True)
    if claim is None:
        return False
    if lead.owner_id is not None:
        _end_current_assignment(lead, now, "could not take the person's call")
        _assign(lead, decision, claim, "call", now, policy, kind="reassigned", notify=False)
    else:
        _assign(lead, decision, claim, "call", now, policy, notify=False)
    return True


def respond_to_urgency_rise(lead: Lead, previous_level: str, now: datetime | None = None) -> None:
    """A touch raised an owned lead's urgency: tighten its deadline and tell its advisor."""
    now = now or utcnow()
    if lead.owner_id is None or URGENCY_RANK[lead.urgency] >= URGENCY_RANK[previous_level]:
        return
    policy = load_policy()
    if lead.first_contact_at is None:
        due = sla_due_at(lead.urgency, now, policy, lead.timezone, lead.region)
        lead.sla_due_at = min(lead.sla_due_at, due) if lead.sla_due_at else due
    callback = db.session.scalar(
        select(FollowUp).where(
            FollowUp.lead_id == lead.id, FollowUp.kind == "callback", FollowUp.status == "open"
        )
    )
    if callback is not None and lead.urgency == "critical":
        callback.due_at = min(callback.due_at, now)
    refresh_next_due(lead)
    if lead.urgency not in NOTIFY_BY_SMS:
        return
    current = db.session.scalar(
        select(Assignment).where(Assignment.lead_id == lead.id, Assignment.ended_at.is_(None))
    )
    already = current is not None and db.session.scalar(
        select(Notification.id).where(Notification.assignment_id == current.id, Notification.channel == "sms")
    )
    if current is not None and not already and current.advisor.phone:
        db.session.add(Notification(assignment_id=current.id, channel="sms"))
        db.session.flush()
        enqueue("notify.assignment", current.id)


def schedule_callback_if_allowed(lead: Lead, now: datetime | None = None) -> None:
    """Consent that arrives after assignment still gets the lead its callback."""
    if lead.owner_id is None or not lead.is_open:
        return
    if _may_call_back(lead):
        _schedule_callback(lead, lead.owner_id, now or utcnow(), load_policy(), _open_follow_ups(lead))
    refresh_next_due(lead)


def keep_promise(lead: Lead, policy: RoutingPolicy | None = None) -> None:
    """Store the first-contact time promised to the person, the first time only; never moved.

    The SLA from the lead's creation, exactly what routing first gives its owner. A lead
    from before promises were stored gets one the first time it is routed or merged.
    """
    if lead.promised_contact_at is not None or lead.first_contact_at is not None:
        return
    promise = sla_due_at(lead.urgency, lead.created_at, policy or load_policy(), lead.timezone, lead.region)
    lead.promised_contact_at = promise
    # Waiting with no owner, the lead's next due moment is this promise too.
    if lead.next_due_at is None or promise < lead.next_due_at:
        lead.next_due_at = promise


def _decide_and_apply(
    lead: Lead, trigger: str, now: datetime, policy: RoutingPolicy, *, notify: bool
) -> Decision:
    facts = lead_facts(lead, previous_owner_id=_previous_owner_id(lead))
    for _attempt in range(CLAIM_ATTEMPTS):
        # Re-read every attempt: another worker may have taken the last slot since.
        decision = decide(facts, active_advisor_facts(), now, policy)
        if decision.advisor_id is None:
            _queue(lead, decision, trigger, now)
            return decision
        claim = claim_for(decision, now, policy)
        if claim is not None:
            _assign(lead, decision, claim, trigger, now, policy, notify=notify)
            return decision
    _queue(lead, decision, trigger, now)
    return decision


def _previous_owner_id(lead: Lead) -> int | None:
    return previous_owner_ids([lead]).get(lead.id)


def _record_decision(lead: Lead, decision: Decision, trigger: str) -> RoutingDecision:
    row = RoutingDecision(
        lead_id=lead.id,
        advisor_id=decision.advisor_id,
        outcome=decision.outcome,
        rule=decision.rule,
        reason=decision.reason[:500],
        trace=decision.to_dict(),
        trigger=trigger,
        decided_at=decision.decided_at,
    )
    db.session.add(row)
    lead.routing_trace = row.trace
    lead.routed_at = lead.routed_at or decision.decided_at
    return row


def _assign(
    lead: Lead,
    decision: Decision,
    advisor: Row,
    trigger: str,
    now: datetime,
    policy: RoutingPolicy,
    *,
    kind: str = "assigned",
    notify: bool = True,
) -> Assignment:
    """Record the decision and the new ownership of one lead; `advisor` is the claim's (name, phone)."""
    # Read first, so the writes below go out in one flush (one UPDATE of the lead).
    assignment = _write_routed_assignment(
        lead,
        decision,
        advisor,
        trigger,
        now,
        policy,
        kind=kind,
        may_call_back=_may_call_back(lead),
        follow_ups=_open_follow_ups(lead),
    )
    db.session.flush()
    if notify:
        _notify_urgent([(lead, assignment, advisor)])
    return assignment


def _write_routed_assignment(
    lead: Lead,
    decision: Decision,
    advisor: Row,
    trigger: str,
    now: datetime,
    policy: RoutingPolicy,
    *,
    may_call_back: bool,
    follow_ups: list[FollowUp],
    kind: str = "assigned",
) -> Assignment:
    """Record the engine's decision and write the assignment it makes; no flush.

    The caller read whether the lead may be called back and its open follow-ups, so a
    batch reads them once for all its leads.
    """
    assignment = _write_assignment(
        lead,
        _record_decision(lead, decision, trigger),
        now,
        policy,
        kind=kind,
        event={
            "advisor_id": decision.advisor_id,
            "advisor": advisor.name,
            "rule": decision.rule,
            "reason": decision.reason,
            "trigger": trigger,
        },
        may_call_back=may_call_back,
        follow_ups=follow_ups,
    )
    log.info("lead %s %s to advisor %s by rule %s", lead.id, kind, decision.advisor_id, decision.rule)
    return assignment


def _write_assignment(
    lead: Lead,
    decision: RoutingDecision,
    now: datetime,
    policy: RoutingPolicy,
    *,
    kind: str,
    event: dict,
    actor: str = "system",
    may_call_back: bool = False,
    follow_ups: list[FollowUp] | None = None,
) -> Assignment:
    """Give the lead to the decision's advisor: assignment, owner, deadline, event, callback; no flush.

    The lead's open follow-ups (`follow_ups`, all of them) move to the new owner.
    """
    assignment = Assignment(
        lead_id=lead.id,
        advisor_id=decision.advisor_id,
        decision=decision,
        kind=kind,
        reason=decision.reason,
        actor=actor,
        started_at=now,
    )
    db.session.add(assignment)
    lead.owner_id, lead.assigned_at, lead.queued_at = decision.advisor_id, now, None
    if lead.status in ("new", "queued"):
        lead.set_status("assigned")
    if lead.first_contact_at is None:
        keep_promise(lead, policy)
        lead.sla_due_at = _due_at(lead, now, policy, fresh_window=(kind == "reassigned"))
    add_event(lead, kind, actor, event, at=now)
    for follow_up in follow_ups or ():
        follow_up.advisor_id = decision.advisor_id  # whoever owns the lead makes its calls
    if may_call_back:
        _schedule_callback(lead, decision.advisor_id, now, policy, follow_ups)
    refresh_next_due(lead, follow_ups)
    return assignment


def _notify_urgent(assigned: list[tuple[Lead, Assignment, Row]]) -> None:
    """Text the advisor of each urgent lead just assigned (the assignments are flushed)."""
    urgent = [
        assignment
        for lead, assignment, advisor in assigned
        if lead.urgency in NOTIFY_BY_SMS and advisor.phone
    ]
    if not urgent:
        return
    db.session.add_all(Notification(assignment_id=assignment.id, channel="sms") for assignment in urgent)
    db.session.flush()
    for assignment in urgent:
        enqueue("notify.assignment", assignment.id)


def _due_at(lead: Lead, now: datetime, policy: RoutingPolicy, fresh_window: bool = False) -> datetime:
    """First contact is due by the SLA from creation.

    A reassigned lead gets a fresh window from now, and so does a lead whose window ran out
    while it waited in the queue: its new owner must not be overdue on arrival.
    """
    due = sla_due_at(lead.urgency, lead.created_at, policy, lead.timezone, lead.region)
    if fresh_window or due <= now:
        due = sla_due_at(lead.urgency, now, policy, lead.timezone, lead.region)
    return due


def _may_call_back(lead: Lead) -> bool:
    return lead.id in callable_lead_ids([lead])


def _open_follow_ups(lead: Lead) -> list[FollowUp]:
    return open_follow_ups_of([lead]).get(lead.id, [])


def _schedule_callback(
    lead: Lead, advisor_id: int, now: datetime, policy: RoutingPolicy, open_follow_ups: list[FollowUp]
) -> None:
    """Give the owner the open callback, or schedule the first one outside quiet hours.

    The caller has checked `_may_call_back`; a new callback joins `open_follow_ups`.
    """
    existing = next((f for f in open_follow_ups if f.kind == "callback"), None)
    if existing is not None:
        existing.advisor_id = advisor_id
        return
    if lead.urgency == "critical":
        due = now
    else:
        start, end = policy.contact_window
        due = next_contact_time(now, lead.timezone or DEFAULT_TIMEZONE, start, end)
    callback = FollowUp(
        lead_id=lead.id,
        advisor_id=advisor_id,
        kind="callback",
        due_at=due,
        note="First callback",
        status="open",
        created_by="routing",
    )
    db.session.add(callback)
    open_follow_ups.append(callback)
    add_event(lead, "follow_up", "system", {"kind": "callback", "due_at": due.isoformat()}, at=now)


def _queue(lead: Lead, decision: Decision, trigger: str, now: datetime) -> None:
    """Queue the lead; only the first time writes a decision and an event (drains repeat often)."""
    if lead.status == "queued":
        lead.routing_trace = decision.to_dict()
        return
    _record_decision(lead, decision, trigger)
    keep_promise(lead)
    lead.set_status("queued")
    lead.queued_at = now
    add_event(lead, "queued", "system", {"reason": decision.reason, "trigger": trigger}, at=now)


def _end_current_assignment(lead: Lead, now: datetime, reason: str, *, keep_owner: bool = False) -> None:
    current = db.session.scalar(
        select(Assignment).where(Assignment.lead_id == lead.id, Assignment.ended_at.is_(None))
    )
    if current is None:
        return
    current.ended_at, current.end_reason = now, reason[:200]
    release_capacity(current.advisor_id)
    if not keep_owner and lead.owner_id == current.advisor_id:
        lead.owner_id = None
    db.session.flush()


def _escalate(lead: Lead, now: datetime, reason: str) -> None:
    lead.escalated_at = now
    add_event(lead, "escalated", "system", {"reason": reason, "owner_id": lead.owner_id}, at=now)
    log.warning("lead %s escalated to managers: %s", lead.id, reason)
    enqueue("notify.on_call", lead.id)
