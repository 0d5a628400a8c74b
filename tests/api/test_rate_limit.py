"""POST /api/v1/leads is rate limited per API key (RATELIMIT_API_LEADS)."""

from __future__ import annotations

import pytest

from leadrouter import create_app
from leadrouter.auth.api_keys import issue_api_key
from leadrouter.extensions import limiter
from tests.api.conftest import bearer
from tests.conftest import base_config


@pytest.fixture
def limited_client(backend, database_urls, tmp_path, session):
    """A client of an app whose intake allows 2 leads a minute per key (same test transaction)."""
    enabled = limiter.enabled
    app = create_app(
        base_config(
            database_urls[backend],
            str(tmp_path),
            RATELIMIT_ENABLED=True,
            RATELIMIT_STORAGE_URI="memory://",
            RATELIMIT_API_LEADS="2 per minute",
        )
    )
    yield app.test_client()
    # The limiter is one object for every app in the process: give the others theirs back.
    limiter.enabled = enabled


def body(number: int) -> dict:
    return {"name": "Dana", "phone": f"+1512206{number:04d}"}


def test_the_third_lead_in_a_minute_is_429_json_with_retry_after(limited_client, session):
    _, raw = issue_api_key("partner", "Busy partner")
    _, other = issue_api_key("partner", "Quiet partner")

    statuses = [
        limited_client.post("/api/v1/leads", json=body(n), headers=bearer(raw)).status_code for n in range(3)
    ]
    over = limited_client.post("/api/v1/leads", json=body(9), headers=bearer(raw))
    quiet = limited_client.post("/api/v1/leads", json=body(8), headers=bearer(other))

    assert statuses == [201, 201, 429]
    assert over.status_code == 429 and over.is_json and "error" in over.get_json()
    assert int(over.headers["Retry-After"]) > 0
    assert quiet.status_code == 201  # the limit is per key, not global


def test_random_tokens_share_the_clients_address_bucket(limited_client, session):
    statuses = [
        limited_client.post("/api/v1/leads", json=body(n), headers=bearer(f"made-up-{n}")).status_code
        for n in range(3)
    ]
    assert statuses == [401, 401, 429]
