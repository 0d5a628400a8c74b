"""Place a lead in a US state: from what the person typed, their ZIP, or their phone number."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import phonenumbers

from leadrouter.routing.area_codes import LONGEST_PREFIX, PREFIX_STATES
from leadrouter.routing.states import TERRITORY_REGIONS, normalize_state

# First three ZIP digits -> state, as inclusive ranges (USPS allocation). Unassigned
# prefixes inside a range map to that state: a typo there still lands near home.
# Military mail (AA/AE/AP: 090-098, 340, 962-966) is deliberately absent: no region.
_ZIP3_RANGES: tuple[tuple[int, int, str], ...] = (
    (5, 5, "NY"),  # Holtsville IRS
    (6, 7, "PR"),
    (8, 8, "VI"),
    (9, 9, "PR"),
    (10, 27, "MA"),
    (28, 29, "RI"),
    (30, 38, "NH"),
    (39, 49, "ME"),
    (50, 54, "VT"),
    (55, 55, "MA"),  # Andover IRS
    (56, 59, "VT"),
    (60, 69, "CT"),
    (70, 89, "NJ"),
    (100, 149, "NY"),
    (150, 196, "PA"),
    (197, 199, "DE"),
    (200, 200, "DC"),
    (201, 201, "VA"),  # Dulles
    (202, 205, "DC"),
    (206, 219, "MD"),
    (220, 246, "VA"),
    (247, 268, "WV"),
    (270, 289, "NC"),
    (290, 299, "SC"),
    (300, 319, "GA"),
    (320, 339, "FL"),
    (341, 349, "FL"),
    (350, 369, "AL"),
    (370, 385, "TN"),
    (386, 397, "MS"),
    (398, 399, "GA"),
    (400, 427, "KY"),
    (430, 459, "OH"),
    (460, 479, "IN"),
    (480, 499, "MI"),
    (500, 528, "IA"),
    (530, 549, "WI"),
    (550, 567, "MN"),
    (569, 569, "DC"),
    (570, 577, "SD"),
    (580, 588, "ND"),
    (590, 599, "MT"),
    (600, 629, "IL"),
    (630, 658, "MO"),
    (660, 679, "KS"),
    (680, 693, "NE"),
    (700, 714, "LA"),
    (716, 729, "AR"),
    (730, 732, "OK"),
    (733, 733, "TX"),  # Austin IRS
    (734, 749, "OK"),
    (750, 799, "TX"),
    (800, 816, "CO"),
    (820, 831, "WY"),
    (832, 838, "ID"),
    (840, 847, "UT"),
    (850, 865, "AZ"),
    (870, 884, "NM"),
    (885, 885, "TX"),  # El Paso
    (889, 898, "NV"),
    (900, 961, "CA"),
    (967, 968, "HI"),
    (969, 969, "GU"),
    (970, 979, "OR"),
    (980, 994, "WA"),
    (995, 999, "AK"),
)

# Whole ZIPs that sit inside another state's prefix.
_ZIP5_EXCEPTIONS: Mapping[str, str] = {
    "96799": "AS",
    "96950": "MP",
    "96951": "MP",
    "96952": "MP",
}

_ZIP_PATTERN = re.compile(r"(\d{5})(?:-?\d{4})?")

_US_PHONE_REGIONS = frozenset({"US", *TERRITORY_REGIONS})

REGION_SOURCES = ("state", "zip", "twilio_from_state", "area_code", "unknown")


@dataclass(frozen=True)
class Region:
    """A lead's state code (None = national pool) and which input it came from."""

    code: str | None
    source: str


def _state_for_zip3(prefix: int) -> str | None:
    """Look a three-digit ZIP prefix up in the range table."""
    for low, high, state in _ZIP3_RANGES:
        if low <= prefix <= high:
            return state
    return None


def state_for_zip(zip5: str | None) -> str | None:
    """Return the state a ZIP (or ZIP+4) belongs to, else None."""
    if not zip5 or not isinstance(zip5, str):
        return None
    match = _ZIP_PATTERN.fullmatch(zip5.strip())
    if match is None:
        return None
    digits = match.group(1)
    if not digits.isascii():  # \d also matches e.g. Arabic-Indic digits
        return None
    return _ZIP5_EXCEPTIONS.get(digits) or _state_for_zip3(int(digits[:3]))


def state_for_number(number: phonenumbers.PhoneNumber) -> str | None:
    """Return the state of a parsed US/territory number's area code, else None.

    Gives what phonenumbers.geocoder's English description names (see area_codes.py)
    without loading the geocoder's data.
    """
    if phonenumbers.region_code_for_number(number) not in _US_PHONE_REGIONS:
        return None
    number_type = phonenumbers.number_type(number)
    if number_type == phonenumbers.PhoneNumberType.UNKNOWN:
        return None
    if phonenumbers.is_number_type_geographical(number_type, number.country_code):
        national = phonenumbers.national_significant_number(number)
        for length in range(LONGEST_PREFIX, 2, -1):
            prefix = national[:length]
            if prefix in PREFIX_STATES:
                return PREFIX_STATES[prefix]
    return _territory_for_number(number)


def _territory_for_number(number: phonenumbers.PhoneNumber) -> str | None:
    """The territory a number belongs to when nothing more precise is known.

    The geocoder then names the one region the number is valid in ("Puerto Rico"), or
    nothing when it is valid in several (toll-free numbers); "United States" is no state.
    """
    regions = [
        region
        for region in phonenumbers.region_codes_for_country_code(number.country_code)
        if phonenumbers.is_valid_number_for_region(number, region)
    ]
    if len(regions) == 1 and regions[0] in TERRITORY_REGIONS:
        return regions[0]
    return None


def state_for_phone(e164: str | None) -> str | None:
    """Return the state of an E.164 number's area code, else None."""
    if not e164 or not isinstance(e164, str):
        return None
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return state_for_number(number)


def resolve_region(
    state: str | None = None,
    zip_code: str | None = None,
    from_state: str | None = None,
    phone_e164: str | None = None,
) -> Region:
    """Pick the lead's region: given state, ZIP, Twilio FromState, then area code."""
    candidates = (
        ("state", lambda: normalize_state(state)),
        ("zip", lambda: state_for_zip(zip_code)),
        ("twilio_from_state", lambda: normalize_state(from_state)),
        ("area_code", lambda: state_for_phone(phone_e164)),
    )
    for source, find in candidates:
        code = find()
        if code is not None:
            return Region(code=code, source=source)
    return Region(code=None, source="unknown")
