"""What routing reads about leads beside the engine's facts: past owners, callbacks, open follow-ups."""

from __future__ import annotations

from sqlalchemy import select

from leadrouter.extensions import db
from leadrouter.leads.consent import consenting_lead_ids
from leadrouter.models import Assignment, FollowUp, Lead


def previous_owner_ids(leads: list[Lead]) -> dict[int, int]:
    """Each lead's last owner, for continuity; leads never owned cost no query."""
    # Every assignment sets assigned_at and nothing clears it: never owned, nobody to return to.
    once_owned = [lead.id for lead in leads if lead.assigned_at is not None]
    if not once_owned:
        return {}
    last = (
        select(Assignment.lead_id, db.func.max(Assignment.id).label("id"))
        .where(Assignment.lead_id.in_(once_owned))
        .group_by(Assignment.lead_id)
        .subquery()
    )
    query = select(Assignment.lead_id, Assignment.advisor_id).join(last, Assignment.id == last.c.id)
    return {lead_id: advisor_id for lead_id, advisor_id in db.session.execute(query)}


def callable_lead_ids(leads: list[Lead]) -> set[int]:
    """Those of the leads a callback may be scheduled for: consent, a phone, and never a
    do-not-contact lead; one query for them all."""
    reachable = [lead.id for lead in leads if not lead.do_not_contact and lead.phone]
    return consenting_lead_ids(reachable) if reachable else set()


def open_follow_ups_of(leads: list[Lead]) -> dict[int, list[FollowUp]]:
    if not leads:
        return {}
    query = select(FollowUp).where(
        FollowUp.lead_id.in_([lead.id for lead in leads]), FollowUp.status == "open"
    )
    grouped: dict[int, list[FollowUp]] = {}
    for follow_up in db.session.scalars(query):
        grouped.setdefault(follow_up.lead_id, []).append(follow_up)
    return grouped


def open_leads_of(advisor_id: int) -> int:
    """Count open leads currently owned by the advisor (the source of truth for the counter)."""
    query = select(db.func.count(Lead.id)).where(Lead.owner_id == advisor_id, Lead.is_open.is_(True))
    return db.session.scalar(query) or 0
