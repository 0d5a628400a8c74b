"""Translate rows into the plain facts the pure routing engine reads."""

from __future__ import annotations

from leadrouter.models import Advisor, Lead
from leadrouter.routing.engine import AdvisorFacts, LeadFacts


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
