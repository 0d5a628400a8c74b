"""Advisors over the API (manager keys): list, create, read and change them.

Whenever a change can let an advisor take more work (available again, more capacity,
wider coverage), the waiting queue is drained right after the commit.
"""

from __future__ import annotations

from flask import g, jsonify, request, url_for
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import NotFound

from leadrouter.api.auth import api_actor, require_api_key
from leadrouter.api.leads import MAX_ID
from leadrouter.api.openapi import operation, response
from leadrouter.api.schemas.advisors import AdvisorListQuerySchema, AdvisorListSchema, AdvisorSchema
from leadrouter.api.schemas.requests import load_json
from leadrouter.extensions import db
from leadrouter.jobs import enqueue
from leadrouter.models import NATIONAL_POOL, Advisor, AuditEntry, utcnow

# Changes that can make an available advisor eligible for a waiting lead.
_COVERAGE_FIELDS = ("regions", "languages", "timezone", "shift_hours", "active")


# --- operations ---------------------------------------------------------------------


def find_advisors(filters: dict) -> list[Advisor]:
    """Advisors matching the filters, by id."""
    query = select(Advisor).order_by(Advisor.id)
    if filters.get("email"):
        query = query.where(func.lower(Advisor.email) == filters["email"])
    if filters.get("status"):
        query = query.where(Advisor.status == filters["status"])
    advisors = list(db.session.scalars(query))
    if filters.get("region"):
        # Regions are a JSON list; a call center has tens of advisors, so filter here
        # rather than write dialect-specific JSON SQL.
        region = filters["region"]
        advisors = [a for a in advisors if region in (a.regions or ()) or NATIONAL_POOL in (a.regions or ())]
    return advisors


def get_advisor(advisor_id: int) -> Advisor:
    """The advisor, or 404."""
    advisor = db.session.get(Advisor, advisor_id) if 0 < advisor_id <= MAX_ID else None
    if advisor is None:
        raise NotFound(f"There is no advisor {advisor_id}.")
    return advisor


def create_advisor(fields: dict, actor: str) -> Advisor:
    """Add an advisor; an available one drains the queue after the commit."""
    _require_unique_email(fields["email"])
    advisor = Advisor(**fields, open_leads=0, status_changed_at=utcnow())
    _flush_advisor(advisor)
    _audit(actor, "advisor.created", advisor, {"fields": sorted(fields)})
    if advisor.status == "available" and advisor.active:
        enqueue("routing.drain_queue")
    return advisor


def update_advisor(advisor: Advisor, changes: dict, actor: str) -> Advisor:
    """Apply a partial update; drain the queue when the advisor can now take more leads."""
    if "email" in changes and changes["email"] != advisor.email.lower():
        _require_unique_email(changes["email"], exclude_id=advisor.id)
    before = {field: getattr(advisor, field) for field in changes}
    for field, value in changes.items():
        setattr(advisor, field, value)
    changed = sorted(field for field in changes if before[field] != changes[field])
    if "status" in changed:
        advisor.status_changed_at = utcnow()
    _flush_advisor(advisor)
    if changed:
        _audit(
            actor,
            "advisor.updated",
            advisor,
            {
                "changed": {
                    field: {"from": _plain(before[field]), "to": _plain(changes[field])}
                    for field in changed
                    if field not in ("name", "email", "phone")
                },
                "fields": changed,
            },
        )
    if _can_take_more(advisor, before, changed):
        enqueue("routing.drain_queue")
    return advisor


def _can_take_more(advisor: Advisor, before: dict, changed: list[str]) -> bool:
    if advisor.status != "available" or not advisor.active:
        return False
    became_available = "status" in changed
    more_capacity = "capacity" in changed and advisor.capacity > before["capacity"]
    wider_coverage = any(field in changed for field in _COVERAGE_FIELDS)
    return became_available or more_capacity or wider_coverage


def _require_unique_email(email: str, exclude_id: int | None = None) -> None:
    query = select(Advisor.id).where(func.lower(Advisor.email) == email.lower())
    if exclude_id is not None:
        query = query.where(Advisor.id != exclude_id)
    existing = db.session.scalar(query)
    if existing is not None:
        raise ValidationError(f"Advisor {existing} already has this email address.", "email")


def _flush_advisor(advisor: Advisor) -> None:
    """Flush in a savepoint so a concurrent duplicate email is a 422, not a 500."""
    try:
        with db.session.begin_nested():
            db.session.add(advisor)
    except IntegrityError:
        raise ValidationError("Another advisor already has this email address.", "email") from None


def _audit(actor: str, action: str, advisor: Advisor, detail: dict) -> None:
    db.session.add(AuditEntry(actor=actor, action=action, target=f"advisor:{advisor.id}", detail=detail))


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


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
