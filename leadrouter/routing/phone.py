"""Normalise phone numbers from forms and Twilio to E.164, and mask them for display."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import timezone as phone_timezone

from leadrouter.routing.region import state_for_number

RAW_KINDS = ("number", "anonymous", "client", "empty", "invalid")

# What Twilio puts in From when the caller hides their number.
# Twilio also spells the words on a keypad: +266696687 is "ANONYMOUS", and so on.
_ANONYMOUS_VALUES = frozenset(
    {
        "anonymous",
        "restricted",
        "unknown",
        "private",
        "blocked",
        "unavailable",
        "266696687",
        "86282452253",
        "7378742833",
        "2562533",
    }
)

# phonenumbers refuses longer input anyway; cutting early keeps junk cheap.
_MAX_INPUT_LENGTH = 64

# When an area code spans zones, the one most of its callers live in.
_PREFERRED_ZONES = frozenset({"America/Anchorage", "America/Los_Angeles", "America/North_Dakota/Center"})


@dataclass(frozen=True)
class PhoneNumber:
    """A parsed phone number: E.164 when valid, plus what we can infer from it."""

    e164: str | None
    valid: bool
    raw_kind: str
    state: str | None = None
    timezone: str | None = None
    extension: str | None = None


def _classify_non_number(text: str) -> str | None:
    """Return "anonymous"/"client" for Twilio's placeholder callers, else None."""
    lowered = text.strip().casefold()
    if lowered.startswith("client:"):
        return "client"
    if lowered.lstrip("+") in _ANONYMOUS_VALUES:
        return "anonymous"
    return None


def _pick_timezone(number: phonenumbers.PhoneNumber) -> str | None:
    """Return the number's IANA zone, or None when it could be anywhere."""
    # Toll-free and other non-geographic numbers list every zone in NANP: meaningless.
    if not phonenumbers.is_number_geographical(number):
        return None
    zones = [z for z in phone_timezone.time_zones_for_number(number) if z != "Etc/Unknown"]
    if not zones:
        return None
    preferred = [z for z in zones if z in _PREFERRED_ZONES]
    return (preferred or zones)[0]


def _invalid(kind: str = "invalid") -> PhoneNumber:
    return PhoneNumber(e164=None, valid=False, raw_kind=kind)


def parse_phone(raw: str | None, default_region: str = "US") -> PhoneNumber:
    """Parse any common phone format or Twilio From value; never raises."""
    if raw is None or not isinstance(raw, str) or not raw.strip():
        return _invalid("empty")
    return _parse_text(raw, default_region)


# A touch's number is parsed by the channel's validation and again by intake, and the helpline's
# own number on every call: the result is immutable, so the repeats come from the cache.
@lru_cache(maxsize=4096)
def _parse_text(raw: str, default_region: str) -> PhoneNumber:
    placeholder = _classify_non_number(raw)
    if placeholder is not None:
        return _invalid(placeholder)
    if len(raw) > _MAX_INPUT_LENGTH:
        return _invalid()
    try:
        # phonenumbers also maps non-ASCII digits (Arabic-Indic, full-width) to 0-9.
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return _invalid()
    if not phonenumbers.is_valid_number(number):
        return _invalid()
    return PhoneNumber(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        valid=True,
        raw_kind="number",
        state=state_for_number(number),
        timezone=_pick_timezone(number),
        extension=number.extension or None,
    )


def normalize_phone(raw: str | None, default_region: str = "US") -> str | None:
    """Return the E.164 form of a phone number, or None when it is not valid."""
    return parse_phone(raw, default_region).e164


def mask_phone(e164: str | None) -> str:
    """Hide all but the country code and last four digits: "+1•••••••0100"."""
    if not e164 or not isinstance(e164, str):
        return ""
    digits = re.sub(r"\D", "", e164)
    if len(digits) <= 4:
        return "•" * len(digits)
    visible_tail = digits[-4:]
    country = _country_code(digits) if e164.startswith("+") else ""
    hidden = len(digits) - len(country) - len(visible_tail)
    return f"{'+' + country if country else ''}{'•' * hidden}{visible_tail}"


def _country_code(digits: str) -> str:
    """Return the leading country calling code of an E.164 digit string."""
    for length in (1, 2, 3):
        prefix = digits[:length]
        if phonenumbers.region_code_for_country_code(int(prefix)) != "ZZ":
            return prefix
    return ""
