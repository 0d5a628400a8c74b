"""The routing report: what happened to the leads created in a date range, computed in SQL.

Definitions managers read the numbers by:

- The range is the leads *created* between `start` 00:00 and the end of `end`, both dates
  in REPORT_TIMEZONE. Every lead number below is about that cohort, as it stands now.
- Speed to lead: created → first contact (the first call attempt or status move to
  contacted). Percentiles interpolate linearly between the two nearest values (as
  PostgreSQL's percentile_cont does).
- SLA: *met* = first contact at or before the time promised to the person (stored at
  intake, never moved; older leads: their due time); *missed* = contacted after it, or not
  contacted while it has passed (closed leads included); *pending* = not contacted and not
  yet due, or never given a due time. Pending
  leads are left out of `sla_met_pct` = met / (met + missed).
- Assignment latency: created → the lead's first assignment to an advisor.
- Reassignments: assignments of kind `reassigned` (SLA sweeps and managers) on these
  leads. Escalations: leads escalated to managers.
- Calls: inbound calls that *started* (reached the line) in the range, whatever their lead's
  creation date; with a region, source, urgency or advisor filter, only calls on a lead that
  matches it. `answered` = an advisor accepted it; `voicemail` = sent to voicemail or a call
  back; `service_level_20s` = answered within 20 s of reaching the line / inbound;
  `average_speed_of_answer_seconds` over the answered calls; `abandonment_rate` = abandoned /
  inbound; `offers_per_answered_call` = advisors rung for the answered calls / answered. Rates are
  null when there is nothing to divide by. The same figures per local hour of day and per
  region of the caller's lead (a call with no lead counts as "unknown").
- Funnel, by each lead's current status: `contacted`, `assessment`, `referred`,
  `admitted` = at that stage or a later one; `closed` with its reasons. A closed lead
  counts as closed only (the stage it was closed from is not kept on the lead).
- Advisors: everyone who held one of these leads. `assigned` = leads they held at some
  point; `contacted` = leads whose first contact happened while they held them (their
  median speed to lead is over those); `open` = open leads they own now; their SLA % is
  over the leads contacted while theirs plus uncontacted overdue leads they own now.
- The `advisor` filter keeps the leads that advisor held at some point.

How it stays fast: the leads are folded into a `Partial` (partials.py) of counts and
exact durations; the workers store one per UTC hour and filter (rollups.py), so a report
merges stored hours and folds live only the hours changed since the last refresh and the
ends of its range. Percentiles are exact, from the sorted durations. Reports with two or
more filters, or with `rollups=False`, fold the range's leads directly (scan.py); both
ways give the same numbers (tests/reports/test_rollups.py).
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain
from zoneinfo import ZoneInfo

from sqlalchemy import select

from leadrouter.extensions import db
from leadrouter.models import LEAD_SOURCES, Advisor, utcnow
from leadrouter.reports import rollups
from leadrouter.reports.partials import (  # noqa: F401  (UNKNOWN_REGION: for the views)
    QUARTER_HOUR_SECONDS,
    UNKNOWN_REGION,
    Partial,
)
from leadrouter.reports.scan import ReportFilters, call_partial, lead_conditions, scan
from leadrouter.routing.call_tally import CallTally
from leadrouter.routing.vocabulary import URGENCIES

MAX_RANGE_DAYS = 366
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


def routing_report(
    filters: ReportFilters, timezone: str = "UTC", now: datetime | None = None, *, use_rollups: bool = True
) -> dict:
    """Compute every number of the routing report for the filters (JSON-ready)."""
    now = now or utcnow()
    low, high = range_bounds(filters.start, filters.end, timezone)
    partial = rollups.range_partial(filters, low, high, now) if use_rollups else None
    if partial is None:
        partial = scan(lead_conditions(filters, low, high), low, now, filters.advisor_id)
        partial.merge(call_partial(filters, [(low, high)]))
    sla = partial.count("sla")
    speeds = {urgency: sorted(values) for urgency, values in partial.speeds.items()}
    # Each urgency's list is sorted already: the sort of their concatenation only merges runs.
    every_speed = sorted(chain.from_iterable(speeds.values()))
    none_yet = _percentiles([], (0.5, 0.9))
    by_region = partial.count("region")
    return {
        "start": filters.start.isoformat(),
        "end": filters.end.isoformat(),
        "timezone": timezone,
        "filters": filters.as_dict(),
        "generated_at": now.isoformat(),
        "leads": sum(partial.count("source").values()),
        "by_source": _ordered(partial.count("source"), LEAD_SOURCES),
        "by_region": dict(sorted(by_region.items(), key=lambda item: (-item[1], item[0]))),
        "by_urgency": _ordered(partial.count("urgency"), URGENCIES),
        **_days_and_hours(partial.quarters.items(), filters, timezone),
        "speed_to_lead_seconds": _percentiles(every_speed, (0.5, 0.9)),
        "speed_to_lead_by_urgency": {
            urgency: _percentiles(speeds[urgency], (0.5, 0.9)) if speeds.get(urgency) else none_yet
            for urgency in URGENCIES
        },
        "speed_to_lead_distribution": _histogram(every_speed),
        "sla": {"met": sla["met"], "missed": sla["missed"], "pending": sla["pending"]},
        "sla_met_pct": _pct(sla["met"], sla["met"] + sla["missed"]),
        "assignment_latency_seconds": _percentiles(sorted(partial.first_assignment), (0.5, 0.99)),
        "reassignments": partial.reassignments,
        "escalations": partial.counts["escalated:"],
        "calls": _call_figures(partial, timezone),
        "funnel": _funnel(partial),
        "advisors": _advisor_rows(filters, partial),
    }


def _call_figures(partial: Partial, timezone: str) -> dict:
    """The call figures of the range, then per local hour of day and per region of the caller's lead."""
    zone = ZoneInfo(timezone)
    hours = {f"{hour:02d}": CallTally() for hour in range(24)}
    for quarter, tally in partial.call_quarters.items():
        hours[f"{datetime.fromtimestamp(quarter * QUARTER_HOUR_SECONDS, zone).hour:02d}"].merge(tally)
    regions = sorted(partial.call_regions.items(), key=lambda item: (-item[1].inbound, item[0]))
    return {
        **partial.calls().figures().to_dict(),
        "by_hour": {hour: tally.figures().to_dict() for hour, tally in hours.items()},
        "by_region": {region: tally.figures().to_dict() for region, tally in regions},
    }


def _funnel(partial: Partial) -> dict:
    statuses = partial.count("status")
    funnel = {stage: sum(statuses[status] for status in reached) for stage, reached in _AT_OR_PAST.items()}
    closed = partial.count("closed")
    funnel["closed_by_reason"] = dict(sorted(closed.items(), key=lambda item: -item[1]))
    return funnel


def _days_and_hours(counts: Iterable[tuple[int, int]], filters: ReportFilters, timezone: str) -> dict:
    """Leads per local day and per local hour of day, from (UTC quarter hour, leads) pairs."""
    zone = ZoneInfo(timezone)
    days = {
        (filters.start + timedelta(days=offset)).isoformat(): 0
        for offset in range((filters.end - filters.start).days + 1)
    }
    hours = {f"{hour:02d}": 0 for hour in range(24)}
    for bucket, n in counts:
        local = datetime.fromtimestamp(bucket * QUARTER_HOUR_SECONDS, zone)
        days[local.date().isoformat()] = days.get(local.date().isoformat(), 0) + n
        hours[f"{local.hour:02d}"] += n
    return {"by_day": days, "by_hour": hours}


def _advisor_rows(filters: ReportFilters, partial: Partial) -> list[dict]:
    ids = [advisor_id for advisor_id in partial.advisors if filters.advisor_id in (None, advisor_id)]
    names = dict(db.session.execute(select(Advisor.id, Advisor.name).where(Advisor.id.in_(ids))).all())
    rows = []
    for advisor_id in ids:
        figures = partial.advisors[advisor_id]
        met, missed = figures.met, figures.missed + partial.overdue_by_owner[advisor_id]
        rows.append(
            {
                "id": advisor_id,
                "name": names.get(advisor_id, f"Advisor {advisor_id}"),
                "assigned": figures.assigned,
                "contacted": len(figures.speeds),
                "open": partial.open_by_owner[advisor_id],
                "median_speed_to_lead_seconds": _round(percentile(sorted(figures.speeds), 0.5)),
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
