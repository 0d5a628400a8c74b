"""What routing reads about leads beside the engine's facts: past owners, callbacks, open follow-ups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select

from leadrouter.extensions import db
from leadrouter.leads.consent import consenting_lead_ids
from leadrouter.models import Assignment, Call, CallOffer, ConsentRecord, FollowUp, Lead
from leadrouter.routing.calls import LIVE_CALL_HOLDS_FOR, RING_HOLDS_FOR

# The end reason of an assignment a ring made and the advisor's miss undid: she never had the
# lead in any sense that continuity should return it to her.
MISSED_RING_REASON = "did not answer the person's call"


def previous_owner_ids(leads: list[Lead]) -> dict[int, int]:
    """Each lead's last owner, for continuity; leads never owned cost no query.

    A ring the advisor missed (its assignment ended with MISSED_RING_REASON) does not count.
    """
    # Every assignment sets assigned_at and nothing clears it: never owned, nobody to return to.
    once_owned = [lead.id for lead in leads if lead.assigned_at is not None]
    if not once_owned:
        return {}
    last = (
        select(Assignment.lead_id, db.func.max(Assignment.id).label("id"))
        .where(
            Assignment.lead_id.in_(once_owned),
            or_(Assignment.end_reason.is_(None), Assignment.end_reason != MISSED_RING_REASON),
        )
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


def may_call_back_column():
    """SQL, per lead row: what `callable_lead_ids` answers (a phone, not do-not-contact, and
    the latest consent record given), to read along with the lead."""
    latest_consent = (
        select(ConsentRecord.given)
        .where(ConsentRecord.lead_id == Lead.id)
        .order_by(ConsentRecord.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return and_(
        Lead.do_not_contact.is_(False), Lead.phone.is_not(None), Lead.phone != "", latest_consent.is_(True)
    )


def has_open_follow_ups_column():
    """SQL, per lead row: whether `open_follow_ups_of` would find any."""
    return select(FollowUp.id).where(FollowUp.lead_id == Lead.id, FollowUp.status == "open").exists()


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


def on_a_live_call(advisor_id, now: datetime):
    """SQL: a live call is ringing the advisor or they are talking on one (busy for routing).

    `advisor_id` is a column or a value. A call ends for routing when its status callback
    says so (calls.ended_at); the time bounds only keep a lost callback from holding an
    advisor for ever.
    """
    since = now - LIVE_CALL_HOLDS_FOR
    talking = select(Call.id).where(
        Call.advisor_id == advisor_id,
        Call.started_at > since,
        Call.ended_at.is_(None),
        Call.answered_at.is_not(None),
    )
    ringing = (
        select(CallOffer.id)
        .join(Call, Call.id == CallOffer.call_id)
        .where(
            CallOffer.advisor_id == advisor_id,
            CallOffer.ended_at.is_(None),
            CallOffer.rang_at > now - RING_HOLDS_FOR,
            Call.started_at > since,
            Call.ended_at.is_(None),
            Call.answered_at.is_(None),
        )
    )
    return or_(talking.exists(), ringing.exists())
