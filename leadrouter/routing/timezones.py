"""The main IANA time zone of each US state, for leads whose phone gives no zone."""

from __future__ import annotations

from leadrouter.routing.vocabulary import DEFAULT_TIMEZONE

_EASTERN = "America/New_York"
_CENTRAL = "America/Chicago"
_MOUNTAIN = "America/Denver"
_PACIFIC = "America/Los_Angeles"

STATE_TIMEZONES = {
    **dict.fromkeys(
        [
            "CT",
            "DE",
            "DC",
            "FL",
            "GA",
            "ME",
            "MD",
            "MA",
            "NH",
            "NJ",
            "NY",
            "NC",
            "OH",
            "PA",
            "RI",
            "SC",
            "VT",
            "VA",
            "WV",
            "MI",
            "IN",
            "KY",
        ],
        _EASTERN,
    ),
    **dict.fromkeys(
        [
            "AL",
            "AR",
            "IL",
            "IA",
            "KS",
            "LA",
            "MN",
            "MS",
            "MO",
            "NE",
            "ND",
            "OK",
            "SD",
            "TN",
            "TX",
            "WI",
        ],
        _CENTRAL,
    ),
    **dict.fromkeys(["CO", "ID", "MT", "NM", "UT", "WY"], _MOUNTAIN),
    "AZ": "America/Phoenix",
    **dict.fromkeys(["CA", "NV", "OR", "WA"], _PACIFIC),
    "AK": "America/Anchorage",
    "HI": "Pacific/Honolulu",
    "PR": "America/Puerto_Rico",
}


def timezone_for(
    state: str | None, phone_timezone: str | None = None, default: str = DEFAULT_TIMEZONE
) -> str:
    """Prefer the phone's own zone, then the state's main zone, then the default."""
    return phone_timezone or STATE_TIMEZONES.get(state or "", default)
