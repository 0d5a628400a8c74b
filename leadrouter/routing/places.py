"""The places the regional pages serve: every state, and the largest cities with their time zones. Pure."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from leadrouter.routing.states import US_STATES
from leadrouter.routing.us_cities import US_CITIES


@dataclass(frozen=True)
class City:
    name: str
    slug: str
    state: str
    timezone: str
    population: int


def slugify(name: str) -> str:
    """A place name as a URL segment: 'St. Louis' -> 'st-louis', 'Winston-Salem' -> 'winston-salem'."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return "-".join("".join(ch if ch.isalnum() else " " for ch in folded).split())


_CITIES: Mapping[tuple[str, str], City] = MappingProxyType(
    {
        (state, slug): City(name, slug, state, tz, population)
        for name, slug, state, tz, population in US_CITIES
    }
)
_BY_STATE: Mapping[str, tuple[City, ...]] = MappingProxyType(
    {
        code: tuple(sorted((c for c in _CITIES.values() if c.state == code), key=lambda c: c.name))
        for code in US_STATES
    }
)


def find_city(state: str, slug: str) -> City | None:
    """The served city in ``state`` (a code) whose name the URL segment spells, in any case or punctuation."""
    return _CITIES.get((state, slugify(slug)))


def cities_in(state: str) -> tuple[City, ...]:
    """The served cities of ``state`` (a code), by name."""
    return _BY_STATE.get(state, ())


def all_cities() -> tuple[City, ...]:
    """Every served city, largest first."""
    return tuple(_CITIES.values())
