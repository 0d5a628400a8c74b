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
from leadrouter.extensions import db
from leadrouter.jobs import enqueue
from leadrouter.routing.policy import RoutingPolicy
from leadrouter.telephony.client import TwilioNotConfigured

log = logging.getLogger(__name__)
# Leads routed per transaction: enough to read the team once for a burst, short enough that
# a caller's merge into one of them never waits long for the row lock.
BATCH_SIZE = 50
MAX_BATCHES_PER_TASK = 20
ROUTING_TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(
    name="routing.route_lead",
    # A deadlock or serialisation failure rolls the batch back whole; try again shortly.
    autoretry_for=(OperationalError,),
    retry_backoff=1,
    max_retries=3,
    **ROUTING_TASK_OPTIONS,
)
def route_lead(lead_id: int) -> str | None:
    """Route the lead (idempotent: an owned or closed lead is left alone) and the others waiting.

    Leads that arrived meanwhile are routed too, a batch per transaction, most urgent first,
    until none is left: under a burst, or on the polling embedded broker, the backlog does not
    wait for messages of its own (intake coalesces them on Redis; see leadrouter.jobs), and
    a batch reads the team once instead of once per lead.
    """
    jobs.started("routing.route_lead")
    decision = None
    for batch_number in range(MAX_BATCHES_PER_TASK):
        waiting = operations.unrouted_lead_ids(limit=BATCH_SIZE, older_than=timedelta(0))
        batch = [lead_id] if batch_number == 0 else []
        batch += [waiting_id for waiting_id in waiting if waiting_id != lead_id]
        routed = operations.route_leads(batch[:BATCH_SIZE], trigger="intake")
        db.session.commit()
        decision = decision or routed.get(lead_id)
        if len(waiting) < BATCH_SIZE or not routed:
            # Drained, or what is left is locked by another worker routing it right now.
            break
    else:
        # Still more: carry on in a new message rather than hold this one for ever.
        jobs.send_now(current_app.extensions["celery"], "routing.route_lead", (waiting[-1],), {})
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
    swept = len(_route_in_batches(operations.unrouted_lead_ids(), trigger="sweep"))
    if swept:
        log.warning("sweep routed %d leads that had missed the queue", swept)
    return swept


def _route_in_batches(lead_ids: list[int], trigger: str) -> list:
    """Route the leads a batch per transaction; the decisions made, in order."""
    decisions = []
    policy = _policy_for(lead_ids)
    for start in range(0, len(lead_ids), BATCH_SIZE):
        batch = lead_ids[start : start + BATCH_SIZE]
        routed = operations.route_leads(batch, trigger=trigger, policy=policy)
        db.session.commit()
        decisions.extend(routed[lead_id] for lead_id in batch if lead_id in routed)
    return decisions


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
        sid = notify.send_assignment_sms(
            notification,
            config["HELPLINE_NUMBER"],
            config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000",
        )
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


@shared_task(name="notify.resend_stale", acks_late=True)
def resend_stale_notifications() -> int:
    """Re-enqueue texts whose enqueue was lost (broker down) or whose retries ran out."""
    assignment_ids = notify.stale_notification_assignments()
    for assignment_id in assignment_ids:
        enqueue("notify.assignment", assignment_id)
    db.session.commit()
    return len(assignment_ids)
