"""A verified API key is remembered for CACHE_SECONDS: one lookup, revocation within that time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from leadrouter.auth import api_keys
from leadrouter.extensions import db
from leadrouter.models import ApiKey, utcnow
from tests.api.conftest import bearer

URL = "/api/v1/leads"


def post(client, raw: str, phone: str):
    body = {"name": "Dana Example", "phone": phone, "state": "TX"}
    return client.post(URL, json=body, headers=bearer(raw))


@pytest.fixture
def api_key_statements(app, session):
    """SQL statements that read or write the api_keys table, as they run."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        if "api_keys" in statement:
            seen.append(statement.split()[0].upper())

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        yield seen
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_key_is_looked_up_once_then_served_from_memory(client, partner_key, api_key_statements, enqueued):
    raw, _ = partner_key
    assert post(client, raw, "+15122060101").status_code == 201
    assert api_key_statements.count("SELECT") == 1
    for n in range(3):
        assert post(client, raw, f"+1512206011{n}").status_code == 201
    assert api_key_statements.count("SELECT") == 1


def test_a_revoked_key_is_refused_once_the_cache_time_is_over(
    client, session, partner_key, monkeypatch, enqueued
):
    raw, api_key = partner_key
    clock = [1000.0]
    monkeypatch.setattr(api_keys.time, "monotonic", lambda: clock[0])
    assert post(client, raw, "+15122060101").status_code == 201
    api_key.revoked_at = utcnow()
    session.flush()
    clock[0] += api_keys.CACHE_SECONDS - 1
    assert post(client, raw, "+15122060102").status_code == 201
    clock[0] += 2
    assert post(client, raw, "+15122060103").status_code == 401
    assert post(client, raw, "+15122060104").status_code == 401


def test_last_used_at_is_written_at_most_once_a_minute(
    client, session, partner_key, monkeypatch, api_key_statements, enqueued
):
    raw, api_key = partner_key
    assert post(client, raw, "+15122060101").status_code == 201
    first_use = session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == api_key.id))
    assert first_use is not None
    for n in range(3):
        assert post(client, raw, f"+1512206011{n}").status_code == 201
    assert api_key_statements.count("UPDATE") == 1

    later = first_use + timedelta(minutes=2)
    monkeypatch.setattr(api_keys, "utcnow", lambda: later)
    for n in range(3):
        assert post(client, raw, f"+1512206012{n}").status_code == 201
    assert api_key_statements.count("UPDATE") == 2
    session.expire_all()
    assert session.get(ApiKey, api_key.id).last_used_at == later


def test_a_key_served_from_memory_has_its_columns(app, session, partner_key):
    raw, api_key = partner_key
    with app.test_request_context():
        api_keys.find_api_key(raw)
        cached = api_keys.find_api_key(raw)
    assert cached is not api_key
    assert (cached.id, cached.role, cached.name, cached.prefix, cached.revoked_at) == (
        api_key.id,
        "partner",
        "Partner site",
        api_key.prefix,
        None,
    )
