"""What a manager should know before handing a lead to a chosen advisor. Pure; no I/O.

Routing never picks an advisor who is away, off shift, outside the lead's state or
language, or full; a manager may, on purpose, once each such concern is confirmed.
"""

from __future__ import annotations

from datetime import datetime

from leadrouter.routing.engine import AdvisorFacts, LeadFacts
from leadrouter.routing.hours import on_shift
from leadrouter.routing.vocabulary import NATIONAL_POOL

# In the order a manager reads them; each key has words on the pages (dashboard.presenters).
NOT_AVAILABLE = "not_available"
OFF_SHIFT = "off_shift"
OUTSIDE_STATE = "outside_state"
OTHER_LANGUAGE = "other_language"
AT_CAPACITY = "at_capacity"
CONCERNS = (NOT_AVAILABLE, OFF_SHIFT, OUTSIDE_STATE, OTHER_LANGUAGE, AT_CAPACITY)


def reassignment_concerns(advisor: AdvisorFacts, lead: LeadFacts, now: datetime) -> tuple[str, ...]:
    """Return why routing itself would not give this lead to this advisor now (empty if it could)."""
    concerns = []
    if advisor.status != "available":
        concerns.append(NOT_AVAILABLE)
    if not on_shift(advisor.shift_hours, advisor.timezone, now):
        concerns.append(OFF_SHIFT)
    if NATIONAL_POOL not in advisor.regions and (lead.region is None or lead.region not in advisor.regions):
        concerns.append(OUTSIDE_STATE)
    if lead.language not in advisor.languages:
        concerns.append(OTHER_LANGUAGE)
    if advisor.open_leads >= advisor.capacity:
        concerns.append(AT_CAPACITY)
    return tuple(concerns)


def unconfirmed(concerns: tuple[str, ...], confirmed: frozenset[str] | set[str]) -> tuple[str, ...]:
    """The concerns a manager has not yet confirmed, in reading order."""
    return tuple(concern for concern in concerns if concern not in confirmed)
