"""The database cannot be reached: a clear 503 for people and partners, valid TwiML for callers.

Two real ways to be unreachable: a PostgreSQL URL whose port refuses connections, and a
SQLite file in a directory that does not exist. Nothing is mocked: the driver fails.
(/twilio/voice itself is covered by tests/telephony/test_voice_webhooks.py::
test_database_down_still_answers_the_caller; this adds the later steps of a call.)
"""

from __future__ import annotations

import pytest
from flask_login.utils import _create_identifier

from leadrouter import create_app
from leadrouter.errors import DATABASE_RETRY_AFTER_SECONDS
from tests.api.conftest import bearer
from tests.conftest import PUBLIC_BASE_URL, base_config
from tests.fault_stack import free_port
from tests.intake.conftest import VALID_FORM, page_of
from tests.telephony.test_twiml import parse, said
from tests.telephony.test_voice_webhooks import CALLER, HELPLINE, new_sid, post_signed

ON_CALL = "+15125550122"


@pytest.fixture(params=["postgres-refused", "sqlite-missing-dir"])
def unreachable_url(request, tmp_path) -> str:
    if request.param == "postgres-refused":
        return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing?connect_timeout=1"
    return f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite'}"


@pytest.fixture
def down_app(unreachable_url, tmp_path):
    def build(**overrides):
        return create_app(base_config(unreachable_url, str(tmp_path / "instance"), **overrides))

    return build


def assert_no_trace_and_no_personal_data(body: str) -> None:
    for leaked in ("Traceback", "OperationalError", "psycopg", "sqlite", "SELECT", "INSERT"):
        assert leaked not in body
    for personal in (VALID_FORM["name"], VALID_FORM["message"], "206-0142", "2060142", CALLER[2:]):
        assert personal not in body


def test_the_form_answers_503_with_retry_after_and_the_helpline(down_app):
    client = down_app(ON_CALL_NUMBER=ON_CALL).test_client()
    response = client.post("/contact", data=VALID_FORM)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
    assert response.mimetype == "text/html"
    page = page_of(response)
    assert "what you sent was not saved" in page.text
    assert page.find_all("a", href="tel:+18005550100"), "a person can still call"
    assert "911" in page.text and "988" in page.text
    assert_no_trace_and_no_personal_data(response.get_data(as_text=True))


def test_sign_in_answers_503_not_a_stack_trace(down_app):
    response = down_app().test_client().post("/login", data={"email": "a@example.org", "password": "x" * 12})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_signed_in_managers_queue_answers_503_not_500(down_app):
    """The page is drawn for an anonymous visitor: knowing who is signed in needs the database."""
    client = down_app().test_client()
    with client.application.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()  # what Flask-Login's "strong" protection checks
    with client.session_transaction() as session:  # a session signed in before the outage
        session.update({"_user_id": "1:1", "_fresh": True, "_id": identifier})
    response = client.get("/dashboard")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
    page = page_of(response)
    assert "911" in page.text and page.find_all("a", href="tel:+18005550100")
    assert_no_trace_and_no_personal_data(response.get_data(as_text=True))


def test_the_api_answers_503_json_with_retry_after(down_app):
    client = down_app().test_client()
    body = {"name": VALID_FORM["name"], "phone": "+15122060142", "message": VALID_FORM["message"]}
    response = client.post("/api/v1/leads", json=body, headers=bearer("lr_partner_anything"))

    assert response.status_code == 503
    assert response.is_json and set(response.get_json()) == {"error"}
    assert response.headers["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
    assert_no_trace_and_no_personal_data(response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/twilio/voice", {}),
        ("/twilio/voice/menu", {"Digits": "1"}),
        ("/twilio/voice/menu", {"Digits": "0"}),
        ("/twilio/voice/emergency", {"Digits": "1"}),
        ("/twilio/voice/dial-result", {"DialCallStatus": "no-answer"}),
    ],
    ids=["answer", "menu-for-me", "menu-emergency", "after-emergency", "dial-result"],
)
def test_every_step_a_caller_hears_gives_the_emergency_notice_and_the_on_call_line(down_app, path, fields):
    client = down_app(ON_CALL_NUMBER=ON_CALL).test_client()
    params = {"CallSid": new_sid(), "From": CALLER, "To": HELPLINE, "CallerName": "JANE CALLER", **fields}

    response = post_signed(client, f"{PUBLIC_BASE_URL}{path}", params)

    assert response.status_code == 200 and response.mimetype == "text/xml"
    body = response.get_data(as_text=True)
    root = parse(body)
    assert "911" in said(root)
    dial = root.find("Dial")
    assert dial.text == ON_CALL and dial.get("callerId") == HELPLINE
    assert "JANE" not in body
    assert_no_trace_and_no_personal_data(body)


def test_without_an_on_call_line_the_caller_is_told_to_call_back(down_app):
    client = down_app(ON_CALL_NUMBER=None).test_client()
    params = {"CallSid": new_sid(), "From": CALLER, "To": HELPLINE, "Digits": "2"}
    root = parse(post_signed(client, f"{PUBLIC_BASE_URL}/twilio/voice/menu", params).get_data(as_text=True))
    assert "911" in said(root)
    assert root.find("Dial") is None
    assert root.find("Hangup") is not None
    assert "call" in said(root).lower()


def test_a_spanish_line_hears_the_fallback_in_spanish(down_app):
    client = down_app(ON_CALL_NUMBER=ON_CALL).test_client()
    params = {"CallSid": new_sid(), "From": CALLER, "To": HELPLINE, "Digits": "1"}
    root = parse(
        post_signed(client, f"{PUBLIC_BASE_URL}/twilio/voice/menu?lang=es", params).get_data(as_text=True)
    )
    assert {say.get("language") for say in root.iter("Say")} == {"es-MX"}
    assert root.find("Dial").text == ON_CALL


def test_a_status_callback_is_a_json_503_twilio_can_log(down_app):
    client = down_app().test_client()
    params = {"CallSid": new_sid(), "CallStatus": "completed", "CallDuration": "5"}
    response = post_signed(client, f"{PUBLIC_BASE_URL}/twilio/voice/status", params)
    assert response.status_code == 503 and response.is_json
