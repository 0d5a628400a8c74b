"""POST /contact and the thank-you page, on the shared test app (CSRF and limits off)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from leadrouter.extensions import db
from leadrouter.intake.consent import CONSENT_TEXT, CONSENT_VERSION
from leadrouter.intake.contact_time import contact_timing, describe_local_time
from leadrouter.models import ConsentRecord, Lead
from tests.factories import make_lead
from tests.intake.conftest import VALID_FORM, page_of, stored_counts

THANKS = re.compile(r"^/thanks/([0-9a-f]{32})$")


def post(client, **changes):
    data = {**VALID_FORM, **changes}
    data = {key: value for key, value in data.items() if value is not None}
    return client.post(
        "/contact",
        data=data,
        headers={"User-Agent": "Mozilla/5.0 (test)", "Referer": "https://helpline.example.org/"},
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
    )


def lead_by_public_id(public_id: str) -> Lead:
    return db.session.scalar(select(Lead).where(Lead.public_id == public_id))


def test_valid_form_stores_the_lead_with_consent_and_redirects(client, session, sent_tasks):
    response = post(client)

    assert response.status_code == 303
    match = THANKS.match(response.headers["Location"])
    assert match, response.headers["Location"]
    location = response.headers["Location"]
    for personal in ("Dana", "512", "2060142", "dana", "Sam"):
        assert personal not in location

    lead = lead_by_public_id(match.group(1))
    assert lead.source == "web_form"
    assert lead.name == "Dana Example"
    assert lead.phone == "+15122060142"
    assert lead.email == "dana@example.org"
    assert lead.for_whom == "loved_one" and lead.patient_name == "Sam"
    assert lead.state == "TX" and lead.region == "TX" and lead.zip == "78701"
    assert lead.substances == ["fentanyl", "heroin"]
    assert lead.dsm_criteria == ["cravings", "tolerance", "withdrawal"]
    assert lead.severity == "mild"
    assert lead.language == "en" and lead.preferred_time == "evening"
    assert lead.contact_preferences == {"voicemail_ok": True, "text_ok": False, "call_name": "Dee"}
    assert lead.page_url == VALID_FORM["page_url"]
    assert lead.referrer == "https://www.google.com/"
    assert lead.utm == {"source": "google", "campaign": "tx-spring"}
    assert lead.campaign == "tx-spring"

    consent = db.session.scalar(select(ConsentRecord).where(ConsentRecord.lead_id == lead.id))
    assert consent.given is True
    assert consent.version == CONSENT_VERSION
    assert consent.text == CONSENT_TEXT["en"].format(operator="Leadrouter Demo Helpline")
    assert consent.ip == "203.0.113.7"
    assert consent.user_agent == "Mozilla/5.0 (test)"
    assert consent.page_url == VALID_FORM["page_url"]
    assert consent.source == "web_form"

    assert ("routing.route_lead", [lead.id]) in sent_tasks


def test_thanks_page_says_when_to_expect_a_call(client, session):
    response = client.get(post(client).headers["Location"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    page = page_of(response)
    assert page.headings[0] == ("h1", "Thank you, Dana Example. We received your request.")
    assert re.search(
        r"An advisor will call you by \d{1,2}:\d\d [AP]M Central time (today|tomorrow)\.", page.text
    ), page.text
    assert "we may leave a short voicemail" in page.text
    assert "We will not text you." in page.text
    assert "Phone number ending in 0142" in page.text and "206" not in page.text
    assert "call 911" not in page.text.split("Would you rather talk now?")[0]


def test_spanish_form_stores_spanish_consent_and_answers_in_spanish(client, session):
    response = client.post("/contact?lang=es", data={**VALID_FORM, "language": "es"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("?lang=es")
    lead = lead_by_public_id(THANKS.match(response.headers["Location"].split("?")[0]).group(1))
    assert lead.language == "es"
    assert lead.consent.text == CONSENT_TEXT["es"].format(operator="Leadrouter Demo Helpline")
    page = page_of(client.get(response.headers["Location"]))
    assert "Recibimos su solicitud." in page.text
    assert "Un asesor le llamará, a más tardar," in page.text


def test_regional_page_attribution_reaches_the_lead(client, session):
    page = page_of(
        client.get(
            "/help/tx/austin?utm_source=facebook&utm_medium=social&utm_campaign=austin-2026",
            headers={"Referer": "https://m.facebook.com/"},
        )
    )
    hidden = {
        attrs["name"]: attrs.get("value", "")
        for tag, attrs in page.elements
        if tag == "input" and attrs.get("type") == "hidden"
    }
    state = [a["value"] for t, a in page.elements if t == "option" and "selected" in a and a["value"]]
    form = {**hidden, "name": "Lee", "phone": "737-206-0199", "state": state[0], "consent": "y"}

    response = client.post("/contact", data=form)
    assert response.status_code == 303
    lead = lead_by_public_id(THANKS.match(response.headers["Location"]).group(1))
    assert lead.state == "TX"
    assert lead.page_url.endswith(
        "/help/tx/austin?utm_source=facebook&utm_medium=social&utm_campaign=austin-2026"
    )
    assert lead.referrer == "https://m.facebook.com/"
    assert lead.utm == {"source": "facebook", "medium": "social", "campaign": "austin-2026"}
    assert lead.campaign == "austin-2026"
    assert lead.consent.page_url == lead.page_url


BAD_INPUTS = [
    pytest.param({"phone": "12345"}, "phone", "Enter a phone number we can call", id="invalid-phone"),
    pytest.param({"phone": "not a number"}, "phone", "Enter a phone number we can call", id="junk-phone"),
    pytest.param({"phone": "", "email": ""}, "phone", "Enter a phone number or an email", id="no-contact"),
    pytest.param({"email": "dana@"}, "email", "Enter an email address", id="bad-email"),
    pytest.param({"name": "  "}, "name", "Enter your name.", id="no-name"),
    pytest.param({"name": "x" * 201}, "name", "Use at most 200 characters", id="long-name"),
    pytest.param({"state": "ZZ"}, "state", "Choose a state from the list.", id="unknown-state"),
    pytest.param({"zip": "7870"}, "zip", "A ZIP code is 5 digits", id="zip-4-digits"),
    pytest.param({"zip": "78701-1234"}, "zip", "A ZIP code is 5 digits", id="zip-plus-4"),
    pytest.param({"zip": "７８７０１"}, "zip", "A ZIP code is 5 digits", id="zip-fullwidth"),
    pytest.param(
        {"message": "a" * 5001},
        "message",
        "Use at most 5000 characters (you used 5001)",
        id="message-too-long",
    ),
    pytest.param({"for_whom": "neighbour"}, "for_whom", "Choose one of the options.", id="bad-for-whom"),
    pytest.param({"language": "fr"}, "language", "Choose one of the options.", id="bad-language"),
    pytest.param(
        {"substances": ["heroin", "kryptonite"]},
        "substances",
        "Choose one of the options.",
        id="unknown-substance",
    ),
    pytest.param(
        {"dsm_criteria": ["cravings", "nope"]},
        "dsm_criteria",
        "Choose one of the options.",
        id="unknown-criterion",
    ),
    pytest.param(
        {"preferred_time": "midnight"}, "preferred_time", "Choose one of the options.", id="bad-time"
    ),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_INPUTS)
def test_bad_input_is_refused_with_a_message_next_to_the_field(
    client, session, sent_tasks, changes, field, message
):
    before = stored_counts()
    response = post(client, **changes)

    assert response.status_code == 422
    assert stored_counts() == before
    assert sent_tasks == []
    page = page_of(response)
    assert page.text.startswith("Skip to main content")
    assert "Please fix the following" in page.text
    anchor = f"{field}-0" if field in ("substances", "dsm_criteria", "for_whom", "language") else field
    assert page.find_all("a", href=f"#{anchor}"), f"the error summary links to #{anchor}"
    assert page.find_all("p", id=f"{field}-error", class_="field-error")
    assert message in page.text
    # What the person typed is kept, so they only fix the one field.
    if field != "name":
        assert page.field_value("name") == VALID_FORM["name"]


def test_error_page_points_fields_at_their_messages(client, session):
    page = page_of(post(client, phone="12345", zip="1"))
    (phone,) = page.find_all("input", name="phone")
    assert phone["aria-invalid"] == "true"
    assert "phone-error" in phone["aria-describedby"].split()
    summary = [a for t, a in page.elements if t == "div" and a.get("class") == "error-summary"]
    assert summary and summary[0]["role"] == "alert" and "autofocus" in summary[0]
    assert [
        a["href"]
        for t, a in page.elements
        if t == "a" and a.get("href", "").startswith("#") and a["href"] != "#main"
    ] == ["#phone", "#zip"]


def test_html_is_stored_as_text_and_shown_escaped(client, session):
    name = '<script>alert("x")</script>Robin'
    message = "<img src=x onerror=alert(1)> help please & thanks\n<b>bold</b>"
    response = post(client, name=name, message=message, call_name="<i>Rob</i>")
    assert response.status_code == 303
    lead = lead_by_public_id(THANKS.match(response.headers["Location"]).group(1))
    assert lead.name == name
    assert lead.message == message

    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;Robin" in html
    assert "&lt;img src=x onerror=alert(1)&gt; help please &amp; thanks" in html
    page = page_of(client.get(response.headers["Location"]))
    assert name in page.text and "&lt;" not in page.text


def test_control_characters_are_dropped_not_stored(client, session):
    response = post(client, name="Ro\x00bin\x07", message="line one\r\nline\x00 two")
    assert response.status_code == 303
    lead = lead_by_public_id(THANKS.match(response.headers["Location"]).group(1))
    assert lead.name == "Robin"
    assert lead.message == "line one\nline two"


def test_email_alone_is_enough(client, session):
    response = post(client, phone="", email="only@example.org")
    assert response.status_code == 303
    lead = lead_by_public_id(THANKS.match(response.headers["Location"]).group(1))
    assert lead.phone is None and lead.email == "only@example.org"
    page = page_of(client.get(response.headers["Location"]))
    assert "An advisor will email you by" in page.text


def test_honeypot_pretends_success_and_stores_nothing(client, session, sent_tasks):
    before = stored_counts()
    response = post(client, website="http://spam.example")
    assert response.status_code == 200
    assert "We received your request." in page_of(response).text
    assert stored_counts() == before
    assert sent_tasks == []


def test_form_with_too_many_fields_is_413_before_any_database_work(client, session):
    statements = []

    def count(*_args):
        statements.append(1)

    data = {f"f{i}": "x" for i in range(10_000)}
    data.update(VALID_FORM)
    before = stored_counts()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.post("/contact", data=data)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 413
    assert statements == []
    assert stored_counts() == before


def test_oversize_body_is_413(client, session):
    before = stored_counts()
    response = post(client, message="a" * (300 * 1024))
    assert response.status_code == 413
    assert stored_counts() == before


def test_without_consent_the_lead_is_kept_but_not_called(client, session, sent_tasks):
    response = post(client, consent=None)
    assert response.status_code == 303
    lead = lead_by_public_id(THANKS.match(response.headers["Location"]).group(1))
    assert lead.consent.given is False
    assert lead.consent.version == CONSENT_VERSION
    assert ("routing.route_lead", [lead.id]) in sent_tasks, "routed, just never called"

    page = page_of(client.get(response.headers["Location"]))
    assert "You did not give us permission to call or text you, so we will not." in page.text
    assert "call us at 1-800-555-0100" in page.text
    assert "An advisor will call you" not in page.text


def test_do_not_contact_number_is_told_so(client, session):
    from leadrouter.models import ContactPreference

    db.session.add(ContactPreference(phone="+15122060142", do_not_contact=True))
    db.session.flush()
    page = page_of(client.get(post(client).headers["Location"]))
    assert "do-not-contact list" in page.text
    assert "An advisor will call you" not in page.text


def test_same_phone_twice_is_one_lead(client, session):
    first = post(client)
    second = post(client, message="Also, he has not slept in two days.", phone="512.206.0142")
    assert first.headers["Location"] == second.headers["Location"]
    lead = lead_by_public_id(THANKS.match(first.headers["Location"]).group(1))
    assert "not slept" in lead.message
    assert len(db.session.scalars(select(Lead).where(Lead.phone == "+15122060142")).all()) == 1


def test_critical_lead_thanks_page_leads_with_emergency_guidance(client, session):
    response = post(client, message="my brother overdosed and is not breathing")
    lead = lead_by_public_id(THANKS.match(response.headers["Location"]).group(1))
    assert lead.urgency == "critical"

    page = page_of(client.get(response.headers["Location"]))
    first_heading = page.headings[0]
    assert first_heading == ("h1", "If someone is in danger right now, call 911")
    text = page.text.split("Skip to main content", 1)[1]
    main = text[text.index("If someone is in danger") :]
    assert main.index("911") < main.index("Naloxone") < main.index("988") < main.index("Thank you")
    assert "within 5 minutes" in page.text
    assert page.find_all("a", href="tel:911") and page.find_all("a", href="tel:988")


def test_critical_spanish_message_gets_spanish_guidance(client, session):
    response = client.post(
        "/contact?lang=es",
        data={**VALID_FORM, "language": "es", "message": "mi hermano tuvo una sobredosis y no respira"},
    )
    page = page_of(client.get(response.headers["Location"]))
    assert page.headings[0] == ("h1", "Si alguien está en peligro ahora mismo, llame al 911")


def test_thanks_page_in_another_browser_shows_no_personal_data(app, client, session):
    location = post(client, message="private words").headers["Location"]
    other_browser = app.test_client()
    page = page_of(other_browser.get(location))
    assert "We received your request." in page.text
    assert "Dana" not in page.text and "private words" not in page.text and "0142" not in page.text
    assert "An advisor will call you by" in page.text


@pytest.mark.parametrize("public_id", ["0" * 32, "not-an-id", "1"])
def test_unknown_thanks_page_is_404(client, session, public_id):
    assert client.get(f"/thanks/{public_id}").status_code == 404


def test_numeric_id_does_not_open_a_thanks_page(client, session):
    lead = lead_by_public_id(THANKS.match(post(client).headers["Location"]).group(1))
    assert client.get(f"/thanks/{lead.id}").status_code == 404


# --- when to expect a call -------------------------------------------------------------


def at_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def test_normal_lead_in_the_evening_is_called_after_quiet_hours(session):
    # 22:30 Central on a Monday: quiet hours; normal SLA is 60 minutes of calling time.
    lead = make_lead(phone="+15122060177", state="TX", occurred_at=at_utc("2026-03-03 04:30"))
    assert lead.urgency == "normal"
    timing = contact_timing(lead, at_utc("2026-03-03 04:31"), "en")
    assert timing["clock"] == "9:00 AM Central time tomorrow"
    assert timing["quiet_now"] is True
    assert contact_timing(lead, at_utc("2026-03-03 04:31"), "es")["clock"] == (
        "mañana a las 9:00 a. m., hora del Centro"
    )


def test_daytime_lead_is_due_within_the_sla(session):
    lead = make_lead(phone="+12122060188", state="NY", occurred_at=at_utc("2026-03-02 15:00"))
    timing = contact_timing(lead, at_utc("2026-03-02 15:00"), "en")
    assert timing["clock"] == "11:00 AM Eastern time today"
    assert timing["quiet_now"] is False


def test_local_time_wording_across_days():
    now = at_utc("2026-07-01 12:00")
    assert describe_local_time(at_utc("2026-07-02 15:15"), now, "America/Chicago", "en") == (
        "10:15 AM Central time tomorrow"
    )
    assert describe_local_time(at_utc("2026-07-06 19:00"), now, "America/Los_Angeles", "en") == (
        "12:00 PM Pacific time on Monday, July 6"
    )
    assert describe_local_time(at_utc("2026-07-06 19:00"), now, "America/Los_Angeles", "es") == (
        "el lunes 6 de julio a las 12:00 p. m., hora del Pacífico"
    )
