"""When a lead's owner must act next: the first-contact deadline, then open follow-ups."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from leadrouter.extensions import db
from leadrouter.models import FollowUp, Lead
from leadrouter.models.lead import NOTHING_DUE


def refresh_next_due(lead: Lead) -> None:
    """Recompute lead.next_due_at, the advisor queue's sort key after urgency."""
    db.session.flush()
    candidates = []
    if lead.is_open:
        next_follow_up = db.session.scalar(
            select(func.min(FollowUp.due_at)).where(FollowUp.lead_id == lead.id, FollowUp.status == "open")
        )
        if next_follow_up is not None:
            candidates.append(_aware(next_follow_up))
        if lead.first_contact_at is None and lead.sla_due_at is not None:
            candidates.append(lead.sla_due_at)
    lead.next_due_at = min(candidates) if candidates else NOTHING_DUE


def _aware(moment: datetime) -> datetime:
    # func.min() bypasses the column type on SQLite, which hands back a naive UTC value.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
