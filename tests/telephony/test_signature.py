"""X-Twilio-Signature: only Twilio gets in, behind any proxy, and a refusal stores nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator
from werkzeug.exceptions import Forbidden

from leadrouter.extensions import db
from leadrouter.models import AuditEntry, Call, ContactPreference, Event, Lead, Recording, TextMessage
from leadrouter.telephony.signature import is_valid_twilio_request, verify_twilio_request
from tests.conftest import PUBLIC_BASE_URL, TWILIO_TEST_TOKEN
from tests.telephony.test_twiml import parse
from tests.telephony.test_voice_webhooks import CALLER, HELPLINE, new_sid, post_signed

# Twilio's published example (docs: "Webhooks security", and the twilio library's own tests).
VECTOR_TOKEN = "12345"
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
VECTOR_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="

ENDPOINTS = [
    "/twilio/voice",
    "/twilio/voice/menu",
    "/twilio/voice/emergency",
    "/twilio/voice/whisper?call=CA1",
    "/twilio/voice/whisper/accept?call=CA1",
    "/twilio/voice/dial-result",
    "/twilio/voice/voicemail",
    "/twilio/voice/recording",
    "/twilio/voice/status",
    "/twilio/sms",
]
MODELS = (Lead, Call, Event, Recording, TextMessage, ContactPreference, AuditEntry)


def params_for_everything() -> dict:
    """Parameters that would make every endpoint store something if it ran."""
    return {
        "CallSid": new_sid(),
        "MessageSid": new_sid("SM"),
        "From": CALLER,
        "To": HELPLINE,
        "Body": "STOP",
        "Digits": "1",
        "CallStatus": "completed",
        "DialCallStatus": "no-answer",
        "RecordingSid": new_sid("RE"),
        "RecordingUrl": "https://api.twilio.com/recording",
        "RecordingDuration": "30",
    }


def row_counts() -> dict:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in MODELS}


# --- the published vector, through our own check -----------------------------------------------


def test_published_vector_passes_the_library_and_our_check(app):
    assert RequestValidator(VECTOR_TOKEN).compute_signature(VECTOR_URL, VECTOR_PARAMS) == VECTOR_SIGNATURE
    assert is_valid_twilio_request(VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS, VECTOR_SIGNATURE)
    assert not is_valid_twilio_request(
        VECTOR_TOKEN, VECTOR_URL, {**VECTOR_PARAMS, "Digits": "1235"}, VECTOR_SIGNATURE
    )
    assert not is_valid_twilio_request("54321", VECTOR_URL, VECTOR_PARAMS, VECTOR_SIGNATURE)


@pytest.mark.parametrize("public_base_url", [None, "https://mycompany.com"])
def test_published_vector_through_the_request_check(app, monkeypatch, public_base_url):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", VECTOR_TOKEN)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", public_base_url)
    request = {
        "path": "/myapp.php?foo=1&bar=2",
        "base_url": "https://mycompany.com" if public_base_url is None else "http://10.0.0.7:5000",
        "method": "POST",
        "data": VECTOR_PARAMS,
    }
    with app.test_request_context(headers={"X-Twilio-Signature": VECTOR_SIGNATURE}, **request):
        assert verify_twilio_request() is None
    with (
        app.test_request_context(
            headers={"X-Twilio-Signature": VECTOR_SIGNATURE},
            **{**request, "data": {**VECTOR_PARAMS, "Digits": "9"}},
        ),
        pytest.raises(Forbidden),
    ):
        verify_twilio_request()


# --- refusals store nothing ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("forgery", ["missing", "wrong-token", "tampered", "other-url", "garbage"])
def test_bad_signatures_are_refused_and_store_nothing(client, session, path, forgery):
    url = PUBLIC_BASE_URL + path
    params = params_for_everything()
    before = row_counts()
    validator = RequestValidator(TWILIO_TEST_TOKEN)
    headers = {
        "missing": {},
        "wrong-token": {"X-Twilio-Signature": RequestValidator("x" * 32).compute_signature(url, params)},
        "tampered": {
            "X-Twilio-Signature": validator.compute_signature(url, {**params, "From": "+15125550000"})
        },
        "other-url": {"X-Twilio-Signature": validator.compute_signature(url + "x", params)},
        "garbage": {"X-Twilio-Signature": "not a signature"},
    }[forgery]
    response = client.post(path, data=params, headers=headers, base_url=PUBLIC_BASE_URL)
    assert response.status_code == 403
    assert response.is_json and "signature" in response.get_json()["error"].lower()
    assert row_counts() == before


def test_no_auth_token_configured_refuses_clearly(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", None)
    before = row_counts()
    response = post_signed(client, f"{PUBLIC_BASE_URL}/twilio/voice", params_for_everything())
    assert response.status_code == 503
    assert "TWILIO_AUTH_TOKEN" in response.get_json()["error"]
    assert row_counts() == before


def test_validation_switched_off_explicitly_lets_unsigned_requests_in(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", None)
    monkeypatch.setitem(app.config, "TWILIO_VALIDATE_SIGNATURE", False)
    response = client.post("/twilio/voice", data={"CallSid": new_sid(), "From": CALLER, "To": HELPLINE})
    assert response.status_code == 200 and parse(response.get_data(as_text=True)).find("Gather") is not None


# --- behind a proxy ---------------------------------------------------------------------------------


def test_signature_behind_a_proxy_with_port_and_query_string(client, app, monkeypatch):
    """No PUBLIC_BASE_URL: the URL comes from the request as ProxyFix corrects it."""
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", None)
    public = "https://helpline.example.org:8443/twilio/voice?campaign=spring%20billboard&lang=en"
    params = {"CallSid": new_sid(), "From": CALLER, "To": HELPLINE}
    signature = RequestValidator(TWILIO_TEST_TOKEN).compute_signature(public, params)
    response = client.post(
        "/twilio/voice?campaign=spring%20billboard&lang=en",
        data=params,
        base_url="http://helpline.example.org",
        headers={"X-Twilio-Signature": signature, "X-Forwarded-Proto": "https", "X-Forwarded-Port": "8443"},
    )
    assert response.status_code == 200
    # The next URL Twilio will sign is the public one too.
    gather = parse(response.get_data(as_text=True)).find("Gather")
    assert gather.get("action") == "https://helpline.example.org:8443/twilio/voice/menu"


def test_public_base_url_with_a_non_standard_port(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://helpline.example.org:8443")
    url = "https://helpline.example.org:8443/twilio/voice?source=ad"
    response = post_signed(client, url, {"CallSid": new_sid(), "From": CALLER, "To": HELPLINE})
    assert response.status_code == 200
    # Internally the app was reached on plain http and another port; that does not matter.
    params = {"CallSid": new_sid(), "From": CALLER, "To": HELPLINE}
    signature = RequestValidator(TWILIO_TEST_TOKEN).compute_signature(url, params)
    internal = client.post(
        "/twilio/voice?source=ad",
        data=params,
        base_url="http://10.0.0.5:5000",
        headers={"X-Twilio-Signature": signature},
    )
    assert internal.status_code == 200


@pytest.mark.parametrize("public_base_url", [None, PUBLIC_BASE_URL])
def test_spoofed_forwarded_host_is_refused(client, app, monkeypatch, public_base_url):
    """A request Twilio signed for another host cannot be replayed here by faking the Host."""
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", public_base_url)
    params = {"CallSid": new_sid(), "From": CALLER, "To": HELPLINE}
    before = row_counts()
    forged_for = "https://evil.example/twilio/voice"
    response = client.post(
        "/twilio/voice",
        data=params,
        base_url="https://helpline.example.org",
        headers={
            "X-Twilio-Signature": RequestValidator(TWILIO_TEST_TOKEN).compute_signature(forged_for, params),
            "X-Forwarded-Host": "evil.example",
        },
    )
    assert response.status_code == 403
    assert row_counts() == before


def test_valid_signature_over_extra_unknown_parameters_is_accepted(client, session):
    params = {
        "CallSid": new_sid(),
        "From": CALLER,
        "To": HELPLINE,
        "StirVerstat": "TN-Validation-Passed-A",
        "AddOns": '{"status":"successful","results":{}}',
        "SomethingTwilioAddsNextYear": "ünïcødé ✓",
    }
    response = post_signed(client, f"{PUBLIC_BASE_URL}/twilio/voice", params)
    assert response.status_code == 200


def test_shared_key_signatures(client, app, monkeypatch):
    url = f"{PUBLIC_BASE_URL}/twilio/voice"
    params = {"CallSid": new_sid(), "From": CALLER, "To": HELPLINE}
    settings = {"X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"}
    shared_key = "s" * 40
    signature = RequestValidator(shared_key).compute_signature(url, params, "HMAC_SHA256")
    headers = {**settings, "X-Twilio-Signature": signature}
    # Not configured: it cannot be verified, so it is refused.
    assert (
        client.post("/twilio/voice", data=params, headers=headers, base_url=PUBLIC_BASE_URL).status_code
        == 403
    )
    monkeypatch.setitem(app.config, "TWILIO_WEBHOOK_SHARED_KEY", shared_key)
    assert (
        client.post("/twilio/voice", data=params, headers=headers, base_url=PUBLIC_BASE_URL).status_code
        == 200
    )
    unknown = {**headers, "X-Twilio-Webhooks-Signature-Settings": "key=k,algorithm=HMAC_MD5"}
    assert (
        client.post("/twilio/voice", data=params, headers=unknown, base_url=PUBLIC_BASE_URL).status_code
        == 403
    )


# --- the blueprint's other guarantees ------------------------------------------------------------


def test_twilio_blueprint_needs_no_csrf_token(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = post_signed(client, f"{PUBLIC_BASE_URL}/twilio/voice", {"CallSid": new_sid(), "From": CALLER})
    assert response.status_code == 200


def test_wrong_method_and_oversize_body_get_json_errors(client, app):
    assert client.get("/twilio/voice").status_code == 405
    huge = {"CallSid": new_sid(), "Body": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)}
    response = client.post("/twilio/sms", data=huge, headers={"X-Twilio-Signature": "x"})
    assert response.status_code == 413 and response.is_json
