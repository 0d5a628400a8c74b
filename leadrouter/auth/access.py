"""The access log: every read of a lead's personal data, by whom, from where."""

from __future__ import annotations

from flask import request

from leadrouter.extensions import db
from leadrouter.models import AccessLog


def log_access(
    action: str,
    lead_id: int | None = None,
    *,
    user_id: int | None = None,
    api_key_id: int | None = None,
    detail: dict | None = None,
) -> None:
    """Record one access; the caller's commit stores it with the rest of the request."""
    db.session.add(
        AccessLog(
            action=action,
            lead_id=lead_id,
            user_id=user_id,
            api_key_id=api_key_id,
            ip=request.remote_addr if request else None,
            detail=detail or {},
        )
    )
