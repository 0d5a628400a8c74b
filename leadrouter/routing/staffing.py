"""Staffing by Erlang C: how many advisors answer a given share of calls within a target time.

Pure arithmetic; no I/O. Arrivals per hour and the average handling time come in; the
smallest head count that meets the service level comes out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_c(traffic: float, agents: int) -> float:
    """The probability that a call waits, with `traffic` Erlangs offered to `agents` advisors."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    # Erlang B by its stable recurrence, then C from B.
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = traffic * blocking / (k + traffic * blocking)
    return agents * blocking / (agents - traffic * (1 - blocking))


def service_level(
    arrivals_per_hour: float, handle_seconds: float, agents: int, target_seconds: float
) -> float:
    """The share of calls answered within `target_seconds`."""
    traffic = arrivals_per_hour * handle_seconds / 3600
    if traffic <= 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    waiting = erlang_c(traffic, agents)
    return 1 - waiting * math.exp(-(agents - traffic) * target_seconds / handle_seconds)


@dataclass(frozen=True)
class StaffingNeed:
    arrivals_per_hour: float
    agents: int
    service_level: float


def advisors_needed(
    arrivals_per_hour: float,
    handle_seconds: float,
    target_seconds: float = 20,
    target_share: float = 0.8,
    max_agents: int = 500,
) -> StaffingNeed:
    """The fewest advisors that answer `target_share` of calls within `target_seconds`."""
    if not 0 < target_share < 1:
        raise ValueError("target_share must be between 0 and 1")
    if handle_seconds <= 0:
        raise ValueError("handle_seconds must be positive")
    if arrivals_per_hour <= 0:
        return StaffingNeed(arrivals_per_hour, 0, 1.0)
    traffic = arrivals_per_hour * handle_seconds / 3600
    for agents in range(max(1, math.floor(traffic) + 1), max_agents + 1):
        level = service_level(arrivals_per_hour, handle_seconds, agents, target_seconds)
        if level >= target_share:
            return StaffingNeed(arrivals_per_hour, agents, level)
    raise ValueError(f"more than {max_agents} advisors would be needed")


@dataclass(frozen=True)
class StaffingGap:
    """Scheduled advisors against those needed in one hour: short, even or spare, by how many."""

    needed: int
    scheduled: int

    @property
    def difference(self) -> int:
        return self.scheduled - self.needed

    @property
    def state(self) -> str:
        if self.difference < 0:
            return "short"
        return "even" if self.difference == 0 else "spare"
