"""Fixtures for the JSON API: API keys, a JSON client helper and a record of enqueued tasks."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from leadrouter import jobs
from leadrouter.auth.api_keys import issue_api_key
from leadrouter.models import AccessLog, AuditEntry, ConsentRecord, Event, IdempotencyRecord, Lead


@pytest.fixture
def partner_key(session):
    """A raw partner API key, and its row."""
    api_key, raw = issue_api_key("partner", "Partner site")
    return raw, api_key


@pytest.fixture
def manager_key(session):
    api_key, raw = issue_api_key("manager", "Manager tools")
    return raw, api_key


def bearer(raw_key: str, **headers) -> dict:
    return {"Authorization": f"Bearer {raw_key}", **headers}


@pytest.fixture
def enqueued(monkeypatch):
    """Task names sent to the broker after a commit (nothing really leaves the process)."""
    sent: list[str] = []

    def record(celery_app, task_name, args, options):
        sent.append(task_name)
        return True

    monkeypatch.setattr(jobs, "send_now", record)
    return sent


def row_counts(session) -> dict[str, int]:
    """How many rows each table an intake touches holds."""
    models = (Lead, ConsentRecord, Event, IdempotencyRecord, AccessLog, AuditEntry)
    return {model.__name__: session.scalar(select(func.count()).select_from(model)) for model in models}
