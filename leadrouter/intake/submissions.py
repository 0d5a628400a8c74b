"""A partner's lead over the API: recorded once per Idempotency-Key, through the one intake.

Operations flush and never commit; the API view commits once.
"""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import Conflict

from leadrouter.extensions import db
from leadrouter.intake.operations import ConsentInput, LeadInput, record_lead
from leadrouter.models import ApiKey, IdempotencyRecord, Lead

# The request header a partner names a submission with; errors about it are reported on it.
IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Submission:
    lead: Lead
    status_code: int  # 201 created; 200 merged into a recent lead, or a replay
    replayed: bool = False


def submit_lead(
    api_key: ApiKey,
    fields: dict,
    *,
    actor: str,
    fingerprint: str,
    idempotency_key: str | None,
    client_ip: str | None,
    user_agent: str | None,
) -> Submission:
    """Record a partner's lead once per Idempotency-Key; flush, don't commit."""
    record = None
    if idempotency_key is not None:
        record = claim_idempotency_key(api_key, idempotency_key, fingerprint)
        if record.lead_id is not None:
            lead = db.session.get(Lead, record.lead_id)
            return Submission(lead=lead, status_code=200, replayed=True)
    lead_input = lead_input_from(fields, client_ip=client_ip, user_agent=user_agent)
    result = record_lead(lead_input, actor=actor)
    status_code = 201 if result.created else 200
    if record is not None:
        record.lead_id, record.status_code = result.lead.id, status_code
        db.session.flush()
    return Submission(lead=result.lead, status_code=status_code)


def claim_idempotency_key(api_key: ApiKey, key: str, fingerprint: str) -> IdempotencyRecord:
    """Return the key's record: a finished one to replay, or a fresh claim for this request.

    The unique (api_key_id, key) index makes a concurrent second request wait for the first
    and then see its record. The same key with another body is refused with 422, as the
    IETF Idempotency-Key draft recommends.
    """
    record = _idempotency_record(api_key.id, key)
    if record is None:
        claim = IdempotencyRecord(api_key_id=api_key.id, key=key, request_hash=fingerprint, status_code=0)
        try:
            with db.session.begin_nested():
                db.session.add(claim)
        except IntegrityError:
            record = _idempotency_record(api_key.id, key)
            if record is None:
                raise Conflict(
                    "A request with this Idempotency-Key is still being processed; retry shortly."
                ) from None
        else:
            return claim
    if record.request_hash != fingerprint:
        raise ValidationError(
            "This Idempotency-Key was already used with a different request body; "
            "use a new key for a new lead.",
            IDEMPOTENCY_HEADER,
        )
    return record


def _idempotency_record(api_key_id: int, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key
        )
    )


def lead_input_from(fields: dict, *, client_ip: str | None, user_agent: str | None) -> LeadInput:
    """Turn loaded intake fields into the channel-neutral LeadInput."""
    consent = fields.get("consent")
    consent_input = None
    if consent is not None:
        consent_input = ConsentInput(
            given=consent["given"],
            text=consent["text"],
            version=consent["version"],
            ip=consent.get("ip") or client_ip,
            user_agent=consent.get("user_agent") or user_agent,
            page_url=fields.get("page_url"),
        )
    preferences = {k: v for k, v in (fields.get("contact_preferences") or {}).items() if v is not None}
    utm = {k: v for k, v in (fields.get("utm") or {}).items() if v is not None}
    return LeadInput(
        source="api",
        name=fields["name"],
        phone=fields.get("phone"),
        email=fields.get("email"),
        for_whom=fields.get("for_whom") or "self",
        patient_name=fields.get("patient_name"),
        state=fields.get("state"),
        zip=fields.get("zip"),
        city=fields.get("city"),
        substances=tuple(fields.get("substances") or ()),
        dsm_criteria=tuple(fields.get("dsm_criteria") or ()),
        message=fields.get("message"),
        language=fields.get("language") or "en",
        preferred_time=fields.get("preferred_time"),
        contact_preferences=preferences,
        consent=consent_input,
        page_url=fields.get("page_url"),
        referrer=fields.get("referrer"),
        utm=utm,
    )
