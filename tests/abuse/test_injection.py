"""SQL, HTML and TwiML injection in every free-text field: stored as text, shown escaped.

Already covered: HTML in the form's name and message (tests/intake/test_contact.py), HTML
in API fields (tests/api/test_lead_intake.py), script in a name on the dashboard
(tests/dashboard/test_queue_and_lead.py), and a CallerName that tries to close <Say>
(tests/telephony/test_voice_webhooks.py). This goes through every free-text field of both
intake routes with one payload that is all three attacks at once.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from leadrouter.assignment.operations import route_lead
from leadrouter.auth.api_keys import issue_api_key
from leadrouter.auth.users import create_user
from leadrouter.models import Lead
from tests.api.conftest import bearer
from tests.conftest import PUBLIC_BASE_URL
from tests.dashboard.conftest import PASSWORD, sign_in
from tests.factories import make_advisor
from tests.intake.conftest import VALID_FORM, page_of
from tests.telephony.test_twiml import MESSAGING_VERBS, parse
from tests.telephony.test_voice_webhooks import HELPLINE, new_sid, post_signed

PAYLOAD = "x'); DROP TABLE leads;-- <script>alert(1)</script></Say><Dial>+19005550199</Dial>"
RAW_MARKUP = ("<script>alert(1)</script>", "</Say><Dial>")

FORM_FIELDS = [
    "name",
    "patient_name",
    "city",
    "message",
    "call_name",
    "page_url",
    "referrer",
    *(f"utm_{key}" for key in ("source", "medium", "campaign", "term", "content")),
]


def stored_form_value(lead: Lead, field: str):
    """Where the lead keeps what the form's field carried."""
    if field == "call_name":
        return lead.contact_preferences["call_name"]
    if field.startswith("utm_"):
        return lead.utm[field.removeprefix("utm_")]
    return getattr(lead, field)


# API body -> where the lead's JSON keeps it. page_url / referrer must be http(s) URLs there
# (see test_the_api_refuses_a_script_address).
API_FIELDS = {
    "name": ({"name": PAYLOAD}, lambda body: body["name"]),
    "patient_name": ({"patient_name": PAYLOAD}, lambda body: body["patient_name"]),
    "city": ({"city": PAYLOAD}, lambda body: body["city"]),
    "message": ({"message": PAYLOAD}, lambda body: body["message"]),
    "preferred_time": ({"preferred_time": PAYLOAD}, lambda body: body["preferred_time"]),
    "call_name": (
        {"contact_preferences": {"call_name": PAYLOAD}},
        lambda body: body["contact_preferences"]["call_name"],
    ),
    "consent_text": (
        {"consent": {"given": True, "text": PAYLOAD, "version": "v1"}},
        lambda body: body["consent"]["text"],
    ),
    "utm_campaign": ({"utm": {"campaign": PAYLOAD}}, lambda body: body["utm"]["campaign"]),
}


def lead_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Lead))


@pytest.fixture
def manager(app, session):
    user = create_user("inject-manager@example.org", PASSWORD, "manager", "Mo Manager")
    client = app.test_client()
    assert sign_in(client, user.email).status_code == 302
    return client


def assert_rendered_escaped(response) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for markup in RAW_MARKUP:
        assert markup not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize("field", FORM_FIELDS)
def test_every_free_text_form_field_is_stored_verbatim_and_shown_escaped(client, session, manager, field):
    before = lead_count(session)
    response = client.post("/contact", data={**VALID_FORM, field: PAYLOAD})
    assert response.status_code == 303

    lead = session.scalar(select(Lead).order_by(Lead.id.desc()))
    assert lead_count(session) == before + 1, "the leads table is still there, with one more row"
    assert stored_form_value(lead, field) == PAYLOAD

    if field in ("name", "patient_name", "city", "message", "call_name"):
        page = manager.get(f"/leads/{lead.id}")
        assert_rendered_escaped(page)
        assert PAYLOAD in page_of(page).text, "shown as the text the person typed"


def test_the_queue_shows_an_injected_name_escaped(client, session, manager):
    make_advisor(regions=["TX"])
    assert client.post("/contact", data={**VALID_FORM, "name": PAYLOAD}).status_code == 303
    lead = session.scalar(select(Lead).order_by(Lead.id.desc()))
    route_lead(lead.id)
    assert lead.owner_id is not None
    assert_rendered_escaped(manager.get("/dashboard"))


@pytest.mark.parametrize("field", ["page_url", "referrer"])
def test_the_api_refuses_a_script_address(client, session, field):
    _, partner = issue_api_key("partner", "Partner")
    before = lead_count(session)
    body = {"name": "Dana", "phone": "+15122060142", field: "javascript:alert(1)"}
    response = client.post("/api/v1/leads", json=body, headers=bearer(partner))
    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert lead_count(session) == before


def test_a_choice_field_refuses_free_text(client, session):
    before = lead_count(session)
    assert client.post("/contact", data={**VALID_FORM, "preferred_time": PAYLOAD}).status_code == 422
    assert lead_count(session) == before


@pytest.mark.parametrize("field", list(API_FIELDS))
def test_every_free_text_api_field_is_stored_verbatim(client, session, manager, field):
    _, partner = issue_api_key("partner", "Partner")
    _, reader = issue_api_key("manager", "Reader")
    extra, read_back = API_FIELDS[field]
    body = {"name": "Dana", "phone": "+15122060142", **extra}

    created = client.post("/api/v1/leads", json=body, headers=bearer(partner))
    assert created.status_code == 201, created.get_json()
    lead_id = created.get_json()["id"]
    stored = client.get(f"/api/v1/leads/{lead_id}", headers=bearer(reader)).get_json()

    assert read_back(stored) == read_back(body)
    if field in ("name", "message", "city"):
        assert_rendered_escaped(manager.get(f"/leads/{lead_id}"))


@pytest.mark.parametrize("value", ["' OR 1=1 --", "1; DROP TABLE leads", "%' OR '%'='"])
def test_sql_in_query_parameters_is_data(client, session, value):
    _, reader = issue_api_key("manager", "Reader")
    before = lead_count(session)
    response = client.get("/api/v1/leads", query_string={"phone": value}, headers=bearer(reader))
    assert response.status_code in (200, 422)
    if response.status_code == 200:
        assert response.get_json()["leads"] == []
    assert lead_count(session) == before


def test_twiml_in_a_text_message_stays_text(client, session):
    params = {"MessageSid": new_sid("SM"), "From": "+15125550166", "To": HELPLINE, "Body": PAYLOAD}
    response = post_signed(client, f"{PUBLIC_BASE_URL}/twilio/sms", params)
    assert response.status_code == 200
    root = parse(response.get_data(as_text=True), MESSAGING_VERBS)
    assert root.find(".//Dial") is None and root.find(".//Say") is None
    assert [element.tag for element in root] in ([], ["Message"])
    lead = session.scalar(select(Lead).where(Lead.phone == "+15125550166"))
    assert lead.message == PAYLOAD


def test_twiml_in_spoken_words_stays_text(client, session):
    params = {"CallSid": new_sid(), "From": "+15125550167", "To": HELPLINE, "FromState": "TX"}
    post_signed(client, f"{PUBLIC_BASE_URL}/twilio/voice", params)
    response = post_signed(
        client, f"{PUBLIC_BASE_URL}/twilio/voice/menu", {**params, "SpeechResult": PAYLOAD, "Digits": ""}
    )
    assert response.status_code == 200
    root = ET.fromstring(response.get_data(as_text=True))
    assert "+19005550199" not in ET.tostring(root, encoding="unicode")
