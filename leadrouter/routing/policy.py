"""Routing policy: the data managers tune, with a validated JSON round trip."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leadrouter.routing.vocabulary import DEFAULT_TIMEZONE, URGENCIES, WEEKDAYS

SOURCES = ("web_form", "call", "voicemail", "sms", "api")
TARGETS = ("lead_state", "national_pool", "any")

DEFAULT_SLA_MINUTES: Mapping[str, int | None] = {
    "critical": 5,
    "high": 15,
    "normal": 60,
    "low": None,  # next business day
}


@dataclass(frozen=True)
class Rule:
    """One routing step; the first rule that matches and yields an eligible advisor wins."""

    name: str
    target: str  # "lead_state", "national_pool" or "any"
    urgencies: frozenset[str] = frozenset(URGENCIES)
    sources: frozenset[str] | None = None  # None = every channel
    after_wait_minutes: int = 0  # overflow timeout: applies once the lead waited this long
    ignore_capacity: bool = False
    ignore_shift: bool = False
    # A critical lead must reach a human even if nobody speaks its language.
    language_fallback: bool = False

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError("name: must be a non-empty string")
        if self.target not in TARGETS:
            raise ValueError(f"target: unknown target {self.target!r}, expected one of {TARGETS}")
        object.__setattr__(self, "urgencies", frozenset(self.urgencies))
        unknown = self.urgencies - set(URGENCIES)
        if unknown:
            raise ValueError(f"urgencies: unknown urgency {sorted(unknown)[0]!r}")
        if self.sources is not None:
            object.__setattr__(self, "sources", frozenset(self.sources))
        _check_minutes(self.after_wait_minutes, "after_wait_minutes")

    def matches(self, urgency: str, source: str, waited_minutes: float) -> bool:
        """Return whether the rule's condition holds for a lead."""
        return (
            urgency in self.urgencies
            and (self.sources is None or source in self.sources)
            and waited_minutes >= self.after_wait_minutes
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialise to JSON-compatible data."""
        return {
            "name": self.name,
            "target": self.target,
            "urgencies": [u for u in URGENCIES if u in self.urgencies],
            "sources": None if self.sources is None else sorted(self.sources),
            "after_wait_minutes": self.after_wait_minutes,
            "ignore_capacity": self.ignore_capacity,
            "ignore_shift": self.ignore_shift,
            "language_fallback": self.language_fallback,
        }


@dataclass(frozen=True)
class BusinessHours:
    """Opening hours of the helpline, used for next-business-day deadlines."""

    timezone: str = DEFAULT_TIMEZONE
    opens: time = time(9)
    closes: time = time(17)
    weekdays: frozenset[int] = frozenset(range(5))  # Monday = 0
    holidays: frozenset[date] = frozenset()
    overrides: Mapping[str, BusinessHours] = field(default_factory=dict)  # by state code

    def __post_init__(self) -> None:
        _check_timezone(self.timezone, "timezone")
        if self.opens >= self.closes:
            raise ValueError("opens: must be earlier than closes")
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError("weekdays: need at least one day, Monday=0 .. Sunday=6")

    def for_state(self, state: str | None) -> BusinessHours:
        """Return the hours that apply to a state (its override, else these)."""
        if state is None:
            return self
        return self.overrides.get(state, self)

    def is_business_day(self, day: date) -> bool:
        """Return whether the helpline opens on this local date."""
        return day.weekday() in self.weekdays and day not in self.holidays

    def to_dict(self) -> dict[str, Any]:
        """Serialise to JSON-compatible data."""
        data = self._own_dict()
        data["overrides"] = {state: hours._own_dict() for state, hours in self.overrides.items()}
        return data

    def _own_dict(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "opens": self.opens.strftime("%H:%M"),
            "closes": self.closes.strftime("%H:%M"),
            "weekdays": [WEEKDAYS[d] for d in sorted(self.weekdays)],
            "holidays": [d.isoformat() for d in sorted(self.holidays)],
        }


@dataclass(frozen=True)
class RoutingPolicy:
    """Everything a manager can tune about routing and SLAs."""

    sla_minutes: Mapping[str, int | None] = field(default_factory=lambda: dict(DEFAULT_SLA_MINUTES))
    pool_overflow_minutes: int = 0  # 0 = national pool at once when no exact-state advisor fits
    max_reassignments: int = 2  # after this many SLA reassignments, escalate
    business_hours: BusinessHours = field(default_factory=BusinessHours)
    rules: tuple[Rule, ...] | None = None  # None -> default_rules(pool_overflow_minutes)
    # Non-critical leads may only be contacted inside this local window (SPEC §3).
    contact_window: tuple[time, time] = (time(8), time(21))

    def __post_init__(self) -> None:
        unknown = set(self.sla_minutes) - set(URGENCIES)
        if unknown:
            raise ValueError(f"sla_minutes.{sorted(unknown)[0]}: unknown urgency")
        sla = {**DEFAULT_SLA_MINUTES, **self.sla_minutes}
        for urgency, minutes in sla.items():
            if minutes is not None:
                _check_minutes(minutes, f"sla_minutes.{urgency}")
        object.__setattr__(self, "sla_minutes", sla)
        _check_minutes(self.pool_overflow_minutes, "pool_overflow_minutes")
        _check_minutes(self.max_reassignments, "max_reassignments")
        if self.rules is None:
            object.__setattr__(self, "rules", default_rules(self.pool_overflow_minutes))
        object.__setattr__(self, "rules", tuple(self.rules))
        start, end = self.contact_window
        if start >= end:
            raise ValueError("contact_window: start must be earlier than end")

    def to_dict(self) -> dict[str, Any]:
        """Serialise to JSON-compatible data that policy_from_dict reads back."""
        return {
            "sla_minutes": {u: self.sla_minutes[u] for u in URGENCIES},
            "pool_overflow_minutes": self.pool_overflow_minutes,
            "max_reassignments": self.max_reassignments,
            "business_hours": self.business_hours.to_dict(),
            "rules": [rule.to_dict() for rule in self.rules],
            "contact_window": [t.strftime("%H:%M") for t in self.contact_window],
        }


def default_rules(pool_overflow_minutes: int = 0) -> tuple[Rule, ...]:
    """Return the SPEC §3 rules: critical override, exact state, national pool."""
    return (
        Rule(
            name="critical_override",
            target="any",
            urgencies=frozenset({"critical"}),
            ignore_capacity=True,
            ignore_shift=True,
            language_fallback=True,
        ),
        Rule(name="exact_state", target="lead_state"),
        Rule(
            name="national_pool",
            target="national_pool",
            after_wait_minutes=pool_overflow_minutes,
        ),
    )


def default_policy(**overrides: Any) -> RoutingPolicy:
    """Return the SPEC defaults, with any fields replaced by keyword."""
    return RoutingPolicy(**overrides)


# --- reading manager-edited JSON -------------------------------------------------

_POLICY_KEYS = {
    "sla_minutes",
    "pool_overflow_minutes",
    "max_reassignments",
    "business_hours",
    "rules",
    "contact_window",
}
_RULE_KEYS = {
    "name",
    "target",
    "urgencies",
    "sources",
    "after_wait_minutes",
    "ignore_capacity",
    "ignore_shift",
    "language_fallback",
}
_HOURS_KEYS = {"timezone", "opens", "closes", "weekdays", "holidays", "overrides"}


def policy_from_dict(d: Mapping[str, Any]) -> RoutingPolicy:
    """Build a policy from JSON data; raise ValueError naming the first bad key."""
    _check_keys(d, _POLICY_KEYS, "")
    kwargs: dict[str, Any] = {}
    if "sla_minutes" in d:
        kwargs["sla_minutes"] = _read_sla(d["sla_minutes"])
    for key in ("pool_overflow_minutes", "max_reassignments"):
        if key in d:
            kwargs[key] = _read_minutes(d[key], key)
    if "business_hours" in d:
        kwargs["business_hours"] = _read_hours(d["business_hours"], "business_hours", None)
    if d.get("rules") is not None:
        rules = _expect(d["rules"], list, "rules", "a list")
        kwargs["rules"] = tuple(_read_rule(r, f"rules[{i}]") for i, r in enumerate(rules))
    if "contact_window" in d:
        window = _expect(d["contact_window"], list, "contact_window", "[start, end]")
        if len(window) != 2:
            raise ValueError("contact_window: must be [start, end]")
        kwargs["contact_window"] = tuple(_read_time(t, f"contact_window[{i}]") for i, t in enumerate(window))
    return RoutingPolicy(**kwargs)


def _read_sla(value: Any) -> dict[str, int | None]:
    sla = _expect(value, dict, "sla_minutes", "an object")
    _check_keys(sla, set(URGENCIES), "sla_minutes.")
    return {
        urgency: None if minutes is None else _read_minutes(minutes, f"sla_minutes.{urgency}")
        for urgency, minutes in sla.items()
    }


def _read_rule(value: Any, path: str) -> Rule:
    data = _expect(value, dict, path, "an object")
    _check_keys(data, _RULE_KEYS, f"{path}.")
    for key in ("name", "target"):
        if key not in data:
            raise ValueError(f"{path}.{key}: required")
        _expect(data[key], str, f"{path}.{key}", "a string")
    kwargs: dict[str, Any] = {"name": data["name"], "target": data["target"]}
    if "urgencies" in data:
        kwargs["urgencies"] = frozenset(_read_choices(data["urgencies"], URGENCIES, f"{path}.urgencies"))
    if data.get("sources") is not None:
        kwargs["sources"] = frozenset(_read_choices(data["sources"], SOURCES, f"{path}.sources"))
    if "after_wait_minutes" in data:
        kwargs["after_wait_minutes"] = _read_minutes(data["after_wait_minutes"], f"{path}.after_wait_minutes")
    for key in ("ignore_capacity", "ignore_shift", "language_fallback"):
        if key in data:
            kwargs[key] = _expect(data[key], bool, f"{path}.{key}", "true or false")
    return _build(Rule, kwargs, path)


def _read_hours(value: Any, path: str, parent: BusinessHours | None) -> BusinessHours:
    data = _expect(value, dict, path, "an object")
    allowed = _HOURS_KEYS if parent is None else _HOURS_KEYS - {"overrides"}
    _check_keys(data, allowed, f"{path}.")
    kwargs: dict[str, Any] = {}
    if "timezone" in data:
        kwargs["timezone"] = _expect(data["timezone"], str, f"{path}.timezone", "a string")
    for key in ("opens", "closes"):
        if key in data:
            kwargs[key] = _read_time(data[key], f"{path}.{key}")
    if "weekdays" in data:
        days = _read_choices(data["weekdays"], WEEKDAYS, f"{path}.weekdays")
        kwargs["weekdays"] = frozenset(WEEKDAYS.index(day) for day in days)
    if "holidays" in data:
        kwargs["holidays"] = frozenset(
            _read_date(day, f"{path}.holidays[{i}]")
            for i, day in enumerate(_expect(data["holidays"], list, f"{path}.holidays", "a list"))
        )
    if parent is not None:
        # A state override inherits whatever it does not set, holidays included.
        return _build(lambda **kw: replace(parent, overrides={}, **kw), kwargs, path)
    hours = _build(BusinessHours, kwargs, path)
    overrides = _expect(data.get("overrides", {}), dict, f"{path}.overrides", "an object")
    return replace(
        hours,
        overrides={
            state: _read_hours(sub, f"{path}.overrides.{state}", hours) for state, sub in overrides.items()
        },
    )


def _build(factory: Any, kwargs: dict[str, Any], path: str) -> Any:
    """Construct via factory, prefixing validation errors with the JSON path."""
    try:
        return factory(**kwargs)
    except ValueError as exc:
        raise ValueError(f"{path}.{exc}") from None


def _check_keys(data: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"{prefix}{unknown[0]}: unknown key")


def _expect(value: Any, kind: type, path: str, wanted: str) -> Any:
    # bool is an int subclass; a manager typing `true` for minutes is an error.
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ValueError(f"{path}: must be {wanted}")
    return value


def _read_minutes(value: Any, path: str) -> int:
    _expect(value, int, path, "a whole number of minutes")
    _check_minutes(value, path)
    return value


def _check_minutes(value: int, path: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{path}: must be a whole number >= 0")


def _read_choices(value: Any, choices: tuple[str, ...], path: str) -> list[str]:
    items = _expect(value, list, path, "a list")
    for i, item in enumerate(items):
        if item not in choices:
            raise ValueError(f"{path}[{i}]: unknown value {item!r}, expected one of {choices}")
    return items


def _read_time(value: Any, path: str) -> time:
    _expect(value, str, path, 'a time like "09:00"')
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError(f'{path}: must be a time like "09:00"') from None


def _read_date(value: Any, path: str) -> date:
    _expect(value, str, path, 'a date like "2025-12-25"')
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f'{path}: must be a date like "2025-12-25"') from None


def _check_timezone(name: str, path: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{path}: unknown time zone {name!r}") from None
