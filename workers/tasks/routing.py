"""Routing tasks: thin wrappers that take ids, call operations and commit."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from flask import current_app
from requests import RequestException
from sqlalchemy.exc import OperationalError
from twilio.base.exceptions import TwilioRestException

from leadrouter import jobs
from leadrouter.assignment import notify, operations
from leadrouter.assignment.policy_store import load_policy
from leadrouter.database import dialect_name
from leadrouter.extensions import db
from leadrouter.jobs import enqueue
from leadrouter.routing.engine import Decision
from leadrouter.routing.policy import RoutingPolicy
from leadrouter.telephony.client import TwilioNotConfigured, send_text
from leadrouter.urls import dashboard_base_url

log = logging.getLogger(__name__)
# Leads routed per transaction: enough to read the team once for a burst, short enough that
# intake is not held up. On SQLite a batch holds the one write lock that every intake needs.
BATCH_SIZE = {"postgresql": 50, "sqlite": 10}
# Then the task hands the rest to a new message rather than hold its own for ever.
MAX_BATCHES_PER_TASK = 20
# A deadlock or a lost connection rolls a batch back whole: try again shortly.
ROUTING_TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": 1,
    "max_retries": 3,
}


@shared_task(name="routing.route_lead", **ROUTING_TASK_OPTIONS)
def route_lead(lead_id: int | None = None) -> str | None:
    """Route the lead (idempotent: an owned or closed lead is left alone) and the others waiting.

    Leads that arrived meanwhile are routed too, a batch per transaction, most urgent first,
    until none is left: under a burst, or on the polling embedded broker, the backlog does not
    wait for messages of its own (intake coalesces them; see leadrouter.jobs), and a batch
    reads the team once instead of once per lead.
    """
    jobs.started("routing.route_lead")
    size = _batch_size()
    decision = None
    for batch_number in range(MAX_BATCHES_PER_TASK):
        if batch_number == 0 and lead_id is not None:
            # The lead and the backlog behind it, read with the lock: one statement fewer.
            routed, waiting = _route_first_batch(lead_id, size)
        else:
            backlog = operations.unrouted_lead_ids(limit=size, older_than=None)
            routed, waiting = _route_batch(backlog, trigger="intake"), len(backlog)
        decision = decision or routed.get(lead_id)
        if waiting < size or not routed:
            # Drained, or what is left is locked by another worker routing it right now.
            break
    else:
        jobs.send_now(current_app.extensions["celery"], "routing.route_lead", (), {})
    return None if decision is None else decision.outcome


@shared_task(name="routing.drain_queue", **ROUTING_TASK_OPTIONS)
def drain_queue() -> int:
    """Offer every waiting lead, most urgent and oldest first, to whoever is free now."""
    return sum(
        decision.advisor_id is not None
        for decision in _route_in_batches(operations.waiting_lead_ids(), trigger="drain")
    )


@shared_task(name="routing.sweep_unrouted", **ROUTING_TASK_OPTIONS)
def sweep_unrouted() -> int:
    """Route leads that were committed while the broker or the workers were down."""
    # A lead younger than one sweep period may still have its own message on the way.
    grace = timedelta(seconds=current_app.config["ROUTING_SWEEP_SECONDS"])
    swept = len(_route_in_batches(operations.unrouted_lead_ids(older_than=grace), trigger="sweep"))
    if swept:
        log.warning("sweep routed %d leads that had missed the queue", swept)
    return swept


def _route_first_batch(lead_id: int, size: int) -> tuple[dict[int, Decision], int]:
    """The task's own lead and the most urgent others, as `_route_batch` would route them."""
    try:
        routed, waiting = operations.route_lead_with_backlog(lead_id, size, trigger="intake")
        db.session.commit()
        return routed, waiting
    except OperationalError:
        db.session.rollback()
        raise  # the database, not a lead: the task retries
    except Exception:
        db.session.rollback()
        log.exception("routing a batch failed; routing its leads one at a time")
    # The batch as it was read: this lead first, then the most urgent of the others.
    backlog = operations.unrouted_lead_ids(limit=size, older_than=None)
    batch = ([lead_id] + [waiting_id for waiting_id in backlog if waiting_id != lead_id])[:size]
    return _route_one_at_a_time(batch, trigger="intake"), len(backlog)


def _route_in_batches(lead_ids: list[int], trigger: str) -> list[Decision]:
    """Route the leads a batch per transaction; the decisions made, in order."""
    decisions = []
    policy = _policy_for(lead_ids)
    size = _batch_size()
    for start in range(0, len(lead_ids), size):
        batch = lead_ids[start : start + size]
        routed = _route_batch(batch, trigger=trigger, policy=policy)
        decisions.extend(routed[lead_id] for lead_id in batch if lead_id in routed)
    return decisions


def _route_batch(
    lead_ids: list[int], trigger: str, policy: RoutingPolicy | None = None
) -> dict[int, Decision]:
    """Route and commit a batch. If it fails, route its leads one by one: a lead whose data
    breaks routing must not hold back the others; it goes to the managers instead."""
    try:
        routed = operations.route_leads(lead_ids, trigger=trigger, policy=policy)
        db.session.commit()
        return routed
    except OperationalError:
        db.session.rollback()
        raise  # the database, not a lead: the task retries
    except Exception:
        db.session.rollback()
        log.exception("routing a batch of %d leads failed; routing them one at a time", len(lead_ids))
    return _route_one_at_a_time(lead_ids, trigger, policy)


def _route_one_at_a_time(
    lead_ids: list[int], trigger: str, policy: RoutingPolicy | None = None
) -> dict[int, Decision]:
    routed = {}
    for lead_id in lead_ids:
        try:
            routed.update(operations.route_leads([lead_id], trigger=trigger, policy=policy))
            db.session.commit()
        except OperationalError:
            db.session.rollback()
            raise
        except Exception as error:
            db.session.rollback()
            log.exception("could not route lead %s; escalated to the managers", lead_id)
            operations.escalate_unroutable(lead_id, error)
            db.session.commit()
    return routed


def _batch_size() -> int:
    return BATCH_SIZE.get(dialect_name(), BATCH_SIZE["sqlite"])


@shared_task(name="routing.enforce_sla", **ROUTING_TASK_OPTIONS)
def enforce_sla() -> int:
    """Reassign or escalate leads whose first contact is overdue."""
    handled = 0
    overdue = operations.overdue_lead_ids()
    policy = _policy_for(overdue)
    for lead_id in overdue:
        handled += operations.enforce_sla(lead_id, policy=policy) is not None
        db.session.commit()
    return handled


def _policy_for(lead_ids: list[int]) -> RoutingPolicy | None:
    # One read of the policy serves a whole batch; a change applies from the next batch.
    return load_policy() if lead_ids else None


@shared_task(
    name="notify.assignment",
    bind=True,
    acks_late=True,
    # requests' own errors are not the built-in ConnectionError/TimeoutError.
    autoretry_for=(TwilioRestException, RequestException, ConnectionError, TimeoutError),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
)
def notify_assignment(self, assignment_id: int) -> str | None:
    """Text the advisor about an urgent lead, at most once per assignment."""
    notification = notify.claim_notification(assignment_id)
    db.session.commit()
    if notification is None:
        return None
    config = current_app.config
    try:
        to, body = notify.assignment_text(notification, dashboard_base_url())
        sid = send_text(to, body, from_=config["HELPLINE_NUMBER"])
    except TwilioNotConfigured:
        notify.mark_skipped(notification, "Twilio is not configured")
        db.session.commit()
        return None
    except Exception as error:
        notify.mark_failed(notification, error)
        db.session.commit()
        raise
    notify.mark_sent(notification, sid)
    db.session.commit()
    return sid


@shared_task(name="notify.on_call", acks_late=True)
def notify_on_call(lead_id: int) -> str | None:
    """Text ON_CALL_NUMBER that a lead was escalated to managers, once per escalation."""
    config = current_app.config
    if not config.get("ON_CALL_NUMBER"):
        return None
    body = notify.claim_on_call_text(lead_id, dashboard_base_url())
    db.session.commit()
    if body is None:
        return None
    try:
        sid = send_text(config["ON_CALL_NUMBER"], body, from_=config["HELPLINE_NUMBER"])
    except TwilioNotConfigured:
        log.warning("on-call text for lead %s not sent: Twilio is not configured", lead_id)
        return None
    except (TwilioRestException, RequestException) as error:
        # Claimed already: no retry, so the manager is never texted twice; the queue shows it.
        log.warning("on-call text for lead %s failed: %s", lead_id, type(error).__name__)
        return None
    return sid


@shared_task(name="notify.resend_stale", acks_late=True)
def resend_stale_notifications() -> int:
    """Re-enqueue texts whose enqueue was lost (broker down) or whose retries ran out."""
    assignment_ids = notify.stale_notification_assignments()
    for assignment_id in assignment_ids:
        enqueue("notify.assignment", assignment_id)
    db.session.commit()
    return len(assignment_ids)
