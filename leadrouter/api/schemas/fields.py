"""Marshmallow field types of the JSON API: trimmed text, codes, phones, shift hours, dates.

Text fields are trimmed, blank optional text counts as absent, and text that PostgreSQL
cannot store (NUL, lone surrogates) is refused with a message instead of failing at the
database.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from marshmallow import (
    ValidationError,
    fields,
    validate,
)

from leadrouter.routing.phone import parse_phone
from leadrouter.routing.states import US_STATES
from leadrouter.routing.vocabulary import WEEKDAYS

STATE_CODES = tuple(sorted(US_STATES))

# ISO 639-1 two-letter language codes.
ISO_639_1 = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu
    cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho
    hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv
    kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr
    nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq
    sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh
    yi yo za zh zu""".split()  # noqa: SIM905  (184 codes read better as text)
)

_SINGLE_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MULTI_LINE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ZIP = re.compile(r"([0-9]{5})(?:-[0-9]{4})?")
_CLOCK = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00")
_CLOCK_PATTERN = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"


class Text(fields.String):
    """Trimmed text with a length limit; blank text loads as None where null is allowed."""

    default_error_messages = {
        "blank": "Must not be blank.",
        "too_long": "Must be at most {max_length} characters long.",
        "control": "Must not contain control characters.",
        "unicode": "Must be valid Unicode text.",
    }

    def __init__(self, *, max_length: int, multiline: bool = False, **kwargs):
        metadata = {"maxLength": max_length, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)
        self.max_length = max_length
        self.control = _MULTI_LINE_CONTROL if multiline else _SINGLE_LINE_CONTROL

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise self.make_error("unicode") from None
        text = text.strip()
        if not text:
            # Blank optional text is "not given"; where null is not allowed, blank is an error.
            if self.required or not self.allow_none:
                raise self.make_error("blank")
            return None
        if self.control.search(text):
            raise self.make_error("control")
        if len(text) > self.max_length:
            raise self.make_error("too_long", max_length=self.max_length)
        return self.convert(text)

    def convert(self, text: str):
        """Turn trimmed, non-blank text into the loaded value; raise ValidationError if bad."""
        return text


class Choice(Text):
    """One of a fixed set of codes, matched case-insensitively."""

    def __init__(self, choices, *, message: str | None = None, upper: bool = False, **kwargs):
        self.choices = tuple(choices)
        self.upper = upper
        self.message = message or f"Must be one of: {', '.join(self.choices)}."
        metadata = {"enum": list(self.choices), **kwargs.pop("metadata", {})}
        max_length = max(len(choice) for choice in self.choices)
        super().__init__(max_length=max_length, metadata=metadata, **kwargs)
        self.metadata.pop("maxLength")  # the enum says it all
        self.error_messages["too_long"] = self.message

    def convert(self, text: str) -> str:
        value = text.upper() if self.upper else text.lower()
        if value not in self.choices:
            raise ValidationError(self.message)
        return value


class Phone(Text):
    """Any common phone format, loaded as E.164 (US numbers need no country code)."""

    def __init__(self, **kwargs):
        metadata = {
            "description": "Any common format, e.g. (512) 555-0100 or +44 20 7946 0958; returned as E.164.",
            "example": "(512) 555-0100",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(max_length=64, metadata=metadata, **kwargs)

    def convert(self, text: str) -> str:
        number = parse_phone(text)
        if number.e164 is None:
            raise ValidationError(
                "Not a valid phone number: give a US number like (512) 555-0100, "
                "or an international one starting with + and the country code."
            )
        return number.e164


class Email(Text):
    """An email address, loaded in lower case."""

    def __init__(self, **kwargs):
        metadata = {"format": "email", **kwargs.pop("metadata", {})}
        super().__init__(max_length=254, metadata=metadata, **kwargs)

    def convert(self, text: str) -> str:
        validate.Email(error="Not a valid email address.")(text)
        return text.lower()


class WebAddress(Text):
    """An absolute http(s) URL."""

    def __init__(self, **kwargs):
        metadata = {"format": "uri", **kwargs.pop("metadata", {})}
        super().__init__(max_length=2000, metadata=metadata, **kwargs)

    def convert(self, text: str) -> str:
        validate.URL(
            schemes={"http", "https"},
            require_tld=False,
            error="Not a valid web address; give a full http:// or https:// URL.",
        )(text)
        return text


class ZipCode(Text):
    """A 5-digit US ZIP code (ZIP+4 accepted, stored as its first five digits)."""

    def __init__(self, **kwargs):
        metadata = {"pattern": "^[0-9]{5}(-[0-9]{4})?$", "example": "78701", **kwargs.pop("metadata", {})}
        super().__init__(max_length=10, metadata=metadata, **kwargs)
        self.error_messages["too_long"] = "Must be a 5-digit ZIP code, e.g. 78701."

    def convert(self, text: str) -> str:
        match = _ZIP.fullmatch(text)
        if match is None:
            raise ValidationError("Must be a 5-digit ZIP code, e.g. 78701.")
        return match.group(1)


class IPAddress(Text):
    """An IPv4 or IPv6 address."""

    def __init__(self, **kwargs):
        super().__init__(max_length=64, **kwargs)

    def convert(self, text: str) -> str:
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            raise ValidationError("Not a valid IPv4 or IPv6 address.") from None


@cache
def _iana_zones() -> frozenset[str]:
    return frozenset(available_timezones())


class TimeZoneName(Text):
    """An IANA time zone name such as America/Chicago."""

    def __init__(self, **kwargs):
        metadata = {
            "example": "America/Chicago",
            "description": "IANA time zone name.",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(max_length=64, metadata=metadata, **kwargs)

    def convert(self, text: str) -> str:
        if text not in _iana_zones():
            raise ValidationError(
                "Not a known IANA time zone; use a name like America/New_York or America/Chicago."
            )
        return text


class LanguageCode(Text):
    """An ISO 639-1 language code, loaded in lower case."""

    def __init__(self, **kwargs):
        metadata = {"pattern": "^[a-z]{2}$", "example": "en", **kwargs.pop("metadata", {})}
        super().__init__(max_length=2, metadata=metadata, **kwargs)
        self.error_messages["too_long"] = "Must be a two-letter ISO 639-1 code such as en or es."

    def convert(self, text: str) -> str:
        code = text.lower()
        if code not in ISO_639_1:
            raise ValidationError("Must be a two-letter ISO 639-1 code such as en or es.")
        return code


class ShiftHours(fields.Field):
    """Weekly shift ranges in the advisor's time zone: {"mon": [["08:00", "17:00"]], ...}."""

    default_error_messages = {"invalid": 'Must be an object like {{"mon": [["08:00", "17:00"]]}}.'}

    def __init__(self, **kwargs):
        ranges = {
            "type": "array",
            "maxItems": 6,
            "items": {
                "type": "array",
                "minItems": 2,
                "maxItems": 2,
                "items": {"type": "string", "pattern": _CLOCK_PATTERN},
            },
        }
        metadata = {
            "type": "object",
            "properties": {day: ranges for day in WEEKDAYS},
            "additionalProperties": False,
            "description": "Null means no shift limits. Times are HH:MM in the advisor's "
            "time zone; an end earlier than the start runs past midnight; 24:00 ends a day.",
            "example": {"mon": [["08:00", "17:00"]], "tue": [["08:00", "12:00"], ["13:00", "17:00"]]},
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise self.make_error("invalid")
        problems: list[str] = []
        shifts: dict[str, list[list[str]]] = {}
        for day, spans in value.items():
            if day not in WEEKDAYS:
                problems.append(f"Unknown day {str(day)[:20]!r}; use {', '.join(WEEKDAYS)}.")
                continue
            if not isinstance(spans, list) or len(spans) > 6:
                problems.append(f'{day}: must be a list of up to 6 ranges like [["08:00", "17:00"]].')
                continue
            shifts[day] = []
            for number, span in enumerate(spans, start=1):
                problem = _shift_range_problem(span)
                if problem:
                    problems.append(f"{day}: range {number} {problem}")
                else:
                    shifts[day].append([span[0], span[1]])
        if problems:
            raise ValidationError(problems)
        return {day: shifts[day] for day in WEEKDAYS if day in shifts}


def _shift_range_problem(span) -> str | None:
    if not (isinstance(span, list) and len(span) == 2 and all(isinstance(t, str) for t in span)):
        return 'must be two times like ["08:00", "17:00"].'
    start, end = span
    if not (_CLOCK.fullmatch(start) and _CLOCK.fullmatch(end)):
        return "must use 24-hour HH:MM times (00:00 to 24:00)."
    if start == "24:00":
        return "cannot start at 24:00."
    if start == end:
        return "starts and ends at the same time."
    return None


class DateOrDateTime(fields.Field):
    """A date (YYYY-MM-DD, a whole day in the report time zone) or an ISO 8601 instant."""

    default_error_messages = {
        "invalid": "Must be a date like 2024-05-31 or a date-time like 2024-05-31T14:00:00Z."
    }

    def __init__(self, **kwargs):
        metadata = {"type": "string", "example": "2024-05-31", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) > 40:
            raise self.make_error("invalid")
        try:
            if len(value) == 10:
                parsed = date.fromisoformat(value)
            else:
                parsed = datetime.fromisoformat(value)
                parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            raise self.make_error("invalid") from None
        if not 1970 <= parsed.year <= 9998:
            raise ValidationError("Must be between the years 1970 and 9998.")
        return parsed


def day_bounds(value: date | datetime, tz_name: str, *, end: bool) -> datetime:
    """The UTC instant a date filter starts (or, for an inclusive end date, stops) at."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz_name)).astimezone(UTC)
