"""When a lead's owner must act next: the promised first contact, then open follow-ups."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import func, select

from leadrouter.extensions import db
from leadrouter.models import FollowUp, Lead
from leadrouter.models.lead import NOTHING_DUE


def refresh_next_due(lead: Lead, open_follow_ups: Iterable[FollowUp] | None = None) -> None:
    """Recompute lead.next_due_at, the advisor queue's sort key after urgency.

    A caller that already holds every open follow-up of the lead passes them, saving a query.
    """
    if open_follow_ups is None:
        db.session.flush()
    candidates = []
    if lead.is_open:
        if open_follow_ups is None:
            next_follow_up = _next_follow_up_due(lead)
        else:
            next_follow_up = min((_aware(f.due_at) for f in open_follow_ups), default=None)
        if next_follow_up is not None:
            candidates.append(_aware(next_follow_up))
        if lead.first_contact_at is None and lead.first_contact_due is not None:
            candidates.append(lead.first_contact_due)
    lead.next_due_at = min(candidates) if candidates else NOTHING_DUE


def _next_follow_up_due(lead: Lead) -> datetime | None:
    query = select(func.min(FollowUp.due_at)).where(FollowUp.lead_id == lead.id, FollowUp.status == "open")
    return db.session.scalar(query)


def _aware(moment: datetime) -> datetime:
    # func.min() bypasses the column type on SQLite, which hands back a naive UTC value.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
