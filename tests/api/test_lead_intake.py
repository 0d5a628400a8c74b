"""POST /api/v1/leads: every status code of SPEC §2, and bad input that stores nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from leadrouter.models import ConsentRecord, Event, IdempotencyRecord, Lead, utcnow
from tests.api.conftest import bearer, row_counts

URL = "/api/v1/leads"


def lead_body(**fields) -> dict:
    body = {
        "name": "Dana Example",
        "phone": "(512) 206-0100",
        "state": "TX",
        "substances": ["fentanyl"],
        "consent": {"given": True, "text": "You may call or text me.", "version": "partner-2"},
    }
    body.update(fields)
    return {key: value for key, value in body.items() if value is not None}


def post(client, key: str, body, **headers):
    return client.post(URL, json=body, headers=bearer(key, **headers))


def test_a_new_lead_is_201_with_its_receipt(client, session, partner_key):
    raw, api_key = partner_key

    response = post(client, raw, lead_body(message="Looking for detox for my brother"))

    assert response.status_code == 201
    receipt = response.get_json()
    lead = session.get(Lead, receipt["id"])
    assert response.headers["Location"].endswith(f"/api/v1/leads/{lead.id}")
    assert receipt["status"] == "new" and receipt["source"] == "api"
    assert receipt["phone"] == "+15122060100"
    assert receipt["region"] == "TX" and receipt["urgency"] in ("critical", "high", "normal", "low")
    assert receipt["emergency_guidance"] is None
    # The receipt carries no stored personal data (a merge answers with an older lead).
    assert "name" not in receipt and "message" not in receipt and "email" not in receipt
    assert lead.name == "Dana Example" and lead.source == "api"
    assert lead.substances == ["fentanyl"]
    created = session.scalars(select(Event).where(Event.lead_id == lead.id)).one()
    assert created.type == "created" and created.actor == f"api_key:{api_key.id}"


@pytest.mark.parametrize(
    "typed", ["(512) 206-0100", "512.206.0100", "+1 512 206 0100", "1-512-206-0100", "5122060100"]
)
def test_any_common_phone_format_is_stored_as_e164(client, session, partner_key, typed):
    response = post(client, partner_key[0], lead_body(phone=typed))
    assert response.status_code == 201
    assert session.get(Lead, response.get_json()["id"]).phone == "+15122060100"


def test_an_email_alone_is_a_contact_route(client, session, partner_key):
    response = post(client, partner_key[0], lead_body(phone=None, email="Dana@Example.ORG"))
    assert response.status_code == 201
    assert session.get(Lead, response.get_json()["id"]).email == "dana@example.org"


def test_the_same_phone_within_24_hours_merges_with_200(client, session, partner_key):
    first = post(client, partner_key[0], lead_body())
    second = post(client, partner_key[0], lead_body(phone="512-206-0100", message="Calling again"))

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.get_json()["id"] == first.get_json()["id"]
    leads = session.scalars(select(Lead).where(Lead.phone == "+15122060100")).all()
    assert len(leads) == 1
    types = [e.type for e in session.scalars(select(Event).where(Event.lead_id == leads[0].id))]
    assert types == ["created", "merged"]


def test_an_idempotency_key_replay_is_200_with_the_same_lead_and_stores_nothing(client, session, partner_key):
    body = lead_body()
    first = post(client, partner_key[0], body, **{"Idempotency-Key": "order-1"})
    before = row_counts(session)
    # Same JSON, other key order and spacing: still the same request.
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    replay = client.post(
        URL,
        data=reordered,
        content_type="application/json",
        headers=bearer(partner_key[0], **{"Idempotency-Key": "order-1"}),
    )

    assert first.status_code == 201 and first.headers["Idempotent-Replayed"] == "false"
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["id"] == first.get_json()["id"]
    assert row_counts(session) == before
    record = session.scalars(select(IdempotencyRecord)).one()
    assert (record.key, record.lead_id, record.status_code) == ("order-1", first.get_json()["id"], 201)


def test_an_idempotency_key_reused_with_another_body_is_422(client, session, partner_key):
    post(client, partner_key[0], lead_body(), **{"Idempotency-Key": "order-2"})
    before = row_counts(session)

    response = post(client, partner_key[0], lead_body(phone="737-206-0199"), **{"Idempotency-Key": "order-2"})

    assert response.status_code == 422
    assert "different request body" in response.get_json()["errors"]["Idempotency-Key"][0]
    assert row_counts(session) == before


def test_idempotency_keys_belong_to_one_api_key(client, session, partner_key):
    from leadrouter.auth.api_keys import issue_api_key

    _, other_raw = issue_api_key("partner", "Another partner")
    first = post(client, partner_key[0], lead_body(), **{"Idempotency-Key": "shared"})
    other = post(client, other_raw, lead_body(phone="737-206-0199"), **{"Idempotency-Key": "shared"})
    assert (first.status_code, other.status_code) == (201, 201)


def test_an_unusable_idempotency_key_is_400(client, session, partner_key):
    before = row_counts(session)
    response = post(client, partner_key[0], lead_body(), **{"Idempotency-Key": "x" * 256})
    assert response.status_code == 400 and "Idempotency-Key" in response.get_json()["error"]
    assert row_counts(session) == before


@pytest.mark.parametrize(
    "data",
    ['{"name": "Dana", "phone": ', "not json at all", "", "[" * 50_000 + "]" * 50_000, b"\xff\xfe{}"],
    ids=["truncated", "text", "empty", "deeply-nested", "bad-utf8"],
)
def test_malformed_json_is_400_and_stores_nothing(client, session, partner_key, data):
    before = row_counts(session)
    response = client.post(URL, data=data, content_type="application/json", headers=bearer(partner_key[0]))
    assert response.status_code == 400
    assert response.is_json and "error" in response.get_json()
    assert row_counts(session) == before


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data", None]
)
def test_a_body_that_is_not_json_is_415(client, session, partner_key, content_type):
    before = row_counts(session)
    response = client.post(
        URL, data="name=Dana&phone=5122060100", content_type=content_type, headers=bearer(partner_key[0])
    )
    assert response.status_code == 415 and response.is_json
    assert "application/json" in response.get_json()["error"]
    assert row_counts(session) == before


def test_a_body_over_the_limit_is_413_json(client, session, partner_key, app):
    before = row_counts(session)
    huge = lead_body(message="x" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    response = post(client, partner_key[0], huge)
    assert response.status_code == 413
    assert response.is_json and "error" in response.get_json()
    assert row_counts(session) == before


def test_no_api_key_is_401_with_a_bearer_challenge(client, session):
    before = row_counts(session)
    response = client.post(URL, json=lead_body())
    assert response.status_code == 401 and response.is_json
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert row_counts(session) == before


@pytest.mark.parametrize("header", ["Bearer lr_nope_nope", "Basic dXNlcjpwYXNz", "Bearer", "lr_key"])
def test_a_bad_api_key_is_401(client, session, header):
    before = row_counts(session)
    response = client.post(URL, json=lead_body(), headers={"Authorization": header})
    assert response.status_code == 401 and "error" in response.get_json()
    assert "WWW-Authenticate" in response.headers
    assert row_counts(session) == before


def test_a_revoked_api_key_is_401(client, session, partner_key):
    raw, api_key = partner_key
    api_key.revoked_at = utcnow()
    session.flush()
    assert post(client, raw, lead_body()).status_code == 401


def test_a_manager_key_cannot_send_leads_403(client, session, manager_key):
    before = row_counts(session)
    response = post(client, manager_key[0], lead_body())
    assert response.status_code == 403 and "partner" in response.get_json()["error"]
    assert row_counts(session) == before


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": None}, "name", "Missing data"),
        ({"name": "   "}, "name", "blank"),
        ({"phone": None}, "phone", "phone number or an email"),
        ({"phone": "   ", "email": ""}, "phone", "phone number or an email"),
        ({"phone": "555-12"}, "phone", "Not a valid phone number"),
        ({"phone": "anonymous"}, "phone", "Not a valid phone number"),
        ({"phone": 5122060100}, "phone", "Not a valid string"),
        ({"email": "not-an-email", "phone": None}, "email", "Not a valid email"),
        ({"state": "ZZ"}, "state", "USPS"),
        ({"state": "Texas"}, "state", "USPS"),
        ({"zip": "7870"}, "zip", "5-digit"),
        ({"zip": "787011"}, "zip", "5-digit"),
        ({"substances": ["heroin", "crack"]}, "substances", "Must be one of"),
        ({"substances": "heroin"}, "substances", "Not a valid list"),
        ({"dsm_criteria": ["cravings", "sadness"]}, "dsm_criteria", "Must be one of"),
        ({"message": "x" * 5001}, "message", "at most 5000"),
        ({"language": "fr"}, "language", "en, es"),
        ({"for_whom": "neighbour"}, "for_whom", "self, loved_one"),
        ({"name": "Dana\x00"}, "name", "control characters"),
        ({"name": "Dana \ud800"}, "name", "Unicode"),
        ({"page_url": "javascript:alert(1)"}, "page_url", "http"),
        ({"consent": {"given": True}}, "consent", "Missing data"),
        ({"consent": {"given": "maybe", "text": "t", "version": "1"}}, "consent", "boolean"),
        ({"consent": {"given": True, "text": "t", "version": "1", "ip": "999.1.1.1"}}, "consent", "IP"),
        ({"contact_preferences": {"voicemail_ok": True, "fax_ok": True}}, "contact_preferences", "Unknown"),
        ({"utm": {"source": "google", "gclid": "abc"}}, "utm", "Unknown field"),
        ({"nickname": "D"}, "nickname", "Unknown field"),
    ],
)
def test_bad_fields_are_422_naming_each_field_and_store_nothing(
    client, session, partner_key, fields, field, message
):
    before = row_counts(session)
    response = post(client, partner_key[0], lead_body(**fields))  # a None value drops the field
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert field in errors, errors
    assert message in json.dumps(errors[field], ensure_ascii=False), errors
    assert row_counts(session) == before


def test_every_bad_field_is_named_at_once(client, session, partner_key):
    response = post(client, partner_key[0], {"phone": "12", "zip": "abc", "colour": "red"})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) >= {"name", "phone", "zip", "colour"}


@pytest.mark.parametrize("body", [[], ["name"], "Dana", 42, None])
def test_json_that_is_not_an_object_is_422(client, session, partner_key, body):
    response = client.post(
        URL, data=json.dumps(body), content_type="application/json", headers=bearer(partner_key[0])
    )
    assert response.status_code == 422 and "_schema" in response.get_json()["errors"]


def test_html_and_script_are_stored_as_text(client, session, partner_key, manager_key):
    script = "<script>alert('x')</script><b>Dana</b>"
    response = post(client, partner_key[0], lead_body(name=script, message="<img src=x onerror=alert(1)>"))
    assert response.status_code == 201
    lead = session.get(Lead, response.get_json()["id"])
    assert lead.name == script and lead.message == "<img src=x onerror=alert(1)>"

    shown = client.get(f"{URL}/{lead.id}", headers=bearer(manager_key[0]))
    assert shown.mimetype == "application/json"
    assert shown.get_json()["name"] == script


def test_consent_is_stored_with_its_text_version_address_agent_and_page(client, session, partner_key):
    consent = {"given": True, "text": "I agree to be called at the number I gave.", "version": "v7"}
    response = client.post(
        URL,
        json=lead_body(consent=consent, page_url="https://partner.example/help?utm_source=x"),
        headers=bearer(partner_key[0], **{"User-Agent": "PartnerBackend/1.0"}),
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert response.status_code == 201
    record = session.scalars(
        select(ConsentRecord).where(ConsentRecord.lead_id == response.get_json()["id"])
    ).one()
    assert (record.given, record.text, record.version) == (True, consent["text"], "v7")
    assert record.ip == "203.0.113.9" and record.user_agent == "PartnerBackend/1.0"
    assert record.page_url == "https://partner.example/help?utm_source=x"
    assert record.source == "api" and record.given_at is not None


def test_the_persons_own_address_and_browser_win_over_the_partners(client, session, partner_key):
    consent = {"given": True, "text": "OK", "version": "1", "ip": "198.51.100.7", "user_agent": "Mozilla/5.0"}
    response = post(client, partner_key[0], lead_body(consent=consent))
    record = session.scalars(
        select(ConsentRecord).where(ConsentRecord.lead_id == response.get_json()["id"])
    ).one()
    assert (record.ip, record.user_agent) == ("198.51.100.7", "Mozilla/5.0")


def test_a_lead_without_consent_is_stored_without_a_consent_record(client, session, partner_key):
    response = post(client, partner_key[0], lead_body(consent=None))
    assert response.status_code == 201
    lead_id = response.get_json()["id"]
    assert session.scalars(select(ConsentRecord).where(ConsentRecord.lead_id == lead_id)).all() == []


def test_every_intake_field_is_kept(client, session, partner_key):
    body = lead_body(
        email="dana@example.org",
        for_whom="loved_one",
        patient_name="Sam",
        state="tx",
        zip="78701-1234",
        city="Austin",
        dsm_criteria=["cravings", "tolerance"],
        language="es",
        preferred_time="evenings",
        contact_preferences={"voicemail_ok": False, "text_ok": True, "call_name": "Dee"},
        page_url="https://partner.example/tx",
        referrer="https://search.example/?q=help",
        utm={"source": "search", "medium": "cpc", "campaign": "tx-spring", "term": "detox", "content": "a"},
    )
    response = post(client, partner_key[0], body)
    assert response.status_code == 201
    lead = session.get(Lead, response.get_json()["id"])
    assert (lead.for_whom, lead.patient_name, lead.state, lead.zip, lead.city) == (
        "loved_one",
        "Sam",
        "TX",
        "78701",
        "Austin",
    )
    assert lead.dsm_criteria == ["cravings", "tolerance"] and lead.severity == "mild"
    assert lead.language == "es" and lead.preferred_time == "evenings"
    assert lead.contact_preferences == {"voicemail_ok": False, "text_ok": True, "call_name": "Dee"}
    assert lead.utm["campaign"] == "tx-spring" and lead.campaign == "tx-spring"
    assert lead.referrer == "https://search.example/?q=help"


def test_null_and_blank_optional_fields_count_as_absent(client, session, partner_key):
    response = post(client, partner_key[0], lead_body(email="", city=None, zip="  ", utm=None, message=""))
    assert response.status_code == 201
    lead = session.get(Lead, response.get_json()["id"])
    assert (lead.email, lead.city, lead.zip, lead.message) == (None, None, None, None)


def test_a_critical_lead_answers_with_emergency_guidance(client, session, partner_key):
    response = post(client, partner_key[0], lead_body(message="My son overdosed and he is not breathing"))
    receipt = response.get_json()
    assert receipt["urgency"] == "critical"
    assert "911" in receipt["emergency_guidance"] and "988" in receipt["emergency_guidance"]


def test_routing_is_enqueued_after_the_commit(client, session, partner_key, enqueued):
    response = post(client, partner_key[0], lead_body())
    assert response.status_code == 201
    assert "routing.route_lead" in enqueued


def test_bad_input_enqueues_nothing(client, session, partner_key, enqueued):
    post(client, partner_key[0], lead_body(phone="12"))
    assert enqueued == []
