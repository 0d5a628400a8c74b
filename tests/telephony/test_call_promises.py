"""What a caller hears is what is stored: consent to a call back, the critical promise, who for."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from leadrouter.auth.users import create_user
from leadrouter.extensions import db
from leadrouter.intake.consent import PHONE_CALLBACK_VERSION, PHONE_VOICEMAIL_VERSION, phone_consent_text
from leadrouter.leads.consent import has_consent
from leadrouter.models import ConsentRecord, utcnow
from tests.factories import make_advisor
from tests.telephony.test_call_holding import ana, holding_call, talking  # noqa: F401 (fixture)
from tests.telephony.test_twiml import said
from tests.telephony.test_voice_webhooks import SimulatedCall


def consents_of(call: SimulatedCall) -> list[ConsentRecord]:
    return list(db.session.scalars(select(ConsentRecord).where(ConsentRecord.lead_id == call.lead.id)))


def test_pressing_1_for_a_call_back_is_consent_to_be_called_back_once(client, ana):  # noqa: F811
    talking(client, ana, "+15125550181")
    caller, hold_doc = holding_call(client, "+15125550182")
    assert consents_of(caller) == [] and not has_consent(caller.lead)
    caller.press(hold_doc, "1")
    caller.press(hold_doc, "1")  # a replayed key press stores nothing more
    [consent] = consents_of(caller)
    assert consent.given and consent.source == "call" and consent.version == PHONE_CALLBACK_VERSION
    assert consent.text == phone_consent_text(PHONE_CALLBACK_VERSION, caller.lead.language)
    assert consent.text in said(hold_doc)  # exactly the words the caller heard
    assert consent.page_url == f"call:{caller.sid}" and consent.ip is None and consent.user_agent is None
    assert has_consent(caller.lead)


def test_a_message_left_after_the_call_back_promise_is_consent_an_abandoned_caller_gives_none(
    client,
    app,
    ana,  # noqa: F811
):
    talking(client, ana, "+15125550183")
    caller, hold_doc = holding_call(client, "+15125550184")
    caller.call.started_at = utcnow() - timedelta(seconds=app.config["CALL_MAX_WAIT_SECONDS"] + 1)
    db.session.flush()
    promise_doc = caller.press(hold_doc)
    assert consents_of(caller) == []  # told we will call back, not yet accepted
    caller.leave_voicemail(promise_doc, "RE" + "4" * 32)
    [consent] = consents_of(caller)
    assert consent.given and consent.version == PHONE_VOICEMAIL_VERSION and consent.text in said(promise_doc)

    gone, _ = holding_call(client, "+15125550185")
    gone.hang_up()
    assert gone.call.outcome == "abandoned" and consents_of(gone) == []


def test_phone_consent_is_stored_in_the_callers_language():
    spanish = phone_consent_text(PHONE_CALLBACK_VERSION, "es")
    assert spanish and spanish != phone_consent_text(PHONE_CALLBACK_VERSION, "en") and "1" in spanish


def test_an_emergency_caller_nobody_answered_is_promised_the_critical_minutes(
    app, client, session, monkeypatch
):
    monkeypatch.setitem(app.config, "ON_CALL_NUMBER", None)
    advisor = make_advisor(name="Ana Advisor", regions=["TX"], phone="+15122060931")
    caller = SimulatedCall(client, "+15125550186", FromState="TX")
    guidance = caller.press(caller.start(), "0")
    dial_doc = caller.press(guidance, None)
    assert [n.text for n in dial_doc.iter("Number")] == [advisor.phone]
    advisor.status = "offline"  # rang out and left: nobody else could take it
    db.session.flush()
    after = caller.dial_ends(dial_doc, "no-answer")
    spoken = said(after)
    assert "none of the advisors we rang could answer" in spoken
    assert "on duty" not in spoken and "tonight" not in spoken
    assert spoken.count("within 5 minutes") == 2  # before and after the tone: one promise
    lead = caller.lead
    assert lead.urgency == "critical"
    assert lead.promised_contact_at <= utcnow() + timedelta(minutes=5)
    thanks = said(caller.leave_voicemail(after, "RE" + "5" * 32))
    assert "within 5 minutes" in thanks and "as soon as possible" not in thanks


def test_the_whisper_for_an_emergency_caller_says_who_for_was_not_asked(client, session):
    advisor = make_advisor(name="Ana Advisor", regions=["TX"], phone="+15122060932")
    caller = SimulatedCall(client, "+15125550187", FromState="TX")
    dial_doc = caller.press(caller.press(caller.start(), "0"), None)
    assert [n.text for n in dial_doc.iter("Number")] == [advisor.phone]
    caller.advisor_leg(dial_doc)
    briefing = said(caller.whisper)
    assert "not asked who the call is for" in briefing and "themselves" not in briefing


def test_the_lead_page_and_screen_pop_do_not_claim_an_emergency_caller_called_for_themselves(
    app, client, session
):
    make_advisor(name="Ana Advisor", regions=["TX"], phone="+15122060933")
    caller = SimulatedCall(client, "+15125550188", FromState="TX")
    caller.press(caller.press(caller.start(), "0"), None)
    lead_id = caller.lead.id
    asked = SimulatedCall(client, "+15125550189", FromState="TX")
    asked.press(asked.start(), "1")
    create_user("morgan@example.org", "correct-horse-battery", "manager", "Morgan Reyes")
    db.session.commit()
    manager = app.test_client()
    manager.post("/login", data={"email": "morgan@example.org", "password": "correct-horse-battery"})

    page = manager.get(f"/leads/{lead_id}").get_data(as_text=True)
    pop = manager.get(f"/leads/{lead_id}/pop").get_data(as_text=True)
    assert "not asked (emergency option)" in page and "themselves" not in page
    assert "not asked (emergency option)" in pop and "for themselves" not in pop
    assert "themselves" in manager.get(f"/leads/{asked.lead.id}").get_data(as_text=True)
