"""Leads over the API: what a partner sends, what a partner and a manager get back."""

from __future__ import annotations

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from leadrouter.api.schemas.fields import (
    STATE_CODES,
    Choice,
    DateOrDateTime,
    Email,
    IPAddress,
    Phone,
    Text,
    WebAddress,
    ZipCode,
)
from leadrouter.models import LEAD_SOURCES, LEAD_STATUSES
from leadrouter.models.lead import SEVERITIES, SUBSTANCES
from leadrouter.routing.severity import DSM_CRITERIA
from leadrouter.routing.vocabulary import FOR_WHOM, URGENCIES
from leadrouter.routing.vocabulary import LANGUAGES as INTAKE_LANGUAGES

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50

EMERGENCY_GUIDANCE = (
    "If someone may be overdosing, is not breathing or is in danger, call 911 now. "
    "For a suicidal crisis, call or text 988 (Suicide & Crisis Lifeline)."
)


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
    requested_time_note = fields.String(
        allow_none=True,
        metadata={"description": "Set when the person asked to be called outside 08:00-21:00 their time."},
    )


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
