"""Keep the routing report's hourly rollups current."""

from __future__ import annotations

from celery import shared_task

from leadrouter.extensions import db
from leadrouter.reports import rollups


@shared_task(name="reports.refresh_rollups", acks_late=True, ignore_result=True)
def refresh_rollups() -> int:
    """Recompute the hours whose leads changed since the last run (see leadrouter/reports/rollups.py)."""
    return rollups.refresh(commit=db.session.commit)
