"""Tasks that prove the pipeline itself works."""

from __future__ import annotations

from celery import shared_task

from leadrouter.extensions import db
from leadrouter.models import AuditEntry


@shared_task(name="diagnostics.record_heartbeat", acks_late=True)
def record_heartbeat(token: str) -> None:
    """Write one audit row: the round trip web -> broker -> worker -> database."""
    db.session.add(AuditEntry(actor="worker", action="heartbeat", target=token[:120]))
    db.session.commit()
