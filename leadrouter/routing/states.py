"""US states and territories: their codes, their names, and the spellings people type. Pure."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

US_STATES: Mapping[str, str] = MappingProxyType(
    {
        "AL": "Alabama",
        "AK": "Alaska",
        "AZ": "Arizona",
        "AR": "Arkansas",
        "CA": "California",
        "CO": "Colorado",
        "CT": "Connecticut",
        "DE": "Delaware",
        "DC": "District of Columbia",
        "FL": "Florida",
        "GA": "Georgia",
        "HI": "Hawaii",
        "ID": "Idaho",
        "IL": "Illinois",
        "IN": "Indiana",
        "IA": "Iowa",
        "KS": "Kansas",
        "KY": "Kentucky",
        "LA": "Louisiana",
        "ME": "Maine",
        "MD": "Maryland",
        "MA": "Massachusetts",
        "MI": "Michigan",
        "MN": "Minnesota",
        "MS": "Mississippi",
        "MO": "Missouri",
        "MT": "Montana",
        "NE": "Nebraska",
        "NV": "Nevada",
        "NH": "New Hampshire",
        "NJ": "New Jersey",
        "NM": "New Mexico",
        "NY": "New York",
        "NC": "North Carolina",
        "ND": "North Dakota",
        "OH": "Ohio",
        "OK": "Oklahoma",
        "OR": "Oregon",
        "PA": "Pennsylvania",
        "RI": "Rhode Island",
        "SC": "South Carolina",
        "SD": "South Dakota",
        "TN": "Tennessee",
        "TX": "Texas",
        "UT": "Utah",
        "VT": "Vermont",
        "VA": "Virginia",
        "WA": "Washington",
        "WV": "West Virginia",
        "WI": "Wisconsin",
        "WY": "Wyoming",
        # Territories with USPS codes: helplines do get calls from them.
        "PR": "Puerto Rico",
        "VI": "U.S. Virgin Islands",
        "GU": "Guam",
        "AS": "American Samoa",
        "MP": "Northern Mariana Islands",
    }
)

# Other spellings people type, and the ones phonenumbers' geocoder uses.
_STATE_ALIASES: Mapping[str, str] = {
    "washington dc": "DC",
    "washington d c": "DC",
    "d c": "DC",
    "washington state": "WA",
    "virgin islands": "VI",
    "us virgin islands": "VI",
    "u s virgin islands": "VI",
    "northern mariana islands": "MP",
    "commonwealth of puerto rico": "PR",
}

# phonenumbers region codes whose numbers can carry a US state or territory.
TERRITORY_REGIONS = frozenset({"PR", "VI", "GU", "AS", "MP"})


def _fold(value: str) -> str:
    """Lowercase, drop accents and punctuation, collapse whitespace."""
    decomposed = unicodedata.normalize("NFKD", value)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain.casefold()).split())


_NAME_TO_CODE: Mapping[str, str] = {
    **{_fold(name): code for code, name in US_STATES.items()},
    **_STATE_ALIASES,
}


def normalize_state(value: str | None) -> str | None:
    """Return the USPS code for a state code or name ("tx", "Texas"), else None."""
    if not value or not isinstance(value, str):
        return None
    folded = _fold(value)
    if folded.upper() in US_STATES:
        return folded.upper()
    return _NAME_TO_CODE.get(folded)
