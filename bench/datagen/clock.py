"""The app's clock rules (contact window, SLA deadlines, shifts) on epoch seconds, fast.

`leadrouter.routing.hours` works on aware datetimes and zoneinfo and costs ~9 µs per
deadline; the generator needs several per lead. `Clock` does the same arithmetic with
a table of each zone's UTC offset per hour (US offsets change on the hour), and
`verify()` proves on random samples that it agrees with the app to the millisecond, so
every sla_due_at the generator writes is the one the app would have written.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from leadrouter.routing import hours
from leadrouter.routing.policy import RoutingPolicy, default_policy
from leadrouter.routing.vocabulary import URGENCIES as URGENCY_ORDER
from leadrouter.routing.vocabulary import WEEKDAYS

HOUR = 3600
DAY = 86400
_EPOCH_DAY = date(1970, 1, 1)


def _seconds(clock_time) -> int:
    return clock_time.hour * HOUR + clock_time.minute * 60


class Clock:
    """Contact-window, SLA and shift arithmetic between `start` and `end` (epoch seconds)."""

    def __init__(self, start: float, end: float, policy: RoutingPolicy | None = None):
        self.policy = policy or default_policy()
        self.base = (int(start) // DAY - 2) * DAY
        self.hour_count = int((end - self.base) // HOUR) + 48
        self.window_opens = _seconds(self.policy.contact_window[0])
        self.window_closes = _seconds(self.policy.contact_window[1])
        self.sla_seconds = {u: m and m * 60 for u, m in self.policy.sla_minutes.items()}
        business = self.policy.business_hours
        if business.overrides:
            raise SystemExit("the generator does not model per-state business hours overrides")
        self.business_tz = business.timezone
        self.business_opens = _seconds(business.opens)
        self.business_weekdays = business.weekdays
        self.holidays = business.holidays
        self._offsets: dict[str, list[int]] = {}
        self._hour_of_week: dict[str, bytes] = {}

    # --- zones ---------------------------------------------------------------------

    def offsets(self, tz: str) -> list[int]:
        """UTC offset in seconds of `tz` for every hour since `base`."""
        table = self._offsets.get(tz)
        if table is None:
            zone = ZoneInfo(tz)
            table = [
                int(datetime.fromtimestamp(self.base + i * HOUR, zone).utcoffset().total_seconds())
                for i in range(self.hour_count)
            ]
            self._offsets[tz] = table
        return table

    def hour_index(self, t: float) -> int:
        return int((t - self.base) // HOUR)

    def hour_of_week(self, tz: str) -> bytes:
        """Local weekday * 24 + local hour, for every hour since `base` (Monday = 0)."""
        table = self._hour_of_week.get(tz)
        if table is None:
            values = []
            for i, offset in enumerate(self.offsets(tz)):
                wall = self.base + i * HOUR + offset
                values.append(((wall // DAY + 3) % 7) * 24 + (wall % DAY) // HOUR)
            table = bytes(values)
            self._hour_of_week[tz] = table
        return table

    def at_local(self, day: int, seconds: int, tz: str) -> float:
        """The instant of local wall time `seconds` on epoch day `day` in `tz`."""
        table = self._offsets.get(tz) or self.offsets(tz)
        base = self.base
        wall = day * DAY + seconds
        offset = table[int((wall - base) // HOUR)]
        utc = wall - offset
        second = table[int((utc - base) // HOUR)]
        return wall - second if second != offset else utc

    def local_day(self, t: float, tz: str) -> int:
        table = self._offsets.get(tz) or self.offsets(tz)
        return int((t + table[int((t - self.base) // HOUR)]) // DAY)

    # --- the contact window ----------------------------------------------------------

    def next_contact_time(self, t: float, tz: str) -> float:
        """`t` if contact is allowed then, else the next opening of the window (as the app)."""
        table = self._offsets.get(tz) or self.offsets(tz)
        wall = t + table[int((t - self.base) // HOUR)]
        second_of_day = wall % DAY
        if self.window_opens <= second_of_day < self.window_closes:
            return t
        day = int(wall // DAY) + (1 if second_of_day >= self.window_closes else 0)
        return self.at_local(day, self.window_opens, tz)

    def add_contact_minutes(self, t: float, minutes: float, tz: str) -> float:
        """When `minutes` of contact-window time have passed after `t`."""
        table = self._offsets.get(tz) or self.offsets(tz)
        base, opens, closes_at = self.base, self.window_opens, self.window_closes
        moment = self.next_contact_time(t, tz)
        remaining = minutes * 60
        while True:
            wall = moment + table[int((moment - base) // HOUR)]
            day = int(wall // DAY)
            # Inside the window: the day's close is at most 13 h away and never crosses a DST change.
            closes = moment + (closes_at - wall % DAY)
            if table[int((closes - base) // HOUR)] != table[int((moment - base) // HOUR)]:
                closes = self.at_local(day, closes_at, tz)
            if moment + remaining <= closes:
                return moment + remaining
            remaining -= closes - moment
            moment = self.at_local(day + 1, opens, tz)

    # --- SLA -------------------------------------------------------------------------

    def sla_due(self, urgency: str, start: float, tz: str) -> float:
        """First contact deadline, exactly as leadrouter.routing.hours.sla_due_at."""
        seconds = self.sla_seconds[urgency]
        if seconds is None:
            day = self.local_day(start, self.business_tz) + 1
            while not self._is_business_day(day):
                day += 1
            opens = self.at_local(day, self.business_opens, self.business_tz)
            return self.next_contact_time(opens + HOUR, tz)
        if urgency == "critical":
            return start + seconds
        return self.add_contact_minutes(start, seconds / 60, tz)

    def _is_business_day(self, day: int) -> bool:
        if (day + 3) % 7 not in self.business_weekdays:
            return False
        return not self.holidays or _EPOCH_DAY + timedelta(days=day) not in self.holidays

    # --- shifts ----------------------------------------------------------------------

    def shift_hours_on(
        self, shift_hours: dict | None, tz: str, active_from: float, active_to: float
    ) -> bytes:
        """1 for every hour since `base` in which the advisor is on shift and employed."""
        week = weekly_mask(shift_hours)
        first = self.hour_index(max(active_from, self.base))
        last = self.hour_count if active_to == float("inf") else self.hour_index(active_to)
        return bytes(
            1 if first <= i < last and week[how] else 0 for i, how in enumerate(self.hour_of_week(tz))
        )


def weekly_mask(shift_hours: dict | None) -> list[bool]:
    """168 flags (Monday 00:00 local first): on shift in that hour, as hours.on_shift decides."""
    if shift_hours is None:
        return [True] * 168
    mask = [False] * 168
    for key, spans in shift_hours.items():
        day = WEEKDAYS.index(key[:3].lower())
        for start_text, end_text in spans:
            start, end = hours.parse_clock(start_text), hours.parse_clock(end_text)
            if start % 60 or end % 60:
                raise ValueError("generated shifts start and end on the hour")
            start, end = start // 60, end // 60
            if start < end:
                covered = [(day, h) for h in range(start, end)]
            elif start > end:  # overnight: the evening today, the morning tomorrow
                covered = [(day, h) for h in range(start, 24)] + [((day + 1) % 7, h) for h in range(end)]
            else:
                covered = []
            for d, h in covered:
                mask[d * 24 + h] = True
    return mask


def verify(clock: Clock, zones: list[str], shifts: list[dict | None], start: float, end: float) -> int:
    """Compare Clock with leadrouter.routing.hours on random instants; raise on any difference."""
    rng = random.Random(20261126)
    policy = clock.policy
    checked = 0

    def aware(t: float) -> datetime:
        return datetime.fromtimestamp(round(t, 3), UTC)

    def same(fast: float, slow: datetime, what: str) -> None:
        if abs(fast - slow.timestamp()) > 0.002:
            raise AssertionError(f"clock mismatch in {what}: fast {aware(fast)} != app {slow}")

    for _ in range(1500):
        t = round(rng.uniform(start, end), 3)
        tz = rng.choice(zones)
        urgency = rng.choice(URGENCY_ORDER)
        same(
            clock.sla_due(urgency, t, tz),
            hours.sla_due_at(urgency, aware(t), policy, tz),
            f"sla {urgency} {tz}",
        )
        same(clock.next_contact_time(t, tz), hours.next_contact_time(aware(t), tz), f"window {tz}")
        minutes = rng.choice([1, 7, 45, 300, 2000])
        same(
            clock.add_contact_minutes(t, minutes, tz),
            hours.add_contact_minutes(aware(t), minutes, tz),
            f"add {minutes} min {tz}",
        )
        shift = rng.choice(shifts)
        expected = hours.on_shift(shift, tz, aware(t))
        mask = weekly_mask(shift)
        if mask[clock.hour_of_week(tz)[clock.hour_index(t)]] != expected:
            raise AssertionError(f"shift mismatch for {shift} in {tz} at {aware(t)}")
        checked += 4
    return checked
