"""Advisors over the API (manager keys): create, change, list and read them."""

from __future__ import annotations

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from leadrouter.api.schemas.fields import (
    STATE_CODES,
    Choice,
    Email,
    LanguageCode,
    Phone,
    ShiftHours,
    Text,
    TimeZoneName,
)
from leadrouter.models import API_ADVISOR_STATUSES
from leadrouter.routing.vocabulary import DEFAULT_TIMEZONE, NATIONAL_POOL

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
    status = Choice(API_ADVISOR_STATUSES, load_default="offline")
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
    status = Choice(API_ADVISOR_STATUSES)
    region = Choice(
        (NATIONAL_POOL, *STATE_CODES),
        upper=True,
        message='Must be a two-letter USPS state code such as TX, or "*".',
        metadata={"description": 'Advisors covering this state code (or "*" for the pool).'},
    )
