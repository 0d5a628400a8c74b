"""The routing report over the API (manager keys): its query string and its JSON answer.

The answer is what `leadrouter.reports.queries.routing_report` returns, served as it is;
this schema describes it for the OpenAPI document, and the tests hold the two together.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from leadrouter.models import LEAD_SOURCES
from leadrouter.reports.queries import FUNNEL_STAGES
from leadrouter.reports.schemas import ReportQuerySchema
from leadrouter.routing.vocabulary import URGENCIES

__all__ = ["ReportQuerySchema", "RoutingReportSchema"]


def _counts(description: str, keys=None) -> fields.Dict:
    metadata = {"description": description}
    if keys:
        metadata["example"] = dict.fromkeys(keys, 0)
    return fields.Dict(keys=fields.String(), values=fields.Integer(), metadata=metadata)


def _seconds(description: str) -> fields.Float:
    return fields.Float(allow_none=True, metadata={"description": description})


class SpeedToLeadSchema(Schema):
    """Speed to lead percentiles over the contacted leads, in seconds."""

    p50 = _seconds("Median; null when no lead was contacted.")
    p90 = _seconds("90th percentile; null when no lead was contacted.")
    count = fields.Integer(metadata={"description": "Contacted leads the percentiles are over."})


class AssignmentLatencySchema(Schema):
    """Created → first assignment, in seconds."""

    p50 = _seconds("Median; null when no lead was assigned.")
    p99 = _seconds("99th percentile; null when no lead was assigned.")
    count = fields.Integer(metadata={"description": "Assigned leads the percentiles are over."})


class SpeedBucketSchema(Schema):
    label = fields.String(metadata={"example": "1–5 min"})
    upto_seconds = fields.Integer(
        allow_none=True, metadata={"description": "Upper bound (exclusive); null for the last bucket."}
    )
    count = fields.Integer()


class SlaSchema(Schema):
    met = fields.Integer(metadata={"description": "First contact at or before the due time."})
    missed = fields.Integer(metadata={"description": "Contacted late, or not contacted and overdue."})
    pending = fields.Integer(metadata={"description": "Not contacted and not yet due, or never assigned."})


class ReportFiltersSchema(Schema):
    region = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    urgency = fields.String(allow_none=True)
    advisor = fields.Integer(allow_none=True)


class FunnelSchema(Schema):
    contacted = fields.Integer()
    assessment = fields.Integer()
    referred = fields.Integer()
    admitted = fields.Integer()
    closed = fields.Integer()
    closed_by_reason = _counts("Closed leads by reason, most first.")


class AdvisorFiguresSchema(Schema):
    """One advisor who held one of the report's leads."""

    id = fields.Integer()
    name = fields.String()
    assigned = fields.Integer(metadata={"description": "Leads they held at some point."})
    contacted = fields.Integer(metadata={"description": "Leads first contacted while theirs."})
    open = fields.Integer(metadata={"description": "Open leads they own now."})
    median_speed_to_lead_seconds = _seconds("Over the leads they contacted; null when none.")
    sla_met_pct = fields.Float(allow_none=True, metadata={"minimum": 0, "maximum": 100})


def _share(description: str) -> fields.Float:
    return fields.Float(allow_none=True, metadata={"minimum": 0, "maximum": 1, "description": description})


class CallFiguresSchema(Schema):
    """Inbound calls that reached the line: how many, and how fast an advisor answered."""

    inbound = fields.Integer(metadata={"description": "Inbound calls that reached the line."})
    answered = fields.Integer(metadata={"description": "Calls an advisor accepted."})
    abandoned = fields.Integer(metadata={"description": "Callers who hung up before reaching anyone."})
    voicemail = fields.Integer(metadata={"description": "Calls sent to voicemail or a call back."})
    service_level_20s = _share(
        "Share of inbound calls an advisor answered within 20 s of reaching the line; null with no calls."
    )
    average_speed_of_answer_seconds = _seconds(
        "Mean time from reaching the line to an advisor accepting, over answered calls; null when none."
    )
    abandonment_rate = _share("abandoned / inbound; null with no calls.")
    offers_per_answered_call = fields.Float(
        allow_none=True,
        metadata={
            "description": "Advisors rung for the answered calls (ring-all counting each) / answered calls."
        },
    )


class CallReportSchema(CallFiguresSchema):
    """The call figures of the range, and the same per hour of day and per region."""

    by_hour = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(CallFiguresSchema),
        metadata={"description": "Per local hour of day (00-23), every hour."},
    )
    by_region = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(CallFiguresSchema),
        metadata={"description": 'Per state code of the caller\'s lead ("unknown": none), most calls first.'},
    )


class RoutingReportSchema(Schema):
    """The routing report of the leads created between `start` and `end` (report time zone)."""

    start = fields.Date()
    end = fields.Date()
    timezone = fields.String(metadata={"example": "America/New_York"})
    filters = fields.Nested(ReportFiltersSchema)
    generated_at = fields.DateTime()
    leads = fields.Integer(metadata={"description": "Leads created in the range."})
    by_source = _counts("Leads per source.", LEAD_SOURCES)
    by_region = _counts('Leads per state code ("unknown": no state), most first.')
    by_urgency = _counts("Leads per urgency.", URGENCIES)
    by_day = _counts("Leads per local day (YYYY-MM-DD), every day of the range.")
    by_hour = _counts("Leads per local hour of day (00-23).")
    speed_to_lead_seconds = fields.Nested(SpeedToLeadSchema)
    speed_to_lead_by_urgency = fields.Dict(keys=fields.String(), values=fields.Nested(SpeedToLeadSchema))
    speed_to_lead_distribution = fields.List(fields.Nested(SpeedBucketSchema))
    sla = fields.Nested(SlaSchema)
    sla_met_pct = fields.Float(
        allow_none=True,
        metadata={"minimum": 0, "maximum": 100, "description": "met / (met + missed); null when both are 0."},
    )
    assignment_latency_seconds = fields.Nested(AssignmentLatencySchema)
    reassignments = fields.Integer()
    escalations = fields.Integer()
    calls = fields.Nested(
        CallReportSchema,
        metadata={"description": "Inbound calls that reached the line in the range, any lead date."},
    )
    funnel = fields.Nested(
        FunnelSchema, metadata={"description": f"Leads at or past each of {', '.join(FUNNEL_STAGES)}."}
    )
    advisors = fields.List(fields.Nested(AdvisorFiguresSchema))
