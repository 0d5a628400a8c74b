"""Report rollups: each UTC hour's partials, stored by the workers and read by the report.

Why: a 30-day report at a million leads folds ~90,000 leads and their assignments; read
from stored partials it merges about 30 day partials and a few dozen hour partials.

How it stays exact:

- `refresh` (the `reports.refresh_rollups` task, every 30 s) recomputes every hour with a
  lead changed since the last refresh (`leads.updated_at`: every change that moves a
  report number writes the lead row: status, owner, first contact, SLA, escalation,
  anonymisation, and any assignment written or ended, which touches its lead even when
  no column of the lead changes, see models/routing.py) and every hour whose partial has
  gone stale (a pending lead came due).
  Then it moves `covered_until` to the wall clock at its start, less MARGIN, so a
  transaction that wrote a lead just before the refresh but committed after it is caught
  by the next one. The hour under way is not stored until it is over (`filled_until`):
  every new lead would change it, and reports fold it live anyway.
- A report merges the stored partials of the whole hours inside its range and computes
  live, from the leads themselves, the hours it cannot trust: changed since
  `covered_until`, stale for its `now`, or never computed, plus the partial hours at the
  ends of its range (a time zone whose midnight is not on a UTC hour). The result equals
  a fold of every lead in the range, at any moment (tests/reports/test_rollups.py).
- One stored partial per hour answers the unfiltered report, one per region, source,
  urgency and advisor answers a report with that one filter; two or more filters read the
  leads (a smaller set). Each UTC day also has the merge of its hours (span 24) for every
  scope but the advisors' (small enough per hour), used when all 24 hours are trusted.

`rebuild` recomputes every hour (after a bulk load such as bench/generate_data.py, or if
the rollups are ever in doubt): `flask --app leadrouter rebuild-report-rollups`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, or_, select, text, union_all, update

from leadrouter.database import is_postgres
from leadrouter.extensions import db
from leadrouter.models import Call, Lead, ReportHour, ReportPartial, ReportRollupState, utcnow
from leadrouter.reports.partials import SCOPE_ALL, Partial, hour_of, scope_for
from leadrouter.reports.scan import (
    ReportFilters,
    call_partial,
    created_between,
    filter_conditions,
    hourly_partials,
    scan,
)

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
DAY_SPAN = 24
# Longer than any transaction that writes a lead takes from its write to its commit.
MARGIN = timedelta(minutes=2)
# The stored partials' format is part of the state's name: after an upgrade that changes it
# (2: the call figures; 3: offers counted on the answered calls only), no state is found, so
# reports fold the leads until the first refresh has rebuilt every hour in the new format.
STATE = "routing.v3"
# Serialises refreshes on PostgreSQL (two workers recomputing one hour would collide).
_LOCK_KEY = 0x6C72_7270  # "lrrp"


def refresh(now: datetime | None = None, *, commit: Callable[[], None] | None = None) -> int:
    """Recompute the hours changed or gone stale since the last refresh; returns how many.

    `commit` is called after each batch of hours (the task commits; tests do not).
    """
    wall = utcnow()
    now = now or wall
    state = db.session.get(ReportRollupState, STATE)
    if state is None:
        return rebuild(now, commit=commit)
    current = hour_of(wall)
    # The hour under way is never stored (reports fold it live): it changes with every new
    # lead. Each hour is stored once it is over, and again whenever its leads change.
    changed = {hour for hour in _changed_hours(since=state.covered_until) if hour < current}
    stale = db.session.scalars(select(ReportHour.hour).where(ReportHour.stale_at < now)).all()
    ended = set(_hours_between(hour_of(state.filled_until), current))
    hours = changed | set(stale) | ended
    _recompute(sorted(hours), now, wall, commit)
    _advance(wall - MARGIN, max(state.filled_until, current))
    if commit:
        commit()
    if hours:
        log.info(
            "report rollups: %d hours recomputed (%d changed, %d stale, %d ended)",
            len(hours),
            len(changed),
            len(stale),
            len(ended),
        )
    return len(hours)


def rebuild(now: datetime | None = None, *, commit: Callable[[], None] | None = None) -> int:
    """Recompute every hour from the first lead's to the last one that is over."""
    wall = utcnow()
    now = now or wall
    current = hour_of(wall)
    first, last = db.session.execute(select(func.min(Lead.created_at), func.max(Lead.created_at))).one()
    hours = list(_hours_between(hour_of(first), min(hour_of(last) + HOUR, current))) if first else []
    if db.session.get(ReportRollupState, STATE) is None:
        db.session.add(ReportRollupState(name=STATE, covered_until=wall - MARGIN, filled_until=current))
        db.session.flush()
    _recompute(hours, now, wall, commit)
    _advance(wall - MARGIN, current, force=True)
    if commit:
        commit()
    log.info("report rollups rebuilt: %d hours", len(hours))
    return len(hours)


def range_partial(filters: ReportFilters, low: datetime, high: datetime, now: datetime) -> Partial | None:
    """The partial of the report's leads from the rollups and the hours computed live.

    None when no stored partial answers these filters or the rollups were never built.
    """
    scope = scope_for(filters.region, filters.source, filters.urgency, filters.advisor_id)
    if scope is None:
        return None
    # The state first: partials read after it are at least as new (see the module docstring).
    covered_until = db.session.scalar(
        select(ReportRollupState.covered_until).where(ReportRollupState.name == STATE)
    )
    if covered_until is None:
        return None
    first_hour, end_hour = _ceil_hour(low), hour_of(high)
    trusted = _trusted_hours(first_hour, end_hour, covered_until, now) if first_hour < end_hour else set()
    whole_days = [
        day
        for day in _days_between(first_hour, end_hour)
        if has_day_partials(scope) and all(hour in trusted for hour in _hours_between(day, day + DAY))
    ]
    in_days = {hour for day in whole_days for hour in _hours_between(day, day + DAY)}
    single_hours = sorted(trusted - in_days)
    partial = Partial()
    for start in _chunks(whole_days, 500):
        _merge_stored(partial, scope, DAY_SPAN, start)
    for start in _chunks(single_hours, 500):
        _merge_stored(partial, scope, 1, start)
    live = _untrusted_ranges(low, high, first_hour, end_hour, trusted)
    if live:
        created_in_live = [or_(*(created_between(start, end) for start, end in live))]
        partial.merge(scan(created_in_live + filter_conditions(filters), live[0][0], now, filters.advisor_id))
        partial.merge(call_partial(filters, live))
    return partial


def has_day_partials(scope: str) -> bool:
    return not scope.startswith("advisor:")


# --- internals ------------------------------------------------------------------


def _trusted_hours(first_hour: datetime, end_hour: datetime, covered_until: datetime, now: datetime) -> set:
    """Stored hours in [first_hour, end_hour) that are current for `now`."""
    stored = db.session.execute(
        select(ReportHour.hour, ReportHour.computed_for, ReportHour.stale_at).where(
            ReportHour.hour >= first_hour, ReportHour.hour < end_hour
        )
    ).all()
    changed = _changed_hours(since=covered_until, low=first_hour, high=end_hour)
    return {
        hour
        for hour, computed_for, stale_at in stored
        if computed_for <= now and (stale_at is None or now <= stale_at) and hour not in changed
    }


def _merge_stored(partial: Partial, scope: str, span_hours: int, starts: list[datetime]) -> None:
    bodies = db.session.scalars(
        select(ReportPartial.body).where(
            ReportPartial.scope == scope,
            ReportPartial.span_hours == span_hours,
            ReportPartial.start.in_(starts),
        )
    )
    for body in bodies:
        partial.merge(Partial.from_bytes(body))


def _recompute(hours: Sequence[datetime], now: datetime, wall: datetime, commit) -> None:
    """Fold each hour's leads again, a UTC day at a time, then that day's span-24 partials."""
    by_day: dict[datetime, list[datetime]] = {}
    for hour in hours:
        by_day.setdefault(_day_of(hour), []).append(hour)
    for day, day_hours in sorted(by_day.items()):
        if is_postgres():
            db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        partials = hourly_partials(_ranges(day_hours), now)
        _delete(1, day_hours)
        db.session.execute(delete(ReportHour).where(ReportHour.hour.in_(day_hours)))
        hour_rows, partial_rows = [], []
        for hour in day_hours:
            scopes = partials.get(hour, {})
            everything = scopes.get(SCOPE_ALL)
            stale_at = everything.stale_at if everything else None
            hour_rows.append({"hour": hour, "computed_at": wall, "computed_for": now, "stale_at": stale_at})
            partial_rows += [_row(scope, 1, hour, partial) for scope, partial in scopes.items()]
        db.session.execute(insert(ReportHour), hour_rows)
        if partial_rows:
            db.session.execute(insert(ReportPartial), partial_rows)
        _recompute_day(day, partials if len(day_hours) == 24 else None)
        if commit:
            commit()


def _recompute_day(day: datetime, hours: dict[datetime, dict[str, Partial]] | None) -> None:
    """The day's span-24 partials: the merge of its hours', from memory when all were just folded."""
    merged: dict[str, Partial] = defaultdict(Partial)
    if hours is not None:
        for scopes in hours.values():
            for scope, partial in scopes.items():
                if has_day_partials(scope):
                    merged[scope].merge(partial)
    else:
        stored = db.session.execute(
            select(ReportPartial.scope, ReportPartial.body).where(
                ReportPartial.span_hours == 1,
                ReportPartial.start >= day,
                ReportPartial.start < day + DAY,
                ~ReportPartial.scope.startswith("advisor:"),
            )
        )
        for scope, body in stored:
            merged[scope].merge(Partial.from_bytes(body))
    _delete(DAY_SPAN, [day])
    if merged:
        db.session.execute(insert(ReportPartial), [_row(s, DAY_SPAN, day, p) for s, p in merged.items()])


def _row(scope: str, span_hours: int, start: datetime, partial: Partial) -> dict:
    return {"scope": scope, "span_hours": span_hours, "start": start, "body": partial.to_bytes()}


def _delete(span_hours: int, starts: list[datetime]) -> None:
    db.session.execute(
        delete(ReportPartial).where(ReportPartial.span_hours == span_hours, ReportPartial.start.in_(starts))
    )


def _advance(covered_until: datetime, filled_until: datetime, force: bool = False) -> None:
    values = {"covered_until": covered_until, "filled_until": filled_until}
    statement = update(ReportRollupState).where(ReportRollupState.name == STATE)
    if not force:
        statement = statement.where(ReportRollupState.covered_until < covered_until)
    db.session.execute(statement.values(**values).execution_options(synchronize_session=False))
    db.session.expire_all()


def _changed_hours(since: datetime, low: datetime | None = None, high: datetime | None = None) -> set:
    """Hours whose partials a write at or after `since` changed: a lead's creation hour, the
    start hour of a changed call, and of every call of a changed lead (which scopes it is in)."""
    leads = select(Lead.created_at).where(Lead.updated_at >= since)
    calls = select(Call.started_at).where(Call.updated_at >= since)
    calls_of_leads = (
        select(Call.started_at).join(Lead, Lead.id == Call.lead_id).where(Lead.updated_at >= since)
    )
    if low is not None:
        leads = leads.where(created_between(low, high))
        calls = calls.where(Call.started_at >= low, Call.started_at < high)
        calls_of_leads = calls_of_leads.where(Call.started_at >= low, Call.started_at < high)
    moments = db.session.scalars(union_all(leads, calls, calls_of_leads)).all()
    return {hour_of(moment) for moment in moments}


def _untrusted_ranges(
    low: datetime, high: datetime, first_hour: datetime, end_hour: datetime, trusted: set[datetime]
) -> list[tuple[datetime, datetime]]:
    """[start, end) spans of the range not answered by a trusted stored hour, merged."""
    spans: list[tuple[datetime, datetime]] = []
    if first_hour >= end_hour:
        spans.append((low, high))
    else:
        if low < first_hour:
            spans.append((low, first_hour))
        spans += [(hour, hour + HOUR) for hour in _hours_between(first_hour, end_hour) if hour not in trusted]
        if end_hour < high:
            spans.append((end_hour, high))
    return _merge(spans)


def _ranges(hours: Sequence[datetime]) -> list[tuple[datetime, datetime]]:
    """The hours as [start, end) spans, adjacent hours merged."""
    return _merge((hour, hour + HOUR) for hour in hours)


def _merge(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _hours_between(first: datetime, end: datetime):
    hour = first
    while hour < end:
        yield hour
        hour += HOUR


def _days_between(first: datetime, end: datetime):
    """UTC days wholly inside [first, end)."""
    day = _day_of(first)
    if day < first:
        day += DAY
    while day + DAY <= end:
        yield day
        day += DAY


def _day_of(moment: datetime) -> datetime:
    return hour_of(moment).replace(hour=0)


def _ceil_hour(moment: datetime) -> datetime:
    floor = hour_of(moment)
    return floor if floor == moment else floor + HOUR


def _chunks(items: list, size: int):
    for index in range(0, len(items), size):
        yield items[index : index + size]
