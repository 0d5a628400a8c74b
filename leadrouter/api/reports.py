"""The routing report over the API (manager keys): JSON, or the report's leads as CSV."""

from __future__ import annotations

from flask import g, jsonify, request

from leadrouter.api.auth import require_api_key
from leadrouter.api.openapi import operation, response
from leadrouter.api.schemas.reports import ReportQuerySchema, RoutingReportSchema
from leadrouter.auth.access import log_access
from leadrouter.extensions import db
from leadrouter.reports.csv_export import CALL_COLUMNS, COLUMNS, csv_response, export_detail
from leadrouter.reports.queries import MAX_RANGE_DAYS, routing_report
from leadrouter.reports.schemas import parse_report_args, report_timezone


@operation(
    "getRoutingReport",
    tag="Reports",
    summary="Read the routing report (manager key)",
    description=f"""What happened to the leads created between `start` and `end` (inclusive days
    in the report time zone, at most {MAX_RANGE_DAYS} days): volumes by source, region, urgency,
    day and hour; speed to lead; SLA; assignment latency; calls; the funnel; and per-advisor
    figures. With `format=csv` the answer is the report's leads (with `rows=calls`, its inbound
    calls), one row each, as a CSV download (counts, times and outcomes, never personal data);
    every CSV export is written to the access log.""",
    query=ReportQuerySchema,
    responses={
        200: response(
            "The report as JSON, or with `format=csv` its leads as CSV.",
            RoutingReportSchema,
            csv=f"A header row ({', '.join(COLUMNS)}), then one row per lead, oldest first; with "
            f"`rows=calls`, a header row ({', '.join(CALL_COLUMNS)}), then one row per call, oldest first.",
        )
    },
)
@require_api_key("manager")
def routing_report_view():
    """GET /reports/routing: the routing report as JSON, or its leads as CSV."""
    filters, output, rows = parse_report_args(request.args.to_dict())
    if output == "csv":
        log_access("export_report", api_key_id=g.api_key.id, detail=export_detail(filters, "api", rows))
        db.session.commit()
        return csv_response(filters, report_timezone(), rows)
    report = routing_report(filters, report_timezone())
    db.session.commit()  # the API key's last use
    return jsonify(report)
