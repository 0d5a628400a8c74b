"""Floods are refused with 413 before the app does any database work.

A statement counter on the engine proves "before any database work": not one SQL
statement runs for the refused request (no API key lookup, no session user, no lead).
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from leadrouter.auth.users import create_user
from leadrouter.extensions import db
from tests.api.conftest import bearer, row_counts
from tests.dashboard.conftest import sign_in
from tests.factories import make_lead
from tests.telephony.test_voice_webhooks import post_signed

ENDPOINTS = ["/contact", "/api/v1/leads", "/twilio/voice", "/login"]
TEN_MB = 10 * 1024 * 1024


@contextmanager
def statements_run(app):
    """Collect every SQL statement sent while the block runs."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _headers(path: str) -> dict:
    # Each request carries what its endpoint would check first, so a 413 is not a 401/403.
    if path.startswith("/api/"):
        return bearer("lr_partner_key_that_would_need_a_lookup")
    if path.startswith("/twilio/"):
        return {"X-Twilio-Signature": "would-need-checking"}
    return {}


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_10_mb_body_is_413_before_any_sql(app, client, session, path):
    before = row_counts(session)
    with statements_run(app) as statements:
        response = client.post(
            path,
            data=b"a=" + b"x" * TEN_MB,
            content_type="application/x-www-form-urlencoded",
            headers=_headers(path),
        )
    assert response.status_code == 413
    assert statements == []
    assert "Traceback" not in response.get_data(as_text=True)
    assert row_counts(session) == before


def test_a_10_mb_json_body_to_the_api_is_413_json_before_any_sql(app, client, session):
    with statements_run(app) as statements:
        response = client.post(
            "/api/v1/leads",
            data=b'{"name": "' + b"x" * TEN_MB + b'"}',
            content_type="application/json",
            headers=_headers("/api/v1/leads"),
        )
    assert response.status_code == 413 and response.is_json
    assert statements == []


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_10000_field_form_is_413_before_any_sql(app, client, session, path):
    fields = {f"f{i}": "x" for i in range(10_000)}
    before = row_counts(session)
    with statements_run(app) as statements:
        response = client.post(path, data=fields, headers=_headers(path))
    assert response.status_code == 413
    assert statements == []
    assert row_counts(session) == before


def test_a_validly_signed_10000_field_webhook_is_still_413(app, client, session):
    """Even a genuine Twilio signature over the flood does not get it past the count."""
    fields = {f"f{i}": "x" for i in range(10_000)}
    fields.update(CallSid="CA" + "f" * 32, From="+15125550142", To="+18005550100")
    with statements_run(app) as statements:
        response = post_signed(client, "https://helpline.example.org/twilio/voice", fields)
    assert response.status_code == 413 and response.is_json
    assert statements == []


@pytest.mark.parametrize("path", ["/contact", "/login"])
def test_a_multipart_form_with_too_many_parts_is_413_before_any_sql(app, client, session, path):
    # 1,000 small parts fit in the size limit, so it is the part count that refuses them.
    body = "".join(f'--b\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nx\r\n' for i in range(1000))
    body += "--b--\r\n"
    assert len(body) < 256 * 1024
    with statements_run(app) as statements:
        response = client.post(path, data=body, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 413
    assert statements == []


def test_a_dashboard_post_flood_is_413_before_the_session_user_is_loaded(app, session):

    create_user("flood@example.org", "correct-horse-battery", "manager", "Flood Test")
    client = app.test_client()
    assert sign_in(client, "flood@example.org").status_code == 302
    lead = make_lead()
    fields = {f"f{i}": "x" for i in range(10_000)}
    with statements_run(app) as statements:
        response = client.post(f"/leads/{lead.id}/notes", data=fields)
    assert response.status_code == 413
    assert statements == []


def test_ordinary_requests_still_pass_the_guard(client, session):
    assert client.get("/").status_code == 200
    assert client.post("/contact", data={"name": "x"}).status_code == 422
