"""Tell an advisor about a new urgent lead by SMS, at most once per assignment.

This module keeps the outbox; the task sends through the Twilio adapter (telephony.client).

The outbox row moves pending -> sending (committed) -> sent. A worker killed after the
Twilio request but before recording it leaves the row in `sending`; a retry then never
sends again: a missed text is better than a doubled one, and the dashboard shows it anyway.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from leadrouter.database import is_postgres
from leadrouter.extensions import db
from leadrouter.i18n import SOURCE_LANGUAGE, translations_for
from leadrouter.leads.timeline import add_event
from leadrouter.models import Assignment, Lead, Notification, utcnow

log = logging.getLogger(__name__)


def claim_notification(assignment_id: int) -> Notification | None:
    """Mark the pending SMS of this assignment as being sent; None if it is not pending."""
    query = select(Notification).where(
        Notification.assignment_id == assignment_id, Notification.channel == "sms"
    )
    if is_postgres():
        query = query.with_for_update(skip_locked=True)
    notification = db.session.scalar(query)
    if notification is None or notification.status not in ("pending", "failed"):
        return None
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.ended_at is not None:
        notification.status = "skipped"
        notification.last_error = "assignment ended before the text went out"
        return None
    notification.status = "sending"
    notification.attempts += 1
    return notification


def assignment_text(notification: Notification, dashboard_url: str) -> tuple[str, str]:
    """The advisor's number and the text to send them (no personal data in it)."""
    assignment = db.session.get(Assignment, notification.assignment_id)
    lead = db.session.get(Lead, assignment.lead_id)
    # Staff pages and texts are in the helpline's working language, English.
    translations = translations_for(SOURCE_LANGUAGE)
    region = lead.region or translations.gettext("region unknown")
    body = translations.gettext("leadrouter: new %(urgency)s lead #%(id)s (%(region)s). Open %(url)s") % {
        "urgency": lead.urgency,
        "id": lead.id,
        "region": region,
        "url": f"{dashboard_url}/leads/{lead.id}",
    }
    return assignment.advisor.phone, body


def claim_on_call_text(lead_id: int, dashboard_url: str) -> str | None:
    """The text telling the on-call manager about an escalated lead, claimed once per escalation.

    The claim is an event on the lead's timeline, committed before sending: a retry after a
    worker died mid-send does not text twice (a missed text shows on the dashboard anyway).
    None when the lead is no longer escalated and open, or its text was already claimed.
    """
    lead = db.session.get(Lead, lead_id)
    if lead is None or lead.escalated_at is None or not lead.is_open:
        return None
    claimed = add_event(
        lead,
        "on_call_texted",
        detail={"escalated_at": lead.escalated_at.isoformat()},
        dedupe_key=f"on-call:{lead.id}:{lead.escalated_at.isoformat()}",
    )
    if claimed is None:
        return None
    translations = translations_for(SOURCE_LANGUAGE)
    # Names and numbers stay out of texts: the link opens the lead for a signed-in manager.
    return translations.gettext(
        "leadrouter: %(urgency)s lead #%(id)s (%(region)s) escalated to managers: nobody reached the "
        "person in time. Open %(url)s"
    ) % {
        "urgency": lead.urgency,
        "id": lead.id,
        "region": lead.region or translations.gettext("region unknown"),
        "url": f"{dashboard_url}/leads/{lead.id}",
    }


def mark_sent(notification: Notification, sid: str) -> None:
    notification.status, notification.provider_sid, notification.sent_at = "sent", sid, utcnow()


def mark_failed(notification: Notification, error: Exception) -> None:
    notification.status = "failed"
    notification.last_error = type(error).__name__


def mark_skipped(notification: Notification, why: str) -> None:
    notification.status, notification.last_error = "skipped", why


STALE_AFTER = timedelta(minutes=2)
MAX_ATTEMPTS = 6


def stale_notification_assignments(now=None, limit: int = 200) -> list[int]:
    """Assignments whose text is still pending (or failed, with attempts left) after a while."""
    cutoff = (now or utcnow()) - STALE_AFTER
    query = (
        select(Notification.assignment_id)
        .join(Assignment, Assignment.id == Notification.assignment_id)
        .where(
            Notification.channel == "sms",
            Notification.status.in_(("pending", "failed")),
            Notification.attempts < MAX_ATTEMPTS,
            Notification.created_at <= cutoff,
            Assignment.ended_at.is_(None),
        )
        .order_by(Notification.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))
