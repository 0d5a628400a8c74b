"""Read leads and their assignments for the routing report, and fold them into partials.

One statement reads a set of leads joined to their assignments as plain tuples (no ORM
objects), a row per assignment or per lead without one. `lead_rows` groups them per
lead; `scan` folds a filtered range into one partial; `hourly_partials` folds leads into
the stored partials, one per UTC hour and scope (see rollups.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Float, Integer, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from leadrouter.database import dialect_name
from leadrouter.extensions import db
from leadrouter.models import Assignment, Call, CallOffer, Lead
from leadrouter.reports.partials import (
    QUARTER_HOUR_SECONDS,
    SCOPE_ALL,
    UNKNOWN_REGION,
    HoldRow,
    LeadRow,
    Partial,
    fold,
    hour_of,
    lead_scopes,
    scopes_of,
)
from leadrouter.routing.calls import CallRecord

# The lead's own columns that every report row starts with (the scan, the CSV export).
LEAD_COLUMNS = (
    Lead.id,
    Lead.created_at,
    Lead.source,
    Lead.region,
    Lead.urgency,
    Lead.status,
    Lead.closed_reason,
)


@dataclass(frozen=True)
class ReportFilters:
    """What a report covers: inclusive local dates and optional filters."""

    start: date
    end: date
    region: str | None = None  # a state code, or "unknown" for leads with no state
    source: str | None = None
    urgency: str | None = None
    advisor_id: int | None = None

    def as_dict(self) -> dict:
        return {
            "region": self.region,
            "source": self.source,
            "urgency": self.urgency,
            "advisor": self.advisor_id,
        }


class DialectSql:
    """The few expressions SQLite and PostgreSQL spell differently."""

    def __init__(self, dialect: str):
        self.postgres = dialect == "postgresql"

    @classmethod
    def current(cls) -> DialectSql:
        return cls(dialect_name())

    def seconds_between(self, later, earlier) -> ColumnElement:
        if self.postgres:
            return cast(func.extract("epoch", later - earlier), Float)
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0

    def quarter_hour(self, moment) -> ColumnElement:
        """The moment's UTC quarter hour, as an integer count since the epoch."""
        if self.postgres:
            return cast(func.floor(func.extract("epoch", moment) / QUARTER_HOUR_SECONDS), Integer)
        return cast(func.strftime("%s", moment), Integer).op("/")(QUARTER_HOUR_SECONDS)


def created_between(low: datetime, high: datetime) -> ColumnElement:
    return and_(Lead.created_at >= low, Lead.created_at < high)


def lead_conditions(filters: ReportFilters, low: datetime, high: datetime) -> list[ColumnElement]:
    """WHERE conditions selecting the report's leads: created in [low, high) and matching the filters."""
    return [created_between(low, high), *filter_conditions(filters)]


def filter_conditions(filters: ReportFilters) -> list[ColumnElement]:
    """WHERE conditions for the region, source, urgency and advisor filters alone."""
    conditions = []
    if filters.region == UNKNOWN_REGION:
        conditions.append(Lead.region.is_(None))
    elif filters.region:
        conditions.append(Lead.region == filters.region)
    if filters.source:
        conditions.append(Lead.source == filters.source)
    if filters.urgency:
        conditions.append(Lead.urgency == filters.urgency)
    if filters.advisor_id is not None:
        # Aliased: the report's own queries join assignments too.
        other = aliased(Assignment)
        held = select(other.id).where(other.lead_id == Lead.id, other.advisor_id == filters.advisor_id)
        conditions.append(exists(held.correlate(Lead)))
    return conditions


def sla_state_of(now: datetime) -> ColumnElement:
    """'met', 'missed' or 'pending' for a lead, as of now."""
    contacted = Lead.first_contact_at.is_not(None)
    # Measured against the time promised to the person, which no reassignment moves.
    due = Lead.first_contact_due
    return case(
        (and_(contacted, due.is_not(None), Lead.first_contact_at <= due), "met"),
        (and_(contacted, due.is_not(None)), "missed"),
        (and_(Lead.first_contact_at.is_(None), due < now), "missed"),
        else_="pending",
    )


def lead_rows(
    conditions: Sequence[ColumnElement], low: datetime, now: datetime
) -> Iterator[tuple[LeadRow, list[HoldRow]]]:
    """Each lead matching the conditions with its assignments; `low` bounds the leads' creation."""
    sql = DialectSql.current()
    holder = and_(
        Assignment.started_at <= Lead.first_contact_at,
        or_(Assignment.ended_at.is_(None), Assignment.ended_at > Lead.first_contact_at),
    )
    overdue = and_(Lead.first_contact_at.is_(None), Lead.first_contact_due < now)
    query = (
        select(
            *LEAD_COLUMNS,
            sla_state_of(now),
            Lead.escalated_at.is_not(None),
            sql.seconds_between(Lead.first_contact_at, Lead.created_at),
            Lead.owner_id,
            Lead.is_open,
            overdue,
            Lead.first_contact_due,
            Assignment.advisor_id,
            Assignment.kind,
            sql.seconds_between(Assignment.started_at, Lead.created_at),
            holder,
        )
        # An assignment never starts before its lead exists: the bound on started_at lets
        # PostgreSQL read only this range's assignments (ix_assignments_started) when the
        # range is recent, or probe ix_assignments_lead_started per lead when it is not.
        .outerjoin(Assignment, and_(Assignment.lead_id == Lead.id, Assignment.started_at >= low))
        .where(*conditions)
    )
    leads: dict[int, tuple[LeadRow, list[HoldRow]]] = {}
    # Rows straight from the connection: the column types still apply (UTC datetimes).
    for row in db.session.connection().execute(query):
        entry = leads.get(row[0])
        if entry is None:
            lead = LeadRow(
                id=row[0],
                created_at=row[1],
                source=row[2],
                region=row[3],
                urgency=row[4],
                status=row[5],
                closed_reason=row[6],
                sla=row[7],
                escalated=bool(row[8]),
                speed=row[9],
                owner_id=row[10],
                is_open=bool(row[11]),
                overdue=bool(row[12]),
                first_contact_due=row[13],
            )
            entry = leads[row[0]] = (lead, [])
        if row[14] is not None:
            entry[1].append(HoldRow(row[14], row[15], float(row[16]), bool(row[17])))
    yield from leads.values()


def scan(
    conditions: Sequence[ColumnElement], low: datetime, now: datetime, only_advisor: int | None
) -> Partial:
    """One partial of the leads matching the conditions (created at or after low)."""
    return fold(lead_rows(conditions, low, now), only_advisor)


def call_partial(filters: ReportFilters, ranges: Sequence[tuple[datetime, datetime]]) -> Partial:
    """A partial of the inbound calls that started in the ranges alone (on matching leads when filtered)."""
    query = select(Call.started_at, Call.answered_at, Call.outcome, offers_made(), Lead.region).where(
        inbound_started_in(ranges)
    )
    matching = filter_conditions(filters)
    if matching:
        # The lead's own creation date does not matter here: the call's does.
        query = query.join(Lead, Lead.id == Call.lead_id).where(*matching)
    else:
        query = query.outerjoin(Lead, Lead.id == Call.lead_id)
    partial = Partial()
    for started_at, answered_at, outcome, offers, region in db.session.execute(query):
        partial.add_call(CallRecord(started_at, answered_at, outcome, offers), region)
    return partial


def hourly_partials(
    ranges: Sequence[tuple[datetime, datetime]], now: datetime
) -> dict[datetime, dict[str, Partial]]:
    """The stored partials of the UTC-hour-aligned ranges: hour -> scope -> partial.

    An hour's partial holds the leads created in it and the inbound calls that started in it.
    """
    if not ranges:
        return {}
    low = min(start for start, _end in ranges)
    condition = or_(*(created_between(start, end) for start, end in ranges))
    hours: dict[datetime, dict[str, Partial]] = defaultdict(lambda: defaultdict(Partial))
    for lead, holds in lead_rows([condition], low, now):
        scopes = hours[hour_of(lead.created_at)]
        for scope, only_advisor in scopes_of(lead, holds):
            scopes[scope].add_lead(lead, holds, only_advisor)
    for call, region, scopes in _calls_with_scopes(ranges):
        partials = hours[hour_of(call.reached_line_at)]
        for scope in scopes:
            partials[scope].add_call(call, region)
    return hours


def _calls_with_scopes(
    ranges: Sequence[tuple[datetime, datetime]],
) -> Iterator[tuple[CallRecord, str | None, list[str]]]:
    """Each inbound call that started in the ranges, its lead's region and the scopes its lead is in."""
    query = (
        select(
            Call.id,
            Call.started_at,
            Call.answered_at,
            Call.outcome,
            offers_made(),
            Call.lead_id,
            Lead.region,
            Lead.source,
            Lead.urgency,
        )
        .add_columns(Assignment.advisor_id)
        .outerjoin(Lead, Lead.id == Call.lead_id)
        .outerjoin(Assignment, Assignment.lead_id == Call.lead_id)
        .where(inbound_started_in(ranges))
    )
    calls: dict[int, tuple] = {}
    advisors: dict[int, set[int]] = defaultdict(set)
    for row in db.session.execute(query):
        calls[row.id] = tuple(row[1:9])
        if row.advisor_id is not None:
            advisors[row.id].add(row.advisor_id)
    for call_id, (started, answered, outcome, offers, lead_id, region, source, urgency) in calls.items():
        call = CallRecord(started, answered, outcome, offers)
        if lead_id is None:
            yield call, None, [SCOPE_ALL]
        else:
            yield call, region, lead_scopes(region, source, urgency, sorted(advisors[call_id]))


def offers_made() -> ColumnElement:
    """How many advisors were rung for the call (ring-all counts each one)."""
    return (
        select(func.count(CallOffer.id)).where(CallOffer.call_id == Call.id).correlate(Call).scalar_subquery()
    )


def inbound_started_in(ranges: Sequence[tuple[datetime, datetime]]) -> ColumnElement:
    started = or_(*(and_(Call.started_at >= start, Call.started_at < end) for start, end in ranges))
    return and_(started, Call.direction == "inbound")
