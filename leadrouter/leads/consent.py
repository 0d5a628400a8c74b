"""The consent ledger: whether a lead has allowed us to call or text it."""

from __future__ import annotations

from sqlalchemy import select

from leadrouter.extensions import db
from leadrouter.models import ConsentRecord, Lead


def has_consent(lead: Lead) -> bool:
    """Whether the latest consent record allows an outbound call or text."""
    given = db.session.scalar(
        select(ConsentRecord.given)
        .where(ConsentRecord.lead_id == lead.id)
        .order_by(ConsentRecord.id.desc())
        .limit(1)
    )
    return bool(given)
