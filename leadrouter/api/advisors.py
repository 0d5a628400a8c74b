"""Advisors over the API (manager keys): list, create, read and change them."""

from __future__ import annotations

from flask import g, jsonify, request, url_for
from werkzeug.exceptions import NotFound

from leadrouter.api.auth import api_actor, require_api_key
from leadrouter.api.openapi import operation, response
from leadrouter.api.schemas.advisors import AdvisorListQuerySchema, AdvisorListSchema, AdvisorSchema
from leadrouter.api.schemas.requests import load_json
from leadrouter.database import MAX_ID
from leadrouter.extensions import db
from leadrouter.models import Advisor
from leadrouter.team.operations import create_advisor, find_advisors, update_advisor


def get_advisor(advisor_id: int) -> Advisor:
    """The advisor, or 404."""
    advisor = db.session.get(Advisor, advisor_id) if 0 < advisor_id <= MAX_ID else None
    if advisor is None:
        raise NotFound(f"There is no advisor {advisor_id}.")
    return advisor


# --- views --------------------------------------------------------------------------


@operation(
    "listAdvisors",
    tag="Advisors",
    summary="List advisors (manager key)",
    query=AdvisorListQuerySchema,
    responses={200: response("Advisors, by id.", AdvisorListSchema)},
)
@require_api_key("manager")
def list_advisors():
    """GET /advisors: every advisor, optionally filtered by email, status or region."""
    filters = AdvisorListQuerySchema().load(request.args.to_dict())
    advisors = find_advisors(filters)
    db.session.commit()
    return jsonify(AdvisorListSchema().dump({"advisors": advisors}))


@operation(
    "createAdvisor",
    tag="Advisors",
    summary="Add an advisor (manager key)",
    description="""Email addresses are unique (422 otherwise). An available advisor starts
    taking waiting leads at once.""",
    body=AdvisorSchema,
    responses={201: response("The new advisor.", AdvisorSchema, headers=["Location"])},
)
@require_api_key("manager")
def create_advisor_view():
    """POST /advisors: 201 with the new advisor."""
    _, fields = load_json(AdvisorSchema())
    advisor = create_advisor(fields, api_actor(g.api_key))
    db.session.commit()
    response = jsonify(AdvisorSchema().dump(advisor))
    response.status_code = 201
    response.headers["Location"] = url_for("api.show_advisor", advisor_id=advisor.id)
    return response


@operation(
    "getAdvisor",
    tag="Advisors",
    summary="Read one advisor (manager key)",
    responses={200: response("The advisor.", AdvisorSchema)},
)
@require_api_key("manager")
def show_advisor(advisor_id: int):
    """GET /advisors/<id>."""
    advisor = get_advisor(advisor_id)
    db.session.commit()
    return jsonify(AdvisorSchema().dump(advisor))


@operation(
    "updateAdvisor",
    tag="Advisors",
    summary="Change an advisor (manager key)",
    description="""Send only the fields to change; every field but `id` and `open_leads` can be
    changed. Becoming available, more capacity or wider coverage lets the advisor take waiting
    leads at once.""",
    body=AdvisorSchema(partial=True),
    responses={200: response("The advisor after the change.", AdvisorSchema)},
)
@require_api_key("manager")
def update_advisor_view(advisor_id: int):
    """PATCH /advisors/<id>: change any field but id and open_leads."""
    advisor = get_advisor(advisor_id)
    _, changes = load_json(AdvisorSchema(partial=True))
    update_advisor(advisor, changes, api_actor(g.api_key))
    db.session.commit()
    return jsonify(AdvisorSchema().dump(advisor))
