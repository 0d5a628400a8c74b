"""The JSON API at /api/v1: its URL table and its error format.

Every /api/v1 route is registered here, and each view documents itself (`openapi.operation`);
the OpenAPI document is generated from this blueprint's rules. Bearer API keys, not cookies,
authenticate it, so it is exempt from CSRF.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from marshmallow import ValidationError

from leadrouter.api import advisors, leads, openapi, reports
from leadrouter.api.schemas.errors import error_messages
from leadrouter.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

ROUTES = (
    ("/leads", "create_lead", leads.create_lead, ["POST"]),
    ("/leads", "list_leads", leads.list_leads, ["GET"]),
    ("/leads/<int:lead_id>", "show_lead", leads.show_lead, ["GET"]),
    ("/advisors", "list_advisors", advisors.list_advisors, ["GET"]),
    ("/advisors", "create_advisor", advisors.create_advisor_view, ["POST"]),
    ("/advisors/<int:advisor_id>", "show_advisor", advisors.show_advisor, ["GET"]),
    ("/advisors/<int:advisor_id>", "update_advisor", advisors.update_advisor_view, ["PATCH"]),
    ("/reports/routing", "routing_report", reports.routing_report_view, ["GET"]),
    ("/openapi.json", "openapi", openapi.openapi_json, ["GET"]),
    ("/docs", "docs", openapi.docs_page, ["GET"]),
)
for rule, endpoint, view, methods in ROUTES:
    bp.add_url_rule(rule, endpoint, view, methods=methods)


@bp.errorhandler(ValidationError)
def _unprocessable(error: ValidationError):
    """422 naming every bad field: {"errors": {"field": ["message", ...]}}."""
    messages = error.messages if isinstance(error.messages, dict) else {error.field_name: error.messages}
    return jsonify(errors=error_messages(messages)), 422
