"""Marshmallow schemas of the JSON API: what partners and managers send and get back.

The same classes validate requests, shape responses and generate the OpenAPI document, so
the documentation cannot drift from the behaviour. Text fields are trimmed, blank optional
text counts as absent, and text that PostgreSQL cannot store (NUL, lone surrogates) is
refused with a message instead of failing at the database.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from flask import request
from marshmallow import (
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from leadrouter.models import ADVISOR_STATUSES, LEAD_SOURCES, LEAD_STATUSES
from leadrouter.models.lead import SEVERITIES, SUBSTANCES
from leadrouter.routing.phone import parse_phone
from leadrouter.routing.severity import DSM_CRITERIA
from leadrouter.routing.states import US_STATES
from leadrouter.routing.vocabulary import DEFAULT_TIMEZONE, FOR_WHOM, NATIONAL_POOL, URGENCIES, WEEKDAYS
from leadrouter.routing.vocabulary import LANGUAGES as INTAKE_LANGUAGES

STATE_CODES = tuple(sorted(US_STATES))
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50

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

EMERGENCY_GUIDANCE = (
    "If someone may be overdosing, is not breathing or is in danger, call 911 now. "
    "For a suicidal crisis, call or text 988 (Suicide & Crisis Lifeline)."
)

_SINGLE_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MULTI_LINE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ZIP = re.compile(r"([0-9]{5})(?:-[0-9]{4})?")
_CLOCK = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00")
_CLOCK_PATTERN = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"


# --- request parsing ----------------------------------------------------------------


def load_json(schema: Schema) -> tuple[object, dict]:
    """Read the request's JSON body and load it with `schema`; return (raw body, loaded data).

    415 for another content type, 400 for an empty or malformed body (413 comes from
    MAX_CONTENT_LENGTH while reading), ValidationError (422) for bad fields.
    """
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as JSON with 'Content-Type: application/json'.")
    raw = request.get_data(cache=False)
    if not raw.strip():
        raise BadRequest("The request body is empty; send a JSON object.")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        # ValueError covers bad UTF-8 too; RecursionError is deeply nested junk.
        raise BadRequest("The request body is not valid JSON.") from None
    return body, schema.load(body)


def body_fingerprint(body: object) -> str:
    """A hash of the JSON body that ignores key order and whitespace (for Idempotency-Key)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def error_messages(messages) -> dict:
    """Marshmallow's error dict with every key a string (list positions are integers)."""
    if isinstance(messages, dict):
        return {str(key): error_messages(value) for key, value in messages.items()}
    if isinstance(messages, list | tuple):
        return [error_messages(value) for value in messages]
    return messages


# --- fields -------------------------------------------------------------------------


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


# --- lead intake --------------------------------------------------------------------


class ContactPreferencesSchema(Schema):
    voicemail_ok = fields.Boolean(allow_none=True, metadata={"description": "May we leave a voicemail?"})
    text_ok = fields.Boolean(allow_none=True, metadata={"description": "May we send a text message?"})
    call_name = Text(
        max_length=120,
        allow_none=True,
        metadata={"description": "The name to ask for or use when we call."},
    )


class ConsentInputSchema(Schema):
    given = fields.Boolean(required=True, metadata={"description": "Whether the person agreed."})
    text = Text(
        required=True,
        max_length=5000,
        multiline=True,
        metadata={"description": "The exact consent wording shown to the person."},
    )
    version = Text(required=True, max_length=32, metadata={"description": "Version of that wording."})
    ip = IPAddress(
        allow_none=True,
        metadata={"description": "The person's IP address; defaults to the caller of the API."},
    )
    user_agent = Text(
        max_length=512,
        allow_none=True,
        metadata={"description": "The person's browser; defaults to the API client's."},
    )


class UtmSchema(Schema):
    source = Text(max_length=200, allow_none=True)
    medium = Text(max_length=200, allow_none=True)
    campaign = Text(max_length=200, allow_none=True)
    term = Text(max_length=200, allow_none=True)
    content = Text(max_length=200, allow_none=True)


class LeadInputSchema(Schema):
    """A lead sent by a partner site (POST /api/v1/leads)."""

    name = Text(required=True, max_length=200, metadata={"description": "Who to ask for."})
    phone = Phone(allow_none=True)
    email = Email(allow_none=True)
    for_whom = Choice(FOR_WHOM, allow_none=True, metadata={"default": "self"})
    patient_name = Text(
        max_length=200,
        allow_none=True,
        metadata={"description": "The person who needs help, when it is a loved one."},
    )
    state = Choice(
        STATE_CODES,
        upper=True,
        allow_none=True,
        message="Not a US state code; use a two-letter USPS code such as TX or CA.",
    )
    zip = ZipCode(allow_none=True)
    city = Text(max_length=120, allow_none=True)
    substances = fields.List(Choice(SUBSTANCES), validate=validate.Length(max=20))
    dsm_criteria = fields.List(Choice(DSM_CRITERIA), validate=validate.Length(max=20))
    message = Text(max_length=5000, multiline=True, allow_none=True)
    language = Choice(INTAKE_LANGUAGES, allow_none=True, metadata={"default": "en"})
    preferred_time = Text(max_length=120, allow_none=True, metadata={"example": "weekday evenings"})
    contact_preferences = fields.Nested(ContactPreferencesSchema, allow_none=True)
    consent = fields.Nested(
        ConsentInputSchema,
        allow_none=True,
        metadata={"description": "Without consent the lead is routed, but nobody calls or texts it."},
    )
    page_url = WebAddress(allow_none=True, metadata={"description": "The page the form was on."})
    referrer = WebAddress(allow_none=True)
    utm = fields.Nested(UtmSchema, allow_none=True)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _needs_a_contact_route(self, data, original, **kwargs):
        if not isinstance(original, dict):
            return
        # A value that failed its own field check still counts as given: that error says why.
        given = [key for key in ("phone", "email") if _given(original.get(key))]
        if not given:
            raise ValidationError(
                "Give a phone number or an email address; at least one is required.", "phone"
            )


def _given(value) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


# --- output -------------------------------------------------------------------------


class AdvisorRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()


class ConsentSchema(Schema):
    given = fields.Boolean()
    text = fields.String()
    version = fields.String()
    given_at = fields.DateTime()
    ip = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    page_url = fields.String(allow_none=True)
    source = fields.String()


class FollowUpSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    due_at = fields.DateTime()
    status = fields.String(metadata={"enum": ["open", "done", "cancelled"]})
    note = fields.String(allow_none=True)
    advisor_id = fields.Integer(allow_none=True)
    created_by = fields.String()
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)


class EventSchema(Schema):
    type = fields.String(metadata={"example": "created"})
    at = fields.DateTime()
    actor = fields.String(metadata={"example": "system"})
    detail = fields.Dict(keys=fields.String())


class LeadStatusSchema(Schema):
    """What every view of a lead shows: no personal data."""

    id = fields.Integer()
    status = fields.String(metadata={"enum": list(LEAD_STATUSES)})
    source = fields.String(metadata={"enum": list(LEAD_SOURCES)})
    region = fields.String(allow_none=True, metadata={"description": "US state code; null = national pool."})
    severity = fields.String(metadata={"enum": list(SEVERITIES)})
    urgency = fields.String(metadata={"enum": list(URGENCIES)})
    urgency_score = fields.Integer(metadata={"minimum": 0, "maximum": 100})
    urgency_reasons = fields.List(fields.String())
    created_at = fields.DateTime()
    first_contact_at = fields.DateTime(allow_none=True)


class LeadReceiptSchema(LeadStatusSchema):
    """The answer to a partner's POST: the lead's id and triage, not its stored personal data.

    A merge answers with an existing lead that may hold what other channels said; a
    partner key must not be a way to read that, so only the phone it sent comes back.
    """

    phone = fields.String(allow_none=True, metadata={"description": "E.164."})
    emergency_guidance = fields.Method(
        "_guidance",
        allow_none=True,
        metadata={
            "type": "string",
            "description": "For a critical lead: what to tell the person right now (911 / 988).",
        },
    )

    def _guidance(self, lead) -> str | None:
        return EMERGENCY_GUIDANCE if lead.urgency == "critical" else None


class LeadSummarySchema(LeadStatusSchema):
    """One row of the lead list."""

    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True, metadata={"description": "E.164."})
    email = fields.String(allow_none=True)
    for_whom = fields.String(metadata={"enum": list(FOR_WHOM)})
    state = fields.String(allow_none=True)
    do_not_contact = fields.Boolean()
    assigned_advisor = fields.Nested(AdvisorRefSchema, attribute="owner", allow_none=True)
    sla_due_at = fields.DateTime(allow_none=True)


class LeadSchema(LeadSummarySchema):
    """A lead with everything a manager needs (GET /api/v1/leads/{id})."""

    zip = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    patient_name = fields.String(allow_none=True)
    language = fields.String()
    preferred_time = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    contact_preferences = fields.Dict(keys=fields.String())
    substances = fields.List(fields.String())
    dsm_criteria = fields.List(fields.String())
    consent = fields.Nested(ConsentSchema, allow_none=True)
    routing = fields.Dict(
        keys=fields.String(),
        attribute="routing_trace",
        allow_none=True,
        metadata={
            "description": "The latest routing decision: outcome, rule, reason, explanation; "
            "`candidates`: every advisor a routing rule considered, with why they were or were not "
            "chosen; `not_considered`: the advisors no rule reached (e.g. not covering the lead's "
            "state), as `{reason, advisor_ids}` groups."
        },
    )
    follow_ups = fields.List(fields.Nested(FollowUpSchema))
    events = fields.List(fields.Nested(EventSchema))
    page_url = fields.String(allow_none=True)
    referrer = fields.String(allow_none=True)
    utm = fields.Dict(keys=fields.String())
    campaign = fields.String(allow_none=True)
    closed_reason = fields.String(allow_none=True)


class LeadListSchema(Schema):
    leads = fields.List(fields.Nested(LeadSummarySchema))
    next_cursor = fields.String(
        allow_none=True,
        metadata={"description": "Pass as `cursor` to get the next page; null on the last page."},
    )


class LeadListQuerySchema(Schema):
    """Filters and paging for GET /api/v1/leads (newest first)."""

    phone = Phone(metadata={"description": "Any format; matched after normalising to E.164."})
    email = Email()
    status = Choice(LEAD_STATUSES)
    urgency = Choice(URGENCIES)
    source = Choice(LEAD_SOURCES)
    created_from = DateOrDateTime(
        metadata={
            "description": "Created on or after: a date (from its start, in the report "
            "time zone) or an ISO 8601 date-time (naive means UTC)."
        }
    )
    created_to = DateOrDateTime(
        metadata={
            "description": "Created on or before: a date (through its end, in the report "
            "time zone) or an ISO 8601 date-time (exclusive)."
        }
    )
    limit = fields.Integer(
        load_default=DEFAULT_PAGE_SIZE,
        validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
        metadata={"description": f"Page size, at most {MAX_PAGE_SIZE}."},
    )
    cursor = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "The next_cursor of the previous page."},
    )


# --- advisors -----------------------------------------------------------------------

READ_ONLY_ADVISOR_FIELDS = ("id", "open_leads", "last_assigned_at", "created_at")


class AdvisorSchema(Schema):
    """An advisor, as sent on create/update and as returned."""

    id = fields.Integer(dump_only=True)
    name = Text(required=True, max_length=120)
    email = Email(required=True)
    phone = Phone(allow_none=True, metadata={"description": "The number calls are put through to."})
    regions = fields.List(
        Choice(
            (NATIONAL_POOL, *STATE_CODES),
            upper=True,
            message='Must be a two-letter USPS state code such as TX, or "*" for the national pool.',
        ),
        load_default=lambda: [NATIONAL_POOL],
        validate=validate.Length(
            min=1, max=60, error='Give at least one state code, or ["*"] for the national pool.'
        ),
        metadata={"description": 'US state codes covered, or ["*"] for the national pool.'},
    )
    languages = fields.List(
        LanguageCode(),
        load_default=lambda: ["en"],
        validate=validate.Length(min=1, max=20, error="Give at least one language code, e.g. en."),
    )
    capacity = fields.Integer(
        strict=True,
        load_default=10,
        validate=validate.Range(min=0, max=1000),
        metadata={"description": "Most open leads this advisor may hold at once."},
    )
    status = Choice(ADVISOR_STATUSES, load_default="offline")
    timezone = TimeZoneName(load_default=DEFAULT_TIMEZONE)
    shift_hours = ShiftHours(allow_none=True, load_default=None)
    active = fields.Boolean(
        load_default=True, metadata={"description": "False takes the advisor out of routing."}
    )
    open_leads = fields.Integer(dump_only=True)
    last_assigned_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)

    @pre_load
    def _refuse_read_only(self, data, **kwargs):
        if isinstance(data, dict):
            read_only = [key for key in READ_ONLY_ADVISOR_FIELDS if key in data]
            if read_only:
                raise ValidationError({key: ["Read-only; it cannot be set."] for key in read_only})
        return data

    @validates_schema
    def _distinct_lists(self, data, **kwargs):
        for key in ("regions", "languages"):
            values = data.get(key)
            if values is not None and len(set(values)) != len(values):
                raise ValidationError("Must not repeat an entry.", key)


class AdvisorListSchema(Schema):
    advisors = fields.List(fields.Nested(AdvisorSchema))


class AdvisorListQuerySchema(Schema):
    email = Email(metadata={"description": "Find the advisor with this email."})
    status = Choice(ADVISOR_STATUSES)
    region = Choice(
        (NATIONAL_POOL, *STATE_CODES),
        upper=True,
        message='Must be a two-letter USPS state code such as TX, or "*".',
        metadata={"description": 'Advisors covering this state code (or "*" for the pool).'},
    )
