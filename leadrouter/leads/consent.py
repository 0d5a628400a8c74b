"""The consent ledger: whether a lead has allowed us to call or text it."""

from __future__ import annotations

from sqlalchemy import func, select

from leadrouter.extensions import db
from leadrouter.models import ConsentRecord, Lead


def has_consent(lead: Lead) -> bool:
    """Whether the latest consent record allows an outbound call or text."""
    return lead.id in consenting_lead_ids([lead.id])


def consenting_lead_ids(lead_ids: list[int]) -> set[int]:
    """Those of the leads whose latest consent record allows an outbound call or text."""
    latest = (
        select(func.max(ConsentRecord.id))
        .where(ConsentRecord.lead_id.in_(lead_ids))
        .group_by(ConsentRecord.lead_id)
    )
    query = select(ConsentRecord.lead_id).where(ConsentRecord.id.in_(latest), ConsentRecord.given.is_(True))
    return set(db.session.scalars(query))
