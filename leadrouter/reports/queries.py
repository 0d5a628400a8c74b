"""The routing report: what happened to the leads created in a date range, computed in SQL.

Definitions managers read the numbers by:

- The range is the leads *created* between `start` 00:00 and the end of `end`, both dates
  in REPORT_TIMEZONE. Every lead number below is about that cohort, as it stands now.
- Speed to lead: created → first contact (the first call attempt or status move to
  contacted). Percentiles interpolate linearly between the two nearest values (as
  PostgreSQL's percentile_cont does).
- SLA: *met* = first contact at or before the lead's due time; *missed* = contacted after
  it, or not contacted while the due time has passed (closed leads included); *pending*
  = not contacted and not yet due, or never given a due time (never assigned). Pending
  leads are left out of `sla_met_pct` = met / (met + missed).
- Assignment latency: created → the lead's first assignment to an advisor.
- Reassignments: assignments of kind `reassigned` (SLA sweeps and managers) on these
  leads. Escalations: leads escalated to managers.
- Calls: calls that *started* in the range, by outcome; with a region, source, urgency or
  advisor filter, only calls on a lead that matches it.
- Funnel, by each lead's current status: `contacted`, `assessment`, `referred`,
  `admitted` = at that stage or a later one; `closed` with its reasons. A closed lead
  counts as closed only (the stage it was closed from is not kept on the lead).
- Advisors: everyone who held one of these leads. `assigned` = leads they held at some
  point; `contacted` = leads whose first contact happened while they held them (their
  median speed to lead is over those); `open` = open leads they own now; their SLA % is
  over the leads contacted while theirs plus uncontacted overdue leads they own now.
- The `advisor` filter keeps the leads that advisor held at some point.

How it stays fast without rollups: one pass reads the range's leads (ix_leads_created_at)
joined to their assignments (ix_assignments_started / ix_assignments_lead_started) as
plain tuples and folds them in Python; a second, index-only pass counts leads per UTC
quarter hour for the day and hour charts; the calls are one grouped count. The
percentiles are exact, from the sorted durations (a 30-day range is tens of thousands of
numbers), so SQLite and PostgreSQL share one code path. See bench/report_latency.py.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Float,
    Integer,
    and_,
    case,
    cast,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from leadrouter.extensions import db
from leadrouter.models import LEAD_SOURCES, Advisor, Assignment, Call, Lead, utcnow
from leadrouter.models.lead import URGENCIES

MAX_RANGE_DAYS = 366
UNKNOWN_REGION = "unknown"
CALL_OUTCOMES = ("answered", "missed", "abandoned", "voicemail")
FUNNEL_STAGES = ("contacted", "assessment", "referred", "admitted", "closed")
# Statuses at or past each funnel stage (closed leads count as closed only).
_AT_OR_PAST = {
    "contacted": ("contacted", "assessment", "referred", "admitted"),
    "assessment": ("assessment", "referred", "admitted"),
    "referred": ("referred", "admitted"),
    "admitted": ("admitted",),
    "closed": ("closed",),
}
# Upper bounds of the speed-to-lead histogram buckets, in seconds (the last is open).
SPEED_BUCKETS = (
    (60, "< 1 min"),
    (5 * 60, "1–5 min"),
    (15 * 60, "5–15 min"),
    (60 * 60, "15–60 min"),
    (4 * 3600, "1–4 h"),
    (24 * 3600, "4–24 h"),
    (None, "> 1 day"),
)
_BUCKET_SECONDS = 900  # every real time zone's offset is a whole number of quarter hours
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def range_bounds(start: date, end: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants [start 00:00, the day after end 00:00) in the report's time zone."""
    zone = ZoneInfo(timezone)
    low = datetime.combine(start, time(0), tzinfo=zone).astimezone(UTC)
    high = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return low, high


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """The fraction-th percentile of sorted values, interpolated linearly; None when empty."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * fraction
    lower = math.floor(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    weight = position - lower
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * weight


def routing_report(filters: ReportFilters, timezone: str = "UTC", now: datetime | None = None) -> dict:
    """Compute every number of the routing report for the filters (JSON-ready)."""
    now = now or utcnow()
    low, high = range_bounds(filters.start, filters.end, timezone)
    sql = DialectSql(db.session.get_bind().dialect.name)
    conditions = lead_conditions(filters, low, high)

    aggregate = _aggregate_in_postgres if sql.postgres else _aggregate_in_python
    mix, held, quarter_hours = aggregate(sql, conditions, low, now)
    by_day_and_hour = _days_and_hours(quarter_hours, filters, timezone)

    none_yet = _percentiles([], (0.5, 0.9))
    return {
        "start": filters.start.isoformat(),
        "end": filters.end.isoformat(),
        "timezone": timezone,
        "filters": filters.as_dict(),
        "generated_at": now.isoformat(),
        "leads": mix.total,
        "by_source": _ordered(mix.by_source, LEAD_SOURCES),
        "by_region": dict(sorted(mix.by_region.items(), key=lambda item: (-item[1], item[0]))),
        "by_urgency": _ordered(mix.by_urgency, URGENCIES),
        **by_day_and_hour,
        "speed_to_lead_seconds": held.speed,
        "speed_to_lead_by_urgency": {
            urgency: held.speed_by_urgency.get(urgency) or none_yet for urgency in URGENCIES
        },
        "speed_to_lead_distribution": held.distribution,
        "sla": {"met": mix.sla["met"], "missed": mix.sla["missed"], "pending": mix.sla["pending"]},
        "sla_met_pct": _pct(mix.sla["met"], mix.sla["met"] + mix.sla["missed"]),
        "assignment_latency_seconds": held.latency,
        "reassignments": held.reassignments,
        "escalations": mix.escalations,
        "calls": _calls(filters, low, high),
        "funnel": {
            **{stage: mix.funnel[stage] for stage in FUNNEL_STAGES},
            "closed_by_reason": dict(sorted(mix.closed_by_reason.items(), key=lambda item: -item[1])),
        },
        "advisors": _advisor_rows(filters, mix, held),
    }


# --- the queries ------------------------------------------------------------------


class DialectSql:
    """The few expressions SQLite and PostgreSQL spell differently."""

    def __init__(self, dialect: str):
        self.postgres = dialect == "postgresql"

    def seconds_between(self, later, earlier) -> ColumnElement:
        if self.postgres:
            return cast(func.extract("epoch", later - earlier), Float)
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0

    def quarter_hour(self, moment) -> ColumnElement:
        """The moment's UTC quarter hour, as an integer count since the epoch."""
        if self.postgres:
            return cast(func.floor(func.extract("epoch", moment) / _BUCKET_SECONDS), Integer)
        return cast(func.strftime("%s", moment), Integer).op("/")(_BUCKET_SECONDS)


def lead_conditions(filters: ReportFilters, low: datetime, high: datetime) -> list[ColumnElement]:
    """WHERE conditions selecting the report's leads: created in [low, high) and matching the filters."""
    return [Lead.created_at >= low, Lead.created_at < high, *filter_conditions(filters)]


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
    return case(
        (and_(contacted, Lead.sla_due_at.is_not(None), Lead.first_contact_at <= Lead.sla_due_at), "met"),
        (and_(contacted, Lead.sla_due_at.is_not(None)), "missed"),
        (and_(Lead.first_contact_at.is_(None), Lead.sla_due_at < now), "missed"),
        else_="pending",
    )


@dataclass
class _Mix:
    total: int = 0
    by_source: Counter = field(default_factory=Counter)
    by_region: Counter = field(default_factory=Counter)
    by_urgency: Counter = field(default_factory=Counter)
    sla: Counter = field(default_factory=Counter)
    escalations: int = 0
    funnel: Counter = field(default_factory=Counter)
    closed_by_reason: Counter = field(default_factory=Counter)


def _rows(query) -> list:
    """Plain result tuples straight from the connection, fetched at once (no ORM row processing)."""
    return db.session.connection().execute(query).all()


def _aggregate_in_python(
    sql: DialectSql, conditions, low: datetime, now: datetime
) -> tuple[_Mix, _Summary, list[tuple[int, int]]]:
    """The portable path (SQLite): one scan folded in Python, and leads per UTC quarter hour."""
    mix, held = _scan_leads(sql, conditions, low, now)
    bucket = sql.quarter_hour(Lead.created_at).label("bucket")
    query = select(bucket, func.count().label("n")).where(*conditions).group_by(bucket)
    return mix, _summarise(held), [(row.bucket, row.n) for row in _rows(query)]


def _days_and_hours(counts: Iterable[tuple[int, int]], filters: ReportFilters, timezone: str) -> dict:
    """Leads per local day and per local hour of day, from (UTC quarter hour, leads) pairs."""
    zone = ZoneInfo(timezone)
    days = {
        (filters.start + timedelta(days=offset)).isoformat(): 0
        for offset in range((filters.end - filters.start).days + 1)
    }
    hours = {f"{hour:02d}": 0 for hour in range(24)}
    for bucket, n in counts:
        local = datetime.fromtimestamp(bucket * _BUCKET_SECONDS, zone)
        days[local.date().isoformat()] = days.get(local.date().isoformat(), 0) + n
        hours[f"{local.hour:02d}"] += n
    return {"by_day": days, "by_hour": hours}


@dataclass
class _Held:
    """What the leads' assignments say: speeds, first assignments, who held what."""

    speeds: list[float] = field(default_factory=list)
    speeds_by_urgency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    first_assignment: list[float] = field(default_factory=list)
    reassignments: int = 0
    leads_by_advisor: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    speeds_by_advisor: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    sla_by_advisor: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    open_by_owner: Counter = field(default_factory=Counter)
    overdue_by_owner: Counter = field(default_factory=Counter)


def _scan_leads(sql: DialectSql, conditions, low: datetime, now: datetime) -> tuple[_Mix, _Held]:
    """One pass over the range's leads joined to their assignments (a row per assignment, or per lead).

    Everything but the time buckets and the calls comes from this pass: the counts by
    source, region, urgency, status and SLA state; speed to lead (overall, per urgency, and
    per advisor holding the lead at first contact); created → first assignment;
    reassignments; who held which lead; each current owner's open and overdue leads. Rows
    are read straight from the connection and each lead's categorical columns are counted
    as one tuple key, so Python does one dictionary update per lead.
    """
    holder = and_(
        Assignment.started_at <= Lead.first_contact_at,
        or_(Assignment.ended_at.is_(None), Assignment.ended_at > Lead.first_contact_at),
    )
    overdue = and_(Lead.first_contact_at.is_(None), Lead.sla_due_at < now)
    query = (
        select(
            Lead.id,
            Lead.source,
            Lead.region,
            Lead.urgency,
            Lead.status,
            Lead.closed_reason,
            sla_state_of(now),
            case((Lead.escalated_at.is_not(None), 1), else_=0),
            sql.seconds_between(Lead.first_contact_at, Lead.created_at),
            Lead.owner_id,
            case((Lead.is_open.is_(True), 1), else_=0),
            case((overdue, 1), else_=0),
            Assignment.advisor_id,
            Assignment.kind,
            sql.seconds_between(Assignment.started_at, Lead.created_at),
            case((holder, 1), else_=0),
        )
        # An assignment never starts before its lead exists: the bound on started_at lets
        # PostgreSQL read only this range's assignments (ix_assignments_started) when the
        # range is recent, or probe ix_assignments_lead_started per lead when it is not.
        .outerjoin(Assignment, and_(Assignment.lead_id == Lead.id, Assignment.started_at >= low))
        .where(*conditions)
    )
    held = _Held()
    kinds: Counter = Counter()
    seen: set[int] = set()
    first: dict[int, float] = {}
    contacted: dict[int, tuple[str, float, str]] = {}
    holders: dict[int, int] = {}
    for row in _rows(query):
        lead_id, advisor = row[0], row[12]
        if lead_id not in seen:
            seen.add(lead_id)
            kinds[row[1:8]] += 1  # source, region, urgency, status, closed reason, SLA, escalated
            speed, owner = row[8], row[9]
            if speed is not None:
                contacted[lead_id] = (row[3], speed if speed > 0 else 0.0, row[6])
            if owner is not None:
                held.open_by_owner[owner] += row[10]
                held.overdue_by_owner[owner] += row[11]
        if advisor is None:
            continue
        held.leads_by_advisor[advisor].add(lead_id)
        if row[13] == "reassigned":
            held.reassignments += 1
        if row[14] < first.get(lead_id, math.inf):
            first[lead_id] = row[14]
        if row[15]:
            holders[lead_id] = advisor
    for lead_id, (urgency, speed, sla) in contacted.items():
        held.speeds.append(speed)
        held.speeds_by_urgency[urgency].append(speed)
        advisor = holders.get(lead_id)
        if advisor is not None:
            held.speeds_by_advisor[advisor].append(speed)
            held.sla_by_advisor[advisor][sla] += 1
    held.first_assignment = sorted(max(0.0, float(value)) for value in first.values())
    for values in (held.speeds, *held.speeds_by_urgency.values(), *held.speeds_by_advisor.values()):
        values.sort()
    return _count_kinds(kinds), held


def _count_kinds(kinds: Counter) -> _Mix:
    mix = _Mix()
    for (source, region, urgency, status, closed_reason, sla, escalated), n in kinds.items():
        mix.total += n
        mix.by_source[source] += n
        mix.by_region[region or UNKNOWN_REGION] += n
        mix.by_urgency[urgency] += n
        mix.sla[sla] += n
        mix.escalations += n if escalated else 0
        for stage, reached in _AT_OR_PAST.items():
            if status in reached:
                mix.funnel[stage] += n
        if status == "closed":
            mix.closed_by_reason[closed_reason or "unspecified"] += n
    return mix


# --- PostgreSQL: the aggregation happens in the database ---------------------------


def _aggregate_in_postgres(
    sql: DialectSql, conditions, low: datetime, now: datetime
) -> tuple[_Mix, _Summary, list[tuple[int, int]]]:
    """The same numbers as _scan_leads + _summarise + the time buckets, in three grouped statements.

    Only a few hundred rows leave the database instead of one per lead and assignment:
    the counts come from one hashed pass with GROUPING SETS, and every percentile from
    PostgreSQL's percentile_cont over the same float8 seconds the portable path sorts
    (same interpolation, so the same numbers). The report's lead columns are all in
    ix_leads_created_at (INCLUDE) and the assignment columns in ix_assignments_started /
    ix_assignments_lead_started, so a vacuumed range is read index-only.
    """
    # work_mem: the sorts and hashes of 100k rows stay in memory; JIT compilation would
    # cost more than these queries take. Both last until the end of the transaction.
    db.session.execute(text("SET LOCAL work_mem = '32MB'"))
    db.session.execute(text("SET LOCAL jit = off"))
    # A parallel plan ships the 100k joined rows through a Gather to re-aggregate them: on a
    # busy server the extra processes cost more than they save.
    db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    mix, open_by_owner, overdue_by_owner, buckets = _pg_counts(sql, conditions, now)
    speed, speed_by_urgency, distribution = _pg_speeds(sql, conditions)
    latency, reassignments, advisors = _pg_assignments(sql, conditions, low, now)
    summary = _Summary(
        speed=speed,
        speed_by_urgency=speed_by_urgency,
        distribution=distribution,
        latency=latency,
        reassignments=reassignments,
        advisors=advisors,
        open_by_owner=open_by_owner,
        overdue_by_owner=overdue_by_owner,
    )
    return mix, summary, buckets


def _pg_counts(sql: DialectSql, conditions, now: datetime):
    """The lead mix, each owner's open and overdue leads, and leads per UTC quarter hour: one pass."""
    overdue = and_(Lead.first_contact_at.is_(None), Lead.sla_due_at < now)
    leads = (
        select(
            Lead.source,
            Lead.region,
            Lead.urgency,
            Lead.status,
            Lead.closed_reason,
            sla_state_of(now).label("sla"),
            Lead.escalated_at.is_not(None).label("escalated"),
            Lead.owner_id,
            case((Lead.is_open.is_(True), 1), else_=0).label("open"),
            case((overdue, 1), else_=0).label("overdue"),
            # The quarter hour's start (integer arithmetic, unlike numeric EXTRACT(epoch)).
            func.date_bin(text("interval '15 minutes'"), Lead.created_at, _EPOCH).label("bucket"),
        )
        .where(*conditions)
        .subquery("l")
    )
    c = leads.c
    kind_key = (c.source, c.region, c.urgency, c.status, c.closed_reason, c.sla, c.escalated)
    query = select(
        func.grouping(c.owner_id, c.bucket),
        *kind_key,
        c.owner_id,
        c.bucket,
        func.count(),
        func.sum(c.open),
        func.sum(c.overdue),
    ).group_by(func.grouping_sets(tuple_(*kind_key), tuple_(c.owner_id), tuple_(c.bucket)))
    kinds: Counter = Counter()
    open_by_owner: Counter = Counter()
    overdue_by_owner: Counter = Counter()
    buckets: list[tuple[int, int]] = []
    for row in _rows(query):
        grouping, n = row[0], row[10]
        if grouping == 3:  # the lead's categorical columns
            kinds[row[1:8]] += n
        elif grouping == 1 and row[8] is not None:  # its current owner
            open_by_owner[row[8]] += int(row[11])
            overdue_by_owner[row[8]] += int(row[12])
        elif grouping == 2:  # its quarter hour
            buckets.append((int(row[9].timestamp()) // _BUCKET_SECONDS, n))
    return _count_kinds(kinds), open_by_owner, overdue_by_owner, buckets


def _pg_speeds(sql: DialectSql, conditions):
    """Speed to lead p50/p90 overall and per urgency, and its histogram: one pass over contacted leads."""
    contacted = (
        select(
            Lead.urgency,
            func.greatest(sql.seconds_between(Lead.first_contact_at, Lead.created_at), 0.0).label("s"),
        )
        .where(*conditions, Lead.first_contact_at.is_not(None))
        # OFFSET 0 keeps the subquery from being inlined, so the seconds are computed once
        # per lead rather than once per aggregate that reads them.
        .offset(0)
        .subquery("c")
    )
    speed = contacted.c.s
    columns = [_pg_percentiles(speed, (0.5, 0.9)), func.count(speed)]
    for urgency in URGENCIES:
        # percentile_cont and count skip NULLs: CASE keeps one urgency's speeds.
        only = case((contacted.c.urgency == urgency, speed))
        columns += [_pg_percentiles(only, (0.5, 0.9)), func.count(only)]
    lower = 0.0
    for upper, _label in SPEED_BUCKETS:
        inside = speed >= lower if upper is None else and_(speed >= lower, speed < float(upper))
        columns.append(func.count(case((inside, 1))))
        lower = float(upper or 0)
    row = _rows(select(*columns))[0]
    values = list(row)
    overall, values = _percentile_dict(*values[:2], (0.5, 0.9)), values[2:]
    by_urgency = {}
    for urgency in URGENCIES:
        by_urgency[urgency], values = _percentile_dict(*values[:2], (0.5, 0.9)), values[2:]
    return overall, by_urgency, _histogram_rows(values)


def _pg_assignments(sql: DialectSql, conditions, low: datetime, now: datetime):
    """First-assignment latency, reassignments and the per-advisor figures: one statement.

    `j` is the range's assignments joined to their leads (narrow: what the join itself
    decides), `lead` one row per lead with assignments; three grouped selects over them
    come back as a UNION of a few dozen rows. The seconds are computed once per lead.
    """
    holds = and_(
        Assignment.started_at <= Lead.first_contact_at,
        or_(Assignment.ended_at.is_(None), Assignment.ended_at > Lead.first_contact_at),
    )
    joined = (
        select(
            Assignment.lead_id,
            Assignment.advisor_id,
            Assignment.started_at,
            case((Assignment.kind == "reassigned", 1), else_=0).label("re"),
            case((holds, Assignment.advisor_id)).label("holder"),
            Lead.created_at,
            Lead.first_contact_at,
            Lead.sla_due_at,
        )
        # As in _scan_leads: an assignment never starts before its lead exists.
        .join(Assignment, and_(Assignment.lead_id == Lead.id, Assignment.started_at >= low))
        .where(*conditions)
        .cte("j")
        .prefix_with("MATERIALIZED")
    )
    j = joined.c
    per_lead = (
        select(
            func.min(j.started_at).label("first_at"),
            func.sum(j.re).label("re"),
            # Who held the lead at its first contact (one advisor unless periods overlap).
            func.max(j.holder).label("holder"),
            func.min(j.created_at).label("created_at"),
            func.min(j.first_contact_at).label("first_contact_at"),
            func.min(j.sla_due_at).label("sla_due_at"),
        )
        .group_by(j.lead_id)
        .cte("lead")
        .prefix_with("MATERIALIZED")
    )
    lead = per_lead.c
    none_p, none_i = cast(null(), postgresql.ARRAY(Float)), cast(null(), Integer)
    totals = select(
        literal_column("0").label("part"),
        none_i.label("advisor_id"),
        _pg_percentiles(func.greatest(sql.seconds_between(lead.first_at, lead.created_at), 0.0), (0.5, 0.99)),
        func.count().label("n"),
        cast(func.coalesce(func.sum(lead.re), 0), Integer).label("a"),
        none_i.label("b"),
    ).select_from(per_lead)
    held = select(
        literal_column("1"), j.advisor_id, none_p, func.count(j.lead_id.distinct()), none_i, none_i
    ).group_by(j.advisor_id)
    # A holder exists only for contacted leads; sla_state_of's 'met' and 'missed' for them.
    has_due = lead.sla_due_at.is_not(None)
    contacts = (
        select(
            literal_column("2"),
            lead.holder,
            _pg_percentiles(
                func.greatest(sql.seconds_between(lead.first_contact_at, lead.created_at), 0.0), (0.5,)
            ),
            func.count(),
            cast(func.count(case((and_(has_due, lead.first_contact_at <= lead.sla_due_at), 1))), Integer),
            cast(func.count(case((and_(has_due, lead.first_contact_at > lead.sla_due_at), 1))), Integer),
        )
        .where(lead.holder.is_not(None), lead.first_contact_at.is_not(None))
        .group_by(lead.holder)
    )
    advisors: dict[int, _AdvisorFigures] = {}
    latency_figures, reassignments = _percentile_dict(None, 0, (0.5, 0.99)), 0
    for part, advisor_id, p, n, a, b in _rows(union_all(totals, held, contacts)):
        if part == 0:
            latency_figures = _percentile_dict(p, n, (0.5, 0.99))
            reassignments = int(a)
        elif part == 1:
            advisors.setdefault(advisor_id, _AdvisorFigures()).assigned = n
        else:
            figures = advisors.setdefault(advisor_id, _AdvisorFigures())
            figures.contacted, figures.median_speed, figures.met, figures.missed = n, p[0], a, b
    return latency_figures, reassignments, advisors


def _pg_percentiles(values: ColumnElement, fractions: Sequence[float]) -> ColumnElement:
    """percentile_cont(ARRAY[…]) WITHIN GROUP (ORDER BY values): every fraction from one sort."""
    return func.percentile_cont(postgresql.array([float(f) for f in fractions])).within_group(values)


def _percentile_dict(values, count, fractions: Sequence[float]) -> dict:
    """{'p50': …, 'p90': …, 'count': n} from the database's array of percentiles (NULL when empty)."""
    values = values or [None] * len(fractions)
    result = {f"p{round(f * 100)}": _round(value) for f, value in zip(fractions, values, strict=True)}
    result["count"] = int(count)
    return result


def _calls(filters: ReportFilters, low: datetime, high: datetime) -> dict[str, int]:
    """Calls that started in the range, by outcome (only calls on matching leads when filtered)."""
    query = (
        select(Call.outcome, func.count())
        .where(Call.started_at >= low, Call.started_at < high, Call.outcome.in_(CALL_OUTCOMES))
        .group_by(Call.outcome)
    )
    matching = filter_conditions(filters)
    if matching:
        # The lead's own creation date does not matter here: the call's does.
        query = query.join(Lead, Lead.id == Call.lead_id).where(*matching)
    counts = dict(db.session.execute(query).all())
    return {outcome: int(counts.get(outcome, 0)) for outcome in CALL_OUTCOMES}


@dataclass
class _AdvisorFigures:
    """One advisor's numbers before names and percentages: see the module docstring."""

    assigned: int = 0
    contacted: int = 0
    median_speed: float | None = None
    met: int = 0  # leads contacted in time while theirs
    missed: int = 0  # leads contacted late while theirs


@dataclass
class _Summary:
    """The report's assignment and speed figures, the same whichever path computed them."""

    speed: dict
    speed_by_urgency: dict[str, dict]
    distribution: list[dict]
    latency: dict
    reassignments: int
    advisors: dict[int, _AdvisorFigures]
    open_by_owner: Counter
    overdue_by_owner: Counter


def _summarise(held: _Held) -> _Summary:
    """The figures from the per-lead values the portable path collected (sorted lists)."""
    advisors = {
        advisor_id: _AdvisorFigures(
            assigned=len(leads),
            contacted=len(held.speeds_by_advisor.get(advisor_id, [])),
            median_speed=percentile(held.speeds_by_advisor.get(advisor_id, []), 0.5),
            met=held.sla_by_advisor.get(advisor_id, Counter())["met"],
            missed=held.sla_by_advisor.get(advisor_id, Counter())["missed"],
        )
        for advisor_id, leads in held.leads_by_advisor.items()
    }
    return _Summary(
        speed=_percentiles(held.speeds, (0.5, 0.9)),
        speed_by_urgency={
            urgency: _percentiles(values, (0.5, 0.9)) for urgency, values in held.speeds_by_urgency.items()
        },
        distribution=_histogram(held.speeds),
        latency=_percentiles(held.first_assignment, (0.5, 0.99)),
        reassignments=held.reassignments,
        advisors=advisors,
        open_by_owner=held.open_by_owner,
        overdue_by_owner=held.overdue_by_owner,
    )


def _advisor_rows(filters: ReportFilters, mix: _Mix, held: _Summary) -> list[dict]:
    ids = [advisor_id for advisor_id in held.advisors if filters.advisor_id in (None, advisor_id)]
    names = dict(db.session.execute(select(Advisor.id, Advisor.name).where(Advisor.id.in_(ids))).all())
    rows = []
    for advisor_id in ids:
        figures = held.advisors[advisor_id]
        met, missed = figures.met, figures.missed + held.overdue_by_owner[advisor_id]
        rows.append(
            {
                "id": advisor_id,
                "name": names.get(advisor_id, f"Advisor {advisor_id}"),
                "assigned": figures.assigned,
                "contacted": figures.contacted,
                "open": held.open_by_owner[advisor_id],
                "median_speed_to_lead_seconds": _round(figures.median_speed),
                "sla_met_pct": _pct(met, met + missed),
            }
        )
    return sorted(rows, key=lambda row: (-row["assigned"], row["name"], row["id"]))


# --- shaping ----------------------------------------------------------------------


def _ordered(counts: Counter, keys: Iterable[str]) -> dict[str, int]:
    """Every known key in its usual order (zeros included), then any unexpected one."""
    ordered = {key: counts.get(key, 0) for key in keys}
    ordered.update({key: value for key, value in counts.items() if key not in ordered})
    return ordered


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _percentiles(sorted_values: Sequence[float], fractions: Sequence[float]) -> dict:
    result = {f"p{round(f * 100)}": _round(percentile(sorted_values, f)) for f in fractions}
    result["count"] = len(sorted_values)
    return result


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 1)


def _histogram(sorted_values: Sequence[float]) -> list[dict]:
    """Counts of speed to lead per bucket of SPEED_BUCKETS."""
    rows, lower_index = [], 0
    for upper, label in SPEED_BUCKETS:
        upper_index = len(sorted_values) if upper is None else bisect.bisect_left(sorted_values, upper)
        rows.append({"label": label, "upto_seconds": upper, "count": upper_index - lower_index})
        lower_index = upper_index
    return rows


def _histogram_rows(counts: Sequence[int]) -> list[dict]:
    """The histogram's rows from one count per bucket of SPEED_BUCKETS (counted by the database)."""
    return [
        {"label": label, "upto_seconds": upper, "count": int(count)}
        for (upper, label), count in zip(SPEED_BUCKETS, counts, strict=True)
    ]
