"""Advisors over the API (manager keys): list, create, read and change them."""

from __future__ import annotations

from flask import g, jsonify, request, url_for
from werkzeug.exceptions import NotFound

from leadrouter.api.auth import api_actor, require_api_key
from leadrouter.api.leads import MAX_ID
from leadrouter.api.schemas import (
    AdvisorListQuerySchema,
    AdvisorListSchema,
    AdvisorSchema,
    load_json,
)
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


@require_api_key("manager")
def list_advisors():
    """GET /advisors: every advisor, optionally filtered by email, status or region."""
    filters = AdvisorListQuerySchema().load(request.args.to_dict())
    advisors = find_advisors(filters)
    db.session.commit()
    return jsonify(AdvisorListSchema().dump({"advisors": advisors}))


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


@require_api_key("manager")
def show_advisor(advisor_id: int):
    """GET /advisors/<id>."""
    advisor = get_advisor(advisor_id)
    db.session.commit()
    return jsonify(AdvisorSchema().dump(advisor))


@require_api_key("manager")
def update_advisor_view(advisor_id: int):
    """PATCH /advisors/<id>: change any field but id and open_leads."""
    advisor = get_advisor(advisor_id)
    _, changes = load_json(AdvisorSchema(partial=True))
    update_advisor(advisor, changes, api_actor(g.api_key))
    db.session.commit()
    return jsonify(AdvisorSchema().dump(advisor))
