"""Translate rows into the plain facts the pure routing engine reads."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Text, and_, case, cast, select

from leadrouter.assignment.queries import on_a_live_call
from leadrouter.extensions import db
from leadrouter.models import Advisor, Lead, utcnow
from leadrouter.routing.engine import AdvisorFacts, LeadFacts

# The advisor columns routing reads, as plain rows. JSON comes back as text: the row is then
# hashable, and an advisor unchanged since the last routing reuses its facts (see _row_facts).
ADVISOR_FACT_COLUMNS = (
    Advisor.id,
    Advisor.name,
    cast(Advisor.regions, Text),
    cast(Advisor.languages, Text),
    Advisor.capacity,
    Advisor.open_leads,
    Advisor.status,
    Advisor.active,
    Advisor.timezone,
    cast(Advisor.shift_hours, Text),
    Advisor.last_assigned_at,
)


def active_advisor_facts(now: datetime | None = None) -> list[AdvisorFacts]:
    """Every active advisor as routing facts, as the database has them now.

    An available advisor whom a live call is ringing, or who is talking on one, is `busy`
    for routing (leads and callers alike) until the call's status callback says it ended.
    """
    on_call = on_a_live_call(Advisor.id, now or utcnow())
    status = case((and_(Advisor.status == "available", on_call), "busy"), else_=Advisor.status)
    columns = [status if column is Advisor.status else column for column in ADVISOR_FACT_COLUMNS]
    query = select(*columns).where(Advisor.active.is_(True)).order_by(Advisor.id)
    return [_row_facts(tuple(row)) for row in db.session.execute(query)]


@lru_cache(maxsize=4096)
def _row_facts(row: tuple) -> AdvisorFacts:
    # Facts are immutable and follow from the row alone, so a cached copy is never stale:
    # a changed advisor (a claim moves open_leads) is a different row.
    (id_, name, regions, languages, capacity, open_leads, status, active, timezone, shift_hours, last) = row
    return AdvisorFacts(
        id=id_,
        name=name,
        regions=frozenset(_json(regions) or ()),
        languages=frozenset(_json(languages) or ()),
        capacity=capacity,
        open_leads=open_leads,
        status=status,
        active=active,
        timezone=timezone,
        shift_hours=_json(shift_hours),
        last_assigned_at=last,
    )


def _json(text: str | None):
    return None if text is None else json.loads(text)


def advisor_facts(advisor: Advisor) -> AdvisorFacts:
    return AdvisorFacts(
        id=advisor.id,
        name=advisor.name,
        regions=frozenset(advisor.regions or ()),
        languages=frozenset(advisor.languages or ()),
        capacity=advisor.capacity,
        open_leads=advisor.open_leads,
        status=advisor.status,
        active=advisor.active,
        timezone=advisor.timezone,
        shift_hours=advisor.shift_hours,
        last_assigned_at=advisor.last_assigned_at,
    )


def lead_facts(
    lead: Lead,
    previous_owner_id: int | None = None,
    exclude_ids=frozenset(),
    exclude_reason: str = "current owner overdue",
) -> LeadFacts:
    return LeadFacts(
        id=lead.id,
        urgency=lead.urgency,
        region=lead.region,
        language=lead.language,
        source=lead.source,
        created_at=lead.created_at,
        queued_since=lead.queued_at,
        owner_id=previous_owner_id,
        exclude_ids=frozenset(exclude_ids),
        exclude_reason=exclude_reason,
    )
