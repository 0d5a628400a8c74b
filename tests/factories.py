"""Small builders for rows tests need; each flushes so ids exist."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from leadrouter.extensions import db
from leadrouter.intake.operations import ConsentInput, LeadInput, record_lead
from leadrouter.models import Advisor

_sequence = itertools.count(1)
CONSENT = ConsentInput(given=True, text="You may call or text me.", version="test-1", ip="127.0.0.1")


def make_advisor(**fields) -> Advisor:
    number = next(_sequence)
    values = {
        "name": f"Advisor {number}",
        "email": f"advisor{number}@example.org",
        "phone": f"+1512206{number:04d}",
        "regions": ["TX"],
        "languages": ["en"],
        "capacity": 5,
        "status": "available",
        "timezone": "America/Chicago",
    }
    values.update(fields)
    advisor = Advisor(**values)
    db.session.add(advisor)
    db.session.flush()
    return advisor


def make_lead(route: bool = False, **fields):
    """Record a lead through the real intake operation."""
    number = next(_sequence)
    values = {
        "source": "web_form",
        "name": f"Person {number}",
        "phone": f"+1737206{number:04d}",
        "state": "TX",
        "consent": CONSENT,
    }
    values.update(fields)
    return record_lead(LeadInput(**values), route=route).lead


def at(text: str) -> datetime:
    """An aware UTC datetime from 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
