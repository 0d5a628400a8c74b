"""Read queries for the advisor screens, shaped for their indexes (no query per row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, func, or_, select, tuple_
from sqlalchemy.orm import defer, joinedload, selectinload

from leadrouter.extensions import db
from leadrouter.models import Advisor, Assignment, Call, ConsentRecord, Event, FollowUp, Lead, User, live_call
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
    escalated: int


@dataclass(frozen=True)
class QueueFilters:
    """Which open leads a queue shows: one advisor's, or the managers' filtered view of all."""

    owner_id: int | None = None  # an advisor's own queue; None = every open lead (managers)
    status: str | None = None
    urgency: str | None = None
    region: str | None = None
    advisor_id: int | None = None  # managers: the leads one advisor holds
    overdue: bool = False
    waiting: bool = False
    lead_id: int | None = None  # a search for "#123"
    phone: str | None = None  # a search by phone, in E.164
    name: str | None = None  # a search by part of a name


def inactive_advisor_ids():
    return select(Advisor.id).where(Advisor.active.is_(False))


def waiting_condition():
    """Open leads no advisor can work: unowned (new, queued, escalated) or held by a deactivated advisor.

    With the advisor queues (`owner_id == advisor`, active) this covers every open lead exactly once.
    """
    return and_(
        Lead.is_open.is_(True), or_(Lead.owner_id.is_(None), Lead.owner_id.in_(inactive_advisor_ids()))
    )


def in_advisor_queue():
    """Open leads some active advisor holds: each shows in exactly that advisor's queue."""
    return and_(
        Lead.is_open.is_(True), Lead.owner_id.is_not(None), Lead.owner_id.not_in(inactive_advisor_ids())
    )


def owed_at():
    """What a queue row is judged by: the promised first contact until the person is reached, then
    the next follow-up.

    Until first contact the automatic callback is that first call, so the promise alone
    decides (a critical lead's callback is due the moment it is assigned). The queue rows
    read the same rule (presenters.queue_due).
    """
    awaiting_first_contact = and_(Lead.first_contact_at.is_(None), Lead.first_contact_due.is_not(None))
    return case((awaiting_first_contact, Lead.first_contact_due), else_=Lead.next_due_at)


def overdue_condition(now: datetime):
    """Not reached by the promised time, or a follow-up past due."""
    return owed_at() < now


def _queue_conditions(filters: QueueFilters, now: datetime) -> list:
    conditions = [Lead.is_open.is_(True)]
    if filters.owner_id is not None:
        # A deactivated advisor's leads wait for the managers instead (see waiting_condition).
        conditions[:0] = [Lead.owner_id == filters.owner_id, in_advisor_queue()]
    if filters.waiting:
        conditions.append(waiting_condition())
    if filters.advisor_id is not None:
        conditions.append(Lead.owner_id == filters.advisor_id)
    if filters.status:
        conditions.append(Lead.status == filters.status)
    if filters.urgency:
        conditions.append(Lead.urgency == filters.urgency)
    if filters.region:
        conditions.append(Lead.region == filters.region)
    if filters.overdue:
        conditions.append(overdue_condition(now))
    if filters.lead_id is not None:
        conditions.append(Lead.id == filters.lead_id)
    if filters.phone:
        conditions.append(Lead.phone == filters.phone)
    if filters.name:
        pattern = "%" + filters.name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(Lead.name.ilike(pattern, escape="\\"))
    return conditions


def queue_page(
    filters: QueueFilters, now: datetime, cursor: str | None = None, limit: int = PAGE_SIZE
) -> QueuePage:
    """Open leads (of one owner, or for managers every one, filtered), most urgent and most due first.

    Keyset pagination on (urgency_rank, next_due_at, id): the cost of a page does not grow
    with the number of leads in the database.
    """
    query = (
        select(Lead)
        .where(*_queue_conditions(filters, now))
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


def queue_counts(filters: QueueFilters, now: datetime) -> QueueCounts:
    """The numbers at the top of the queue, in one aggregate over the same rows as the page."""
    end_of_day = now + timedelta(hours=24)
    row = db.session.execute(
        select(
            func.count(Lead.id),
            _count_where(overdue_condition(now)),
            _count_where(Lead.urgency == "critical"),
            _count_where(Lead.next_due_at < end_of_day),
            _count_where(Lead.escalated_at.is_not(None)),
        ).where(*_queue_conditions(filters, now))
    ).one()
    return QueueCounts(open=row[0], overdue=row[1], critical=row[2], due_today=row[3], escalated=row[4])


def _count_where(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def queue_fingerprint(filters: QueueFilters, now: datetime) -> dict:
    """What the live queue polls: which leads are open and whether any is critical."""
    rows = db.session.execute(
        select(Lead.id, Lead.urgency)
        .where(*_queue_conditions(filters, now))
        .order_by(Lead.urgency_rank, Lead.next_due_at, Lead.id)
        .limit(PAGE_SIZE)
    ).all()
    return {
        "ids": [row.id for row in rows],
        "critical": [row.id for row in rows if row.urgency == "critical"],
    }


@dataclass(frozen=True)
class WaitingList:
    leads: list[Lead]
    count: int
    oldest_created_at: datetime | None


def waiting_list(limit: int = PAGE_SIZE) -> WaitingList:
    """The managers' "Waiting for an advisor": most urgent first, then the longest waiting.

    The count and the oldest wait come from the same condition as the rows.
    """
    leads = list(
        db.session.scalars(
            select(Lead)
            .where(waiting_condition())
            .options(joinedload(Lead.owner), defer(Lead.message), defer(Lead.utm))
            .order_by(Lead.urgency_rank, Lead.created_at, Lead.id)
            .limit(limit)
        ).unique()
    )
    count, oldest = db.session.execute(
        select(func.count(Lead.id), func.min(Lead.created_at)).where(waiting_condition())
    ).one()
    return WaitingList(leads=leads, count=count, oldest_created_at=_aware(oldest))


def _aware(moment):
    """Aggregates bypass the column type; SQLite hands back naive (or text) UTC values."""
    if moment is None or getattr(moment, "tzinfo", None) is not None:
        return moment
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC)


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


@dataclass(frozen=True)
class LiveCall:
    """A call an advisor is on now (they accepted it and it has not ended)."""

    call_id: int
    lead_id: int | None
    advisor_id: int
    advisor_name: str
    answered_at: datetime


def live_call_of_advisor(advisor_id: int, now: datetime) -> LiveCall | None:
    """The call this advisor is on now (the latest accepted, should two overlap)."""
    return _latest_live_call(Call.advisor_id == advisor_id, now)


def live_call_on_lead(lead_id: int, now: datetime) -> LiveCall | None:
    """The call someone is on now with this lead."""
    return _latest_live_call(Call.lead_id == lead_id, now)


def _latest_live_call(condition, now: datetime) -> LiveCall | None:
    row = db.session.execute(
        select(Call.id, Call.lead_id, Call.advisor_id, Advisor.name, Call.answered_at)
        .join(Advisor, Advisor.id == Call.advisor_id)
        .where(condition, live_call(now))
        .order_by(Call.answered_at.desc(), Call.id.desc())
        .limit(1)
    ).first()
    return None if row is None else LiveCall(*row)


def advisors_by_name() -> list[Advisor]:
    """Every active advisor, for the managers' queue filter."""
    return list(db.session.scalars(select(Advisor).where(Advisor.active.is_(True)).order_by(Advisor.name)))


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
