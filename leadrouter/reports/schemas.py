"""The routing report's query string, shared by the report pages and GET /api/v1/reports/routing."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from leadrouter.database import MAX_ID
from leadrouter.extensions import db
from leadrouter.models import LEAD_SOURCES, Advisor, utcnow
from leadrouter.models.lead import URGENCIES
from leadrouter.reports.queries import MAX_RANGE_DAYS, UNKNOWN_REGION, ReportFilters
from leadrouter.routing.states import US_STATES

DEFAULT_DAYS = 30
FORMATS = ("json", "csv")
ROWS = ("leads", "calls")  # what a CSV export lists, one row each


class ReportQuerySchema(Schema):
    """The report's query string: inclusive dates, optional filters and the output format."""

    class Meta:
        unknown = EXCLUDE

    start = fields.Date(required=True, format="%Y-%m-%d", metadata={"description": "First day, inclusive."})
    end = fields.Date(
        required=True,
        format="%Y-%m-%d",
        metadata={"description": f"Last day, inclusive; at most {MAX_RANGE_DAYS} days after start."},
    )
    region = fields.String(
        validate=validate.OneOf((*sorted(US_STATES), UNKNOWN_REGION)),
        metadata={"description": f'A state code, or "{UNKNOWN_REGION}" for leads with no state.'},
    )
    source = fields.String(validate=validate.OneOf(LEAD_SOURCES))
    urgency = fields.String(validate=validate.OneOf(URGENCIES))
    advisor = fields.Integer(
        strict=False,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "Only the leads this advisor held at some point."},
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(FORMATS),
        metadata={"description": "`csv` answers with the report's leads (or calls, see `rows`) as CSV."},
    )
    rows = fields.String(
        load_default="leads",
        validate=validate.OneOf(ROWS),
        metadata={
            "description": "With `format=csv`: `leads`, one row per lead; `calls`, one row per inbound call "
            "that reached the line in the range (the call figures' calls)."
        },
    )

    @pre_load
    def _drop_blanks(self, data, **_kwargs):
        """An empty form field means 'no filter'; state codes are accepted in any case."""
        cleaned = {key: value.strip() for key, value in data.items() if value and value.strip()}
        if "region" in cleaned and cleaned["region"].lower() != UNKNOWN_REGION:
            cleaned["region"] = cleaned["region"].upper()
        return cleaned

    @validates_schema
    def _range(self, data, **_kwargs):
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise ValidationError("must be on or after start", "end")
        if start and end and (end - start).days + 1 > MAX_RANGE_DAYS:
            raise ValidationError(f"the range may cover at most {MAX_RANGE_DAYS} days", "end")
        advisor_id = data.get("advisor")
        if advisor_id is not None and db.session.get(Advisor, advisor_id) is None:
            raise ValidationError("no advisor has this id", "advisor")


def parse_report_args(args: dict, *, default_range: bool = False) -> tuple[ReportFilters, str, str]:
    """Validate query arguments into filters, a format and the CSV's rows; raise ValidationError per field."""
    values = {key: value for key, value in args.items() if isinstance(value, str)}
    if default_range:
        today = _today()
        if not values.get("end", "").strip():
            values["end"] = today.isoformat()
        if not values.get("start", "").strip():
            end = _date_or(values["end"], today)
            values["start"] = (end - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    data = ReportQuerySchema().load(values)
    filters = ReportFilters(
        start=data["start"],
        end=data["end"],
        region=data.get("region"),
        source=data.get("source"),
        urgency=data.get("urgency"),
        advisor_id=data.get("advisor"),
    )
    return filters, data["format"], data["rows"]


def report_timezone() -> str:
    """The time zone report days are counted in (REPORT_TIMEZONE)."""
    return current_app.config.get("REPORT_TIMEZONE") or "UTC"


def _today() -> date:
    return utcnow().astimezone(ZoneInfo(report_timezone())).date()


def _date_or(text: str, fallback: date) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return fallback
