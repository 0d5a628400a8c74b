"""Read queries for the advisor screens, shaped for their indexes (no query per row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, or_, select, tuple_
from sqlalchemy.orm import defer, joinedload, selectinload

from leadrouter.extensions import db
from leadrouter.models import Advisor, Assignment, Call, ConsentRecord, Event, FollowUp, Lead, User
from leadrouter.models.lead import NOTHING_DUE
from leadrouter.pagination import decode_cursor, encode_cursor

PAGE_SIZE = 50


@dataclass(frozen=True)
class QueuePage:
    leads: list[Lead]
    next_cursor: str | None


@dataclass(frozen=True)
class QueueCounts:
    open: int
    overdue: int
    critical: int
    due_today: int


def _queue_filter(owner_id: int | None):
    conditions = [Lead.is_open.is_(True)]
    if owner_id is not None:
        conditions.insert(0, Lead.owner_id == owner_id)
    else:
        # Managers: every owned lead, and the unowned ones escalated to them (a lead routing
        # could not handle waits there for a person to assign it).
        conditions.append(or_(Lead.owner_id.is_not(None), Lead.escalated_at.is_not(None)))
    return conditions


def queue_page(owner_id: int | None, cursor: str | None = None, limit: int = PAGE_SIZE) -> QueuePage:
    """Open leads (of one owner, or for managers every owned or escalated one), most urgent and
    most due first.

    Keyset pagination on (urgency_rank, next_due_at, id): the cost of a page does not grow
    with the number of leads in the database.
    """
    query = (
        select(Lead)
        .where(*_queue_filter(owner_id))
        # A queue row shows none of these; the routing trace alone can be kilobytes per lead.
        .options(joinedload(Lead.owner), defer(Lead.routing_trace), defer(Lead.message), defer(Lead.utm))
        .order_by(Lead.urgency_rank, Lead.next_due_at, Lead.id)
        .limit(limit + 1)
    )
    position = _position_of(cursor)
    if position is not None:
        query = query.where(tuple_(Lead.urgency_rank, Lead.next_due_at, Lead.id) > tuple_(*position))
    leads = list(db.session.scalars(query).unique())
    next_cursor = _cursor_after(leads[limit - 1]) if len(leads) > limit else None
    return QueuePage(leads=leads[:limit], next_cursor=next_cursor)


def _cursor_after(lead: Lead) -> str:
    return encode_cursor(lead.urgency_rank, lead.next_due_at, lead.id)


def _position_of(cursor: str | None) -> tuple[int, datetime, int] | None:
    """The (rank, due, id) position a cursor points after; None for the first page or junk."""
    if not cursor:
        return None
    try:
        return decode_cursor(cursor, int, datetime, int)
    except ValueError:
        return None


def queue_counts(owner_id: int | None, now: datetime) -> QueueCounts:
    """The numbers at the top of the queue, in one aggregate query."""
    end_of_day = now + timedelta(hours=24)
    overdue = and_(Lead.first_contact_at.is_(None), Lead.sla_due_at < now)
    row = db.session.execute(
        select(
            func.count(Lead.id),
            func.coalesce(func.sum(case((overdue, 1), else_=0)), 0),
            func.coalesce(func.sum(case((Lead.urgency == "critical", 1), else_=0)), 0),
            func.coalesce(func.sum(case((Lead.next_due_at < end_of_day, 1), else_=0)), 0),
        ).where(*_queue_filter(owner_id))
    ).one()
    return QueueCounts(open=row[0], overdue=row[1], critical=row[2], due_today=row[3])


def queue_fingerprint(owner_id: int | None) -> dict:
    """What the live queue polls: which leads are open and whether any is critical."""
    rows = db.session.execute(
        select(Lead.id, Lead.urgency)
        .where(*_queue_filter(owner_id))
        .order_by(Lead.urgency_rank, Lead.next_due_at, Lead.id)
        .limit(PAGE_SIZE)
    ).all()
    return {
        "ids": [row.id for row in rows],
        "critical": [row.id for row in rows if row.urgency == "critical"],
    }


@dataclass(frozen=True)
class LeadDetail:
    lead: Lead
    consent: ConsentRecord | None
    events: list[Event]
    follow_ups: list[FollowUp]
    calls: list[Call]
    history: list[Assignment]


def lead_detail(lead: Lead) -> LeadDetail:
    """Everything the lead page shows, in a fixed number of queries."""
    consent = db.session.scalar(
        select(ConsentRecord)
        .where(ConsentRecord.lead_id == lead.id)
        .order_by(ConsentRecord.id.desc())
        .limit(1)
    )
    events = list(
        db.session.scalars(select(Event).where(Event.lead_id == lead.id).order_by(Event.at, Event.id))
    )
    follow_ups = list(
        db.session.scalars(select(FollowUp).where(FollowUp.lead_id == lead.id).order_by(FollowUp.due_at))
    )
    calls = list(
        db.session.scalars(
            select(Call)
            .where(Call.lead_id == lead.id)
            .options(selectinload(Call.recordings))
            .order_by(Call.started_at)
        )
    )
    history = list(
        db.session.scalars(
            select(Assignment)
            .where(Assignment.lead_id == lead.id)
            .options(joinedload(Assignment.advisor))
            .order_by(Assignment.started_at)
        )
    )
    return LeadDetail(lead, consent, events, follow_ups, calls, history)


def actor_names(actors) -> dict[str, str]:
    """'user:4' and 'advisor:7' as the names staff know, in two queries at most."""
    ids: dict[str, set[int]] = {"user": set(), "advisor": set()}
    for actor in actors:
        kind, _, number = (actor or "").partition(":")
        if kind in ids and number.isdigit():
            ids[kind].add(int(number))
    names = {}
    if ids["user"]:
        rows = db.session.execute(select(User.id, User.name).where(User.id.in_(ids["user"])))
        names.update({f"user:{id_}": name for id_, name in rows})
    if ids["advisor"]:
        rows = db.session.execute(select(Advisor.id, Advisor.name).where(Advisor.id.in_(ids["advisor"])))
        names.update({f"advisor:{id_}": name for id_, name in rows})
    return names


def is_nothing_due(moment: datetime) -> bool:
    return moment >= NOTHING_DUE - timedelta(days=1)
