"""Clock rules: advisor shifts, the 08:00-21:00 contact window, business days, SLA deadlines.

Every function takes and returns aware datetimes; results are in UTC unless the input
is returned unchanged. Local wall times are resolved with zoneinfo, so DST is handled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadrouter.routing.policy import BusinessHours, RoutingPolicy
from leadrouter.routing.vocabulary import URGENCIES, WEEKDAYS

ShiftHours = Mapping[str, Sequence[Sequence[str]]]

MINUTES_PER_DAY = 24 * 60
SEARCH_DAYS = 800  # a business calendar with no open day for two years is a config error


# --- advisor shifts ---------------------------------------------------------------


def on_shift(shift_hours: ShiftHours | None, tz_name: str, now: datetime) -> bool:
    """Return whether an advisor with these shift hours is working at `now`."""
    if shift_hours is None:
        return True
    local = to_local(now, tz_name)
    minute = local.hour * 60 + local.minute
    today, yesterday = _day_keys(local.date())
    for start, end in _ranges(shift_hours, today):
        if start < end and start <= minute < end:
            return True
        if start > end and minute >= start:  # overnight shift, evening part
            return True
    # An overnight shift that began yesterday runs into this morning.
    return any(start > end and minute < end for start, end in _ranges(shift_hours, yesterday))


def describe_shift(shift_hours: ShiftHours | None, tz_name: str, now: datetime) -> str:
    """Describe the shift ranges that matter at `now`, e.g. 'shift 08:00-17:00 America/Chicago'."""
    if shift_hours is None:
        return "no shift limits"
    local = to_local(now, tz_name)
    today, yesterday = _day_keys(local.date())
    spans = [
        f"{_clock(start)}-{_clock(end)}" for start, end in _ranges(shift_hours, yesterday) if start > end
    ] + [f"{_clock(start)}-{_clock(end)}" for start, end in _ranges(shift_hours, today)]
    if not spans:
        return f"no shift on {today} {tz_name}"
    return f"shift {', '.join(spans)} {tz_name}"


def shift_starts_on(shift_hours: ShiftHours, tz_name: str, day: date) -> list[datetime]:
    """The instants (UTC) the shifts listed for `day` begin, in the advisor's time zone."""
    return [
        at_local(day, time(start // 60, start % 60), tz_name)
        for start, end in _ranges(shift_hours, WEEKDAYS[day.weekday()])
        if start != end and start < MINUTES_PER_DAY
    ]


def parse_clock(text: str) -> int:
    """Return minutes since midnight for 'HH:MM' ('24:00' allowed as an end)."""
    hours, _, minutes = str(text).partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not 0 <= value <= MINUTES_PER_DAY:
        raise ValueError(f"not a clock time: {text!r}")
    return value


def _ranges(shift_hours: ShiftHours, day_key: str) -> list[tuple[int, int]]:
    for key, spans in shift_hours.items():
        # Accept "mon", "Mon" and "monday" alike: managers type these by hand.
        if key[:3].lower() == day_key:
            return [(parse_clock(start), parse_clock(end)) for start, end in spans]
    return []


def _day_keys(day: date) -> tuple[str, str]:
    return WEEKDAYS[day.weekday()], WEEKDAYS[(day.weekday() - 1) % 7]


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# --- contact window (SPEC §3: non-critical callbacks 08:00-21:00 local) -----------


def within_contact_window(now: datetime, tz_name: str, start: time = time(8), end: time = time(21)) -> bool:
    """Return whether contacting someone in `tz_name` is allowed at `now`."""
    local_time = to_local(now, tz_name).time()
    return start <= local_time < end


def before_contact_window(now: datetime, tz_name: str, start: time = time(8)) -> bool:
    """Return whether it is still early morning in `tz_name` (quiet, before the window opens today)."""
    return to_local(now, tz_name).time() < start


def quiet_hours_window(
    now: datetime, tz_name: str, start: time = time(8), end: time = time(21)
) -> tuple[datetime, datetime]:
    """Return (opens, closes) of the contact window on `now`'s local date; outside is quiet."""
    day = to_local(now, tz_name).date()
    return at_local(day, start, tz_name), at_local(day, end, tz_name)


def next_contact_time(now: datetime, tz_name: str, start: time = time(8), end: time = time(21)) -> datetime:
    """Return `now` if contact is allowed, else the next local `start` (DST-safe)."""
    if within_contact_window(now, tz_name, start, end):
        return now
    local = to_local(now, tz_name)
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    return at_local(day, start, tz_name)


def add_contact_minutes(
    start_at: datetime,
    minutes: int,
    tz_name: str,
    start: time = time(8),
    end: time = time(21),
) -> datetime:
    """Return when `minutes` of contact-window time have elapsed after `start_at`."""
    moment = next_contact_time(start_at, tz_name, start, end)
    remaining = timedelta(minutes=minutes)
    while True:
        _, closes = quiet_hours_window(moment, tz_name, start, end)
        if moment + remaining <= closes:
            return (moment + remaining).astimezone(UTC)
        remaining -= closes - moment
        moment = next_contact_time(closes, tz_name, start, end)


# --- business days and SLA deadlines ----------------------------------------------


def next_business_day(day: date, business_hours: BusinessHours) -> date:
    """Return the first business day strictly after `day`."""
    for offset in range(1, SEARCH_DAYS):
        candidate = day + timedelta(days=offset)
        if business_hours.is_business_day(candidate):
            return candidate
    raise ValueError("business hours never open: check weekdays and holidays")


def next_business_open(now: datetime, business_hours: BusinessHours, state: str | None = None) -> datetime:
    """Return the next opening time after `now` (today's, if it has not opened yet)."""
    hours = business_hours.for_state(state)
    local = to_local(now, hours.timezone)
    day = local.date()
    if not (hours.is_business_day(day) and local.time() < hours.opens):
        day = next_business_day(day, hours)
    return at_local(day, hours.opens, hours.timezone)


def sla_due_at(
    urgency: str,
    created_at: datetime,
    policy: RoutingPolicy,
    tz_name: str | None = None,
    state: str | None = None,
) -> datetime:
    """Return when first contact is due for a lead.

    - critical: `created_at` + its minutes, at any hour.
    - high/normal: its minutes, counting only time inside the lead's contact window
      (08:00-21:00 in `tz_name`), so a 23:00 form is due shortly after 08:00.
    - low (minutes None): the next business day's opening time + 1 hour, in the
      business hours for `state`, skipping weekends and holidays; "next" is the first
      business day after the creation date, even if the lead came in before opening.
      Pushed to the contact window if that falls outside it.
    `tz_name` is the lead's zone; None means the business hours' zone.
    """
    if urgency not in URGENCIES:
        raise ValueError(f"unknown urgency {urgency!r}")
    _require_aware(created_at)
    hours = policy.business_hours.for_state(state)
    tz_name = tz_name or hours.timezone
    start, end = policy.contact_window
    minutes = policy.sla_minutes[urgency]
    if minutes is None:
        created_day = to_local(created_at, hours.timezone).date()
        opens = at_local(next_business_day(created_day, hours), hours.opens, hours.timezone)
        due = opens + timedelta(hours=1)
        return next_contact_time(due, tz_name, start, end).astimezone(UTC)
    if urgency == "critical":
        return (created_at + timedelta(minutes=minutes)).astimezone(UTC)
    return add_contact_minutes(created_at, minutes, tz_name, start, end)


# --- local time helpers -----------------------------------------------------------


def to_local(moment: datetime, tz_name: str) -> datetime:
    """Return `moment` as wall time in `tz_name`."""
    _require_aware(moment)
    return moment.astimezone(ZoneInfo(tz_name))


def at_local(day: date, clock: time, tz_name: str) -> datetime:
    """Return the UTC instant of a local wall time (a time skipped by DST moves forward)."""
    return datetime.combine(day, clock, tzinfo=ZoneInfo(tz_name)).astimezone(UTC)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
