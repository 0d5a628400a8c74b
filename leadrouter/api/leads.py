"""Leads over the API: partner intake with idempotency, manager reads with an access log."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, g, jsonify, request, url_for
from marshmallow import ValidationError
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import BadRequest, NotFound

from leadrouter.api.auth import api_actor, rate_limit_key, require_api_key
from leadrouter.api.openapi import operation, response
from leadrouter.api.schemas.fields import day_bounds
from leadrouter.api.schemas.leads import (
    MAX_PAGE_SIZE,
    LeadInputSchema,
    LeadListQuerySchema,
    LeadListSchema,
    LeadReceiptSchema,
    LeadSchema,
)
from leadrouter.api.schemas.requests import body_fingerprint, load_json
from leadrouter.auth.access import log_access
from leadrouter.database import MAX_ID
from leadrouter.extensions import db, limiter
from leadrouter.intake.submissions import IDEMPOTENCY_HEADER, submit_lead
from leadrouter.models import ApiKey, Lead
from leadrouter.pagination import decode_cursor, encode_cursor

MAX_IDEMPOTENCY_KEY_LENGTH = 255


# --- reads -------------------------------------------------------------------------


def get_lead(lead_id: int) -> Lead:
    """The lead with everything its full view shows, or 404."""
    if not 0 < lead_id <= MAX_ID:  # beyond the column's range the database would raise
        raise NotFound(f"There is no lead {lead_id}.")
    lead = db.session.scalar(
        select(Lead)
        .where(Lead.id == lead_id)
        .options(
            selectinload(Lead.owner),
            selectinload(Lead.consent_records),
            selectinload(Lead.events),
            selectinload(Lead.follow_ups),
        )
    )
    if lead is None:
        raise NotFound(f"There is no lead {lead_id}.")
    return lead


def find_leads(filters: dict, report_timezone: str) -> tuple[list[Lead], str | None]:
    """One page of leads, newest first, and the cursor of the next page (keyset paging)."""
    query = select(Lead).options(selectinload(Lead.owner))
    for column in ("phone", "email", "status", "urgency", "source"):
        if filters.get(column) is not None:
            query = query.where(getattr(Lead, column) == filters[column])
    if filters.get("created_from") is not None:
        since = day_bounds(filters["created_from"], report_timezone, end=False)
        query = query.where(Lead.created_at >= since)
    if filters.get("created_to") is not None:
        until = day_bounds(filters["created_to"], report_timezone, end=True)
        query = query.where(Lead.created_at < until)
    if filters.get("cursor"):
        created_at, lead_id = _position_of(filters["cursor"])
        query = query.where(
            or_(
                Lead.created_at < created_at,
                and_(Lead.created_at == created_at, Lead.id < lead_id),
            )
        )
    limit = filters["limit"]
    rows = db.session.scalars(query.order_by(Lead.created_at.desc(), Lead.id.desc()).limit(limit + 1)).all()
    page = list(rows[:limit])
    next_cursor = _cursor_after(page[-1]) if len(rows) > limit else None
    return page, next_cursor


def _cursor_after(lead: Lead) -> str:
    return encode_cursor(lead.created_at, lead.id)


def _position_of(cursor: str) -> tuple[datetime, int]:
    try:
        created_at, lead_id = decode_cursor(cursor, datetime, int)
        if created_at.tzinfo is None or not 0 <= lead_id <= MAX_ID:
            raise ValueError(cursor)
    except ValueError:
        raise ValidationError(
            "Not a valid cursor; pass the next_cursor of the previous page.", "cursor"
        ) from None
    return created_at, lead_id


def log_lead_reads(leads: list[Lead], action: str, api_key: ApiKey) -> None:
    """Write one access-log row per lead whose personal data this response shows."""
    for lead in leads:
        log_access(action, lead.id, api_key_id=api_key.id)


# --- views --------------------------------------------------------------------------


# Built once: a schema instance copies its declared fields (deepcopy) when constructed, and
# loading or dumping keeps no state on it, so the intake path shares these.
_LEAD_INPUT = LeadInputSchema()
_LEAD_RECEIPT = LeadReceiptSchema()


def _intake_rate_limit() -> str:
    return current_app.config["RATELIMIT_API_LEADS"]


@operation(
    "createLead",
    tag="Leads",
    summary="Send a lead (partner key)",
    description="""Stores the lead before anything else happens and routes it to an advisor in
    the background. A lead with the same phone as one from the last 24 hours is merged into it
    (200). Without `consent` the lead is routed, but nobody calls or texts it. Rate limited per
    API key.""",
    body=LeadInputSchema,
    parameters=["IdempotencyKey"],
    responses={
        201: response("A new lead.", LeadReceiptSchema, headers=["Location", "Idempotent-Replayed"]),
        200: response(
            "Merged into this phone's lead from the last 24 hours, or a replay of an earlier "
            "request with the same Idempotency-Key.",
            LeadReceiptSchema,
            headers=["Location", "Idempotent-Replayed"],
        ),
    },
    errors=[409],  # the same Idempotency-Key still in progress
    rate_limited=True,
)
@limiter.limit(_intake_rate_limit, key_func=rate_limit_key)
@require_api_key("partner")
def create_lead():
    """POST /leads: 201 new lead; 200 merged into a recent one, or an Idempotency-Key replay."""
    idempotency_key = _idempotency_key_header()
    body, fields = load_json(_LEAD_INPUT)
    submission = submit_lead(
        g.api_key,
        fields,
        actor=api_actor(g.api_key),
        fingerprint=body_fingerprint(body),
        idempotency_key=idempotency_key,
        client_ip=request.remote_addr,
        user_agent=request.user_agent.string or None,
    )
    # Serialised before the commit, which expires the lead: afterwards reading it back
    # would cost another SELECT.
    receipt = _LEAD_RECEIPT.dump(submission.lead)
    location = url_for("api.show_lead", lead_id=submission.lead.id)
    db.session.commit()
    response = jsonify(receipt)
    response.status_code = submission.status_code
    response.headers["Location"] = location
    if idempotency_key is not None:
        response.headers["Idempotent-Replayed"] = "true" if submission.replayed else "false"
    return response


@operation(
    "getLead",
    tag="Leads",
    summary="Read one lead (manager key)",
    description="""The lead with its triage, owner, routing decision trace, follow-ups and
    timeline. The read is written to the access log.""",
    responses={200: response("The lead.", LeadSchema)},
)
@require_api_key("manager")
def show_lead(lead_id: int):
    """GET /leads/<id>: the full lead; the read is access-logged."""
    lead = get_lead(lead_id)
    log_lead_reads([lead], "api_view_lead", g.api_key)
    payload = LeadSchema().dump(lead)
    db.session.commit()
    return jsonify(payload)


@operation(
    "listLeads",
    tag="Leads",
    summary="Find leads (manager key)",
    description=f"""Newest first, at most {MAX_PAGE_SIZE} per page; follow `next_cursor`. Every
    lead listed is written to the access log.""",
    query=LeadListQuerySchema,
    responses={200: response("One page of leads.", LeadListSchema)},
)
@require_api_key("manager")
def list_leads():
    """GET /leads: filter by phone, email, status, urgency, source and creation date."""
    filters = LeadListQuerySchema().load(request.args.to_dict())
    leads, next_cursor = find_leads(filters, current_app.config["REPORT_TIMEZONE"])
    log_lead_reads(leads, "api_list_leads", g.api_key)
    payload = LeadListSchema().dump({"leads": leads, "next_cursor": next_cursor})
    db.session.commit()
    return jsonify(payload)


def _idempotency_key_header() -> str | None:
    value = request.headers.get(IDEMPOTENCY_HEADER)
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > MAX_IDEMPOTENCY_KEY_LENGTH or not value.isprintable() or not value.isascii():
        raise BadRequest(
            f"{IDEMPOTENCY_HEADER} must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII "
            "characters, e.g. a UUID."
        )
    return value
