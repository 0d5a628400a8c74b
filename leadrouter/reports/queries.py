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

Each number is one grouped query over the range, served by the created_at indexes; the
percentiles fetch just the durations column (a 30-day range is tens of thousands of
numbers) so one portable code path serves SQLite and PostgreSQL.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Integer, and_, case, cast, exists, func, or_, select
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

    mix = _status_mix(conditions, now)
    speeds = _speed_to_lead(sql, conditions, now)
    held = _held_by_advisor(conditions)
    owned = _owned_by_advisor(conditions, now)

    report = {
        "start": filters.start.isoformat(),
        "end": filters.end.isoformat(),
        "timezone": timezone,
        "filters": filters.as_dict(),
        "generated_at": now.isoformat(),
        "leads": mix.total,
        "by_source": _ordered(mix.by_source, LEAD_SOURCES),
        "by_region": dict(sorted(mix.by_region.items(), key=lambda item: (-item[1], item[0]))),
        "by_urgency": _ordered(mix.by_urgency, URGENCIES),
        **_by_day_and_hour(sql, conditions, filters, timezone),
        "speed_to_lead_seconds": _percentiles(speeds.all, (0.5, 0.9)),
        "speed_to_lead_by_urgency": {
            urgency: _percentiles(speeds.by_urgency.get(urgency, []), (0.5, 0.9)) for urgency in URGENCIES
        },
        "speed_to_lead_distribution": _histogram(speeds.all),
        "sla": {"met": mix.sla["met"], "missed": mix.sla["missed"], "pending": mix.sla["pending"]},
        "sla_met_pct": _pct(mix.sla["met"], mix.sla["met"] + mix.sla["missed"]),
        "assignment_latency_seconds": _percentiles(_assignment_latencies(sql, conditions), (0.5, 0.99)),
        "reassignments": sum(row.reassigned for row in held.values()),
        "escalations": mix.escalations,
        "calls": _calls(filters, low, high),
        "funnel": {
            **{stage: mix.funnel[stage] for stage in FUNNEL_STAGES},
            "closed_by_reason": dict(sorted(mix.closed_by_reason.items(), key=lambda item: -item[1])),
        },
        "advisors": _advisor_rows(filters, held, owned, speeds),
    }
    return report


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
    contacted = Lead.first_contact_at.is_not(None)
    return case(
        (and_(contacted, Lead.sla_due_at.is_not(None), Lead.first_contact_at <= Lead.sla_due_at), "met"),
        (and_(contacted, Lead.sla_due_at.is_not(None)), "missed"),
        (and_(Lead.first_contact_at.is_(None), Lead.sla_due_at < now), "missed"),
        else_="pending",
    )


@dataclass
class _Mix:
    total: int
    by_source: Counter
    by_region: Counter
    by_urgency: Counter
    sla: Counter
    escalations: int
    funnel: Counter
    closed_by_reason: Counter


def _status_mix(conditions, now: datetime) -> _Mix:
    """One grouped scan gives the counts by source, region, urgency, status, SLA and escalation."""
    sla_state = sla_state_of(now).label("sla_state")
    escalated = case((Lead.escalated_at.is_not(None), 1), else_=0).label("escalated")
    columns = (Lead.source, Lead.region, Lead.urgency, Lead.status, Lead.closed_reason)
    query = (
        select(*columns, sla_state, escalated, func.count().label("n"))
        .where(*conditions)
        .group_by(*columns, sla_state, escalated)
    )
    mix = _Mix(0, Counter(), Counter(), Counter(), Counter(), 0, Counter(), Counter())
    for row in db.session.execute(query):
        mix.total += row.n
        mix.by_source[row.source] += row.n
        mix.by_region[row.region or UNKNOWN_REGION] += row.n
        mix.by_urgency[row.urgency] += row.n
        mix.sla[row.sla_state] += row.n
        mix.escalations += row.n if row.escalated else 0
        for stage, statuses in _AT_OR_PAST.items():
            if row.status in statuses:
                mix.funnel[stage] += row.n
        if row.status == "closed":
            mix.closed_by_reason[row.closed_reason or "unspecified"] += row.n
    return mix


def _by_day_and_hour(sql: DialectSql, conditions, filters: ReportFilters, timezone: str) -> dict:
    """Leads per local day and per local hour of day, from counts per UTC quarter hour."""
    bucket = sql.quarter_hour(Lead.created_at).label("bucket")
    query = select(bucket, func.count().label("n")).where(*conditions).group_by(bucket)
    zone = ZoneInfo(timezone)
    days = {
        (filters.start + timedelta(days=offset)).isoformat(): 0
        for offset in range((filters.end - filters.start).days + 1)
    }
    hours = {f"{hour:02d}": 0 for hour in range(24)}
    for row in db.session.execute(query):
        local = datetime.fromtimestamp(row.bucket * _BUCKET_SECONDS, zone)
        days[local.date().isoformat()] = days.get(local.date().isoformat(), 0) + row.n
        hours[f"{local.hour:02d}"] += row.n
    return {"by_day": days, "by_hour": hours}


@dataclass
class _Speeds:
    all: list[float]
    by_urgency: dict[str, list[float]]
    by_advisor: dict[int, list[float]]
    sla_by_advisor: dict[int, Counter]


def _speed_to_lead(sql: DialectSql, conditions, now: datetime) -> _Speeds:
    """Created → first contact for every contacted lead, with who held the lead at that moment."""
    seconds = sql.seconds_between(Lead.first_contact_at, Lead.created_at).label("seconds")
    holder = and_(
        Assignment.lead_id == Lead.id,
        Assignment.started_at <= Lead.first_contact_at,
        or_(Assignment.ended_at.is_(None), Assignment.ended_at > Lead.first_contact_at),
    )
    query = (
        select(Lead.urgency, seconds, Assignment.advisor_id, sla_state_of(now).label("sla_state"))
        .outerjoin(Assignment, holder)
        .where(*conditions, Lead.first_contact_at.is_not(None))
    )
    speeds = _Speeds([], defaultdict(list), defaultdict(list), defaultdict(Counter))
    for urgency, value, advisor_id, sla_state in db.session.execute(query):
        value = max(0.0, float(value))
        speeds.all.append(value)
        speeds.by_urgency[urgency].append(value)
        if advisor_id is not None:
            speeds.by_advisor[advisor_id].append(value)
            speeds.sla_by_advisor[advisor_id][sla_state] += 1
    speeds.all.sort()
    for values in (*speeds.by_urgency.values(), *speeds.by_advisor.values()):
        values.sort()
    return speeds


def _assignment_latencies(sql: DialectSql, conditions) -> list[float]:
    """Created → first assignment, per assigned lead, sorted."""
    query = (
        select(sql.seconds_between(func.min(Assignment.started_at), Lead.created_at))
        .join(Assignment, Assignment.lead_id == Lead.id)
        .where(*conditions)
        .group_by(Lead.id, Lead.created_at)
    )
    return sorted(max(0.0, float(value)) for value in db.session.scalars(query))


@dataclass
class _Held:
    leads: int
    reassigned: int


def _held_by_advisor(conditions) -> dict[int, _Held]:
    """Per advisor: how many of the leads they held, and how many reached them by reassignment."""
    reassigned = func.sum(case((Assignment.kind == "reassigned", 1), else_=0))
    query = (
        select(Assignment.advisor_id, func.count(func.distinct(Assignment.lead_id)), reassigned)
        .join(Lead, Lead.id == Assignment.lead_id)
        .where(*conditions)
        .group_by(Assignment.advisor_id)
    )
    rows = db.session.execute(query)
    return {advisor_id: _Held(leads, int(moved or 0)) for advisor_id, leads, moved in rows}


def _owned_by_advisor(conditions, now: datetime) -> dict[int, Counter]:
    """Per current owner: open leads, and uncontacted leads whose due time has passed."""
    overdue = and_(Lead.first_contact_at.is_(None), Lead.sla_due_at < now)
    query = (
        select(
            Lead.owner_id,
            func.sum(case((Lead.is_open.is_(True), 1), else_=0)),
            func.sum(case((overdue, 1), else_=0)),
        )
        .where(*conditions, Lead.owner_id.is_not(None))
        .group_by(Lead.owner_id)
    )
    return {
        owner_id: Counter(open=int(open_ or 0), overdue=int(late or 0))
        for owner_id, open_, late in db.session.execute(query)
    }


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


def _advisor_rows(
    filters: ReportFilters, held: dict[int, _Held], owned: dict[int, Counter], speeds: _Speeds
) -> list[dict]:
    ids = [advisor_id for advisor_id in held if filters.advisor_id in (None, advisor_id)]
    names = dict(db.session.execute(select(Advisor.id, Advisor.name).where(Advisor.id.in_(ids))).all())
    rows = []
    for advisor_id in ids:
        contacted = speeds.by_advisor.get(advisor_id, [])
        sla = speeds.sla_by_advisor.get(advisor_id, Counter())
        met = sla["met"]
        missed = sla["missed"] + owned.get(advisor_id, Counter())["overdue"]
        rows.append(
            {
                "id": advisor_id,
                "name": names.get(advisor_id, f"Advisor {advisor_id}"),
                "assigned": held[advisor_id].leads,
                "contacted": len(contacted),
                "open": owned.get(advisor_id, Counter())["open"],
                "median_speed_to_lead_seconds": _round(percentile(contacted, 0.5)),
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
