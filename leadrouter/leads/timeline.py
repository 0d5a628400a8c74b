"""The lead timeline: every change is an event with who and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from leadrouter.extensions import db
from leadrouter.models import Event, Lead, utcnow


def add_event(
    lead: Lead,
    type_: str,
    actor: str = "system",
    detail: dict | None = None,
    *,
    dedupe_key: str | None = None,
    at: datetime | None = None,
) -> Event | None:
    """Append an event; with a dedupe key a repeated delivery adds nothing and returns None."""
    event = Event(lead_id=lead.id, type=type_, actor=actor, detail=detail or {}, at=at or utcnow())
    if dedupe_key is None:
        db.session.add(event)
        return event
    event.dedupe_key = dedupe_key
    if db.session.scalar(select(Event.id).where(Event.dedupe_key == dedupe_key)):
        return None
    try:
        with db.session.begin_nested():
            db.session.add(event)
    except IntegrityError:
        # Another delivery of the same callback won the race.
        return None
    return event
