"""Rate limits at their configured defaults, Twilio's exemption, and the limiter's storage failing.

Already covered elsewhere: the form's sixth post in a minute (tests/intake/test_protection.py)
and the API limit per key with a small limit (tests/api/test_rate_limit.py). This file runs
the shipped defaults (form 5, API 120 per key, sign-in 10 per address, per minute), proves
a spoofed X-Forwarded-For does not buy more tries, that Twilio's webhooks are never limited,
and what happens when the limiter's Redis is down (see SECURITY.md: each process keeps
limiting from memory; nobody gets a 500).
"""

from __future__ import annotations

import time

import pytest
import redis

from leadrouter.auth.api_keys import issue_api_key
from leadrouter.auth.users import create_user
from tests.api.conftest import bearer
from tests.conftest import PUBLIC_BASE_URL
from tests.dashboard.conftest import PASSWORD
from tests.fault_stack import PrivateRedis, free_port
from tests.intake.conftest import VALID_FORM
from tests.telephony.test_voice_webhooks import HELPLINE, new_sid, post_signed

# The honeypot filled: answered like a success (200), counted by the limit, stores nothing.
# (A 422, a form sent back to fix, is not counted: see tests/intake/test_protection.py.)
BOT_FORM = {**VALID_FORM, "website": "http://spam.example"}
QUICK_SECONDS = 1.0


def limited(make_app, **overrides):
    return make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", **overrides)


def test_the_api_allows_120_leads_a_minute_per_key(make_app):
    client = limited(make_app).test_client()
    _, busy = issue_api_key("partner", "Busy partner")
    _, quiet = issue_api_key("partner", "Quiet partner")

    statuses = {client.post("/api/v1/leads", json={}, headers=bearer(busy)).status_code for _ in range(120)}
    over = client.post("/api/v1/leads", json={}, headers=bearer(busy))

    assert statuses == {422}
    assert over.status_code == 429 and over.is_json
    assert int(over.headers["Retry-After"]) > 0
    assert client.post("/api/v1/leads", json={}, headers=bearer(quiet)).status_code == 422


def test_sign_in_allows_10_tries_a_minute_per_address(make_app, session):
    user = create_user("limit@example.org", PASSWORD, "advisor", "Lee Limit")
    client = limited(make_app).test_client()
    wrong = {"email": user.email, "password": "not-the-password"}

    statuses = [client.post("/login", data=wrong).status_code for _ in range(10)]
    over = client.post("/login", data={"email": user.email, "password": PASSWORD})
    elsewhere = client.post("/login", data=wrong, environ_base={"REMOTE_ADDR": "198.51.100.20"})

    assert statuses == [401] * 10
    assert over.status_code == 429, "even the right password waits once the address is over"
    assert int(over.headers["Retry-After"]) > 0
    assert elsewhere.status_code == 401


def test_a_spoofed_forwarded_for_does_not_buy_more_tries(make_app, session):
    """Behind one trusted proxy, only the address the proxy appended counts."""
    client = limited(make_app).test_client()

    def post(spoofed: str):
        headers = {"X-Forwarded-For": f"{spoofed}, 203.0.113.7"}
        return client.post("/contact", data=BOT_FORM, headers=headers).status_code

    statuses = [post(f"10.0.0.{n}") for n in range(6)]
    assert statuses == [200] * 5 + [429]


def test_twilio_webhooks_are_never_rate_limited(make_app):
    app = limited(make_app, RATELIMIT_APPLICATION="5 per minute", RATELIMIT_DEFAULT="5 per minute")
    client = app.test_client()

    voice = [
        post_signed(
            client,
            f"{PUBLIC_BASE_URL}/twilio/voice",
            {"CallSid": new_sid(), "From": "+15125550142", "To": HELPLINE},
        ).status_code
        for _ in range(30)
    ]
    status = [
        post_signed(
            client,
            f"{PUBLIC_BASE_URL}/twilio/voice/status",
            {"CallSid": new_sid(), "CallStatus": "completed"},
        ).status_code
        for _ in range(10)
    ]
    texts = [
        post_signed(
            client,
            f"{PUBLIC_BASE_URL}/twilio/sms",
            {"MessageSid": new_sid("SM"), "From": "+15125550143", "To": HELPLINE, "Body": "info please"},
        ).status_code
        for _ in range(10)
    ]

    assert voice == [200] * 30
    assert status == [200] * 10
    assert texts == [200] * 10
    # The same limits are live for everything else in this app.
    assert [client.get("/").status_code for _ in range(6)][-1] == 429


# --- the limiter's storage is down ---------------------------------------------------------------


def timed_post(client, path, **kwargs):
    started = time.monotonic()
    response = client.post(path, **kwargs)
    return response.status_code, time.monotonic() - started


def test_with_the_limiters_redis_unreachable_each_process_keeps_limiting_from_memory(make_app):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    client = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=dead).test_client()

    results = [timed_post(client, "/contact", data=BOT_FORM) for _ in range(6)]

    assert [status for status, _ in results] == [200] * 5 + [429]
    assert max(seconds for _, seconds in results) < QUICK_SECONDS


def test_with_the_limiters_redis_unreachable_sign_in_and_api_still_answer(make_app, session):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=dead, RATELIMIT_API_LEADS="2 per minute")
    client = app.test_client()
    _, key = issue_api_key("partner", "Partner")

    api = [client.post("/api/v1/leads", json={}, headers=bearer(key)).status_code for _ in range(3)]
    login = client.post("/login", data={"email": "nobody@example.org", "password": "not-it-at-all"})

    assert api == [422, 422, 429]
    assert login.status_code == 401


def test_when_the_limiters_redis_dies_mid_stream_requests_keep_being_served_and_limited(make_app, tmp_path):
    store = PrivateRedis(tmp_path).start()
    try:
        client = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=store.url).test_client()
        before = [timed_post(client, "/contact", data=BOT_FORM) for _ in range(3)]
        assert [status for status, _ in before] == [200] * 3
        assert redis.Redis(port=store.port).keys("LIMITS*"), "the counts were kept in Redis"

        store.kill()
        after = [timed_post(client, "/contact", data=BOT_FORM) for _ in range(6)]
    finally:
        store.kill()

    statuses = [status for status, _ in after]
    assert 500 not in statuses
    # Memory starts counting afresh when Redis goes: five more tries, then 429.
    assert statuses == [200] * 5 + [429]
    assert max(seconds for _, seconds in after) < QUICK_SECONDS


@pytest.mark.parametrize("path", ["/", "/help/tx"])
def test_pages_themselves_are_not_limited(make_app, path):
    client = limited(make_app).test_client()
    assert {client.get(path).status_code for _ in range(20)} == {200}


def test_on_redis_a_limited_request_costs_one_round_trip_and_its_headers_are_right(make_app, tmp_path):
    store = PrivateRedis(tmp_path).start()
    try:
        client = make_app(
            RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=store.url, RATELIMIT_API_LEADS="3 per minute"
        ).test_client()
        _, key = issue_api_key("partner", "Counted partner")
        server = redis.Redis(port=store.port)
        server.config_resetstat()
        began = time.time()
        answers = [client.post("/api/v1/leads", json={}, headers=bearer(key)) for _ in range(4)]
        stats = server.info("commandstats")
        commands = {name.removeprefix("cmdstat_"): figures["calls"] for name, figures in stats.items()}
    finally:
        store.kill()

    assert [answer.status_code for answer in answers] == [422, 422, 422, 429]
    assert [answer.headers["X-RateLimit-Remaining"] for answer in answers] == ["2", "1", "0", "0"]
    assert {answer.headers["X-RateLimit-Limit"] for answer in answers} == {"3"}
    for answer in answers:
        assert began + 55 <= int(answer.headers["X-RateLimit-Reset"]) <= time.time() + 62
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 61
    # One script per request counts it and reads its window (Redis counts the script's own
    # INCRBY and TTL too); the headers asked for nothing more: no GET, no TTL of their own.
    assert commands.get("incrby") == 4
    assert commands.get("get", 0) == 0 and commands.get("ttl", 0) == 4
