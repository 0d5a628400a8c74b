"""What a caller hears is what is stored: consent to a call back, the critical promise, who for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from leadrouter.auth.users import create_user
from leadrouter.extensions import db
from leadrouter.intake.consent import (
    PHONE_CALLBACK_VERSION,
    PHONE_HOLD_CALLBACK_VERSION,
    PHONE_VOICEMAIL_VERSION,
    phone_consent_text,
)
from leadrouter.leads.consent import has_consent
from leadrouter.models import ConsentRecord, Event, FollowUp, utcnow
from leadrouter.pipeline.compliance import outbound_refusal
from tests.factories import make_advisor
from tests.telephony.test_call_holding import ana, holding_call, is_hold, talking  # noqa: F401 (fixture)
from tests.telephony.test_twiml import said
from tests.telephony.test_voice_webhooks import STATUS_URL, VOICE_URL, SimulatedCall


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


def test_a_message_left_after_the_call_back_promise_is_consent_a_caller_who_never_held_gives_none(
    client,
    app,
    ana,  # noqa: F811
):
    talking(client, ana, "+15125550183")
    caller, hold_doc = holding_call(client, "+15125550184")
    caller.call.started_at = utcnow() - timedelta(seconds=app.config["CALL_MAX_WAIT_SECONDS"] + 1)
    db.session.flush()
    promise_doc = caller.press(hold_doc)
    # Held past the first turn's "we call you back if cut off" without pressing 9: that consent.
    [held] = consents_of(caller)
    assert held.version == PHONE_HOLD_CALLBACK_VERSION and held.text in said(hold_doc)
    caller.leave_voicemail(promise_doc, "RE" + "4" * 32)
    held, consent = consents_of(caller)
    assert consent.given and consent.version == PHONE_VOICEMAIL_VERSION and consent.text in said(promise_doc)

    # Hung up while the welcome played (never held, never told we would call back): none.
    gone = SimulatedCall(client, "+15125550185", FromState="TX")
    gone.start()
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
    # Never held, so no permission yet: the call back is promised only for a message, said once.
    assert "call you back only if you leave a message" in spoken and "We will call you back." not in spoken
    assert spoken.count("within 5 minutes") == 1
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


# --- permission to call back a caller who leaves the line (issue #14) --------------------------

HOLD_PROMPT_EN = "If we get cut off, an advisor will call you back at this number."
CALL_BACK_STEPS = ("no_call_back", "hung_up_no_permission", "left_line_no_permission")


def callbacks_of(call: SimulatedCall) -> list[FollowUp]:
    return list(
        db.session.scalars(
            select(FollowUp).where(FollowUp.lead_id == call.lead.id, FollowUp.kind == "callback")
        )
    )


def call_steps(call: SimulatedCall) -> list[str]:
    events = db.session.scalars(
        select(Event).where(Event.lead_id == call.lead.id, Event.type == "call").order_by(Event.at, Event.id)
    )
    return [event.detail["step"] for event in events if event.detail.get("step") in CALL_BACK_STEPS]


def staff_client(app):
    create_user("morgan@example.org", "correct-horse-battery", "manager", "Morgan Reyes")
    db.session.commit()
    manager = app.test_client()
    manager.post("/login", data={"email": "morgan@example.org", "password": "correct-horse-battery"})
    return manager


def in_calling_hours():
    """Noon in Texas today: "Call the lead" is refused then only for a reason other than the hour."""
    return utcnow().replace(hour=17, minute=0, second=0, microsecond=0)


def turn_passes(app, caller: SimulatedCall) -> None:
    """The caller has heard the first hold turn and its <Gather> has waited: the next turn is due."""
    call = caller.call
    call.hold_started_at -= timedelta(seconds=app.config["HOLD_ANNOUNCE_SECONDS"] + 1)
    db.session.commit()


def test_the_first_hold_turn_says_we_call_back_unless_9_later_turns_do_not(app, client, ana):  # noqa: F811
    talking(client, ana, "+15125550190")
    caller = SimulatedCall(client, "+15125550191", FromState="TX")
    menu = caller.start()
    hold_doc = caller.press(menu, "1")
    assert is_hold(hold_doc)
    first = said(hold_doc)
    prompt = phone_consent_text(PHONE_HOLD_CALLBACK_VERSION, "en")
    assert prompt.startswith(HOLD_PROMPT_EN) and prompt in first and "press 9" in first
    # After "all of our advisors are ...": the caller first learns they are on hold.
    assert first.index("helping other callers") < first.index(HOLD_PROMPT_EN)
    assert hold_doc.find("Gather").get("numDigits") == "1"  # any key, 9 as well as 1
    # The same request again (a retried webhook): Twilio may play this answer, so it says it too.
    assert prompt in said(caller.press(menu, "1"))
    turn_passes(app, caller)
    second = caller.press(hold_doc)
    assert is_hold(second) and HOLD_PROMPT_EN not in said(second) and "press 1" in said(second)


def test_the_first_hold_turn_says_it_in_spanish(app, client, ana):  # noqa: F811
    ana.languages = ["en", "es"]
    talking(client, ana, "+15125550192")
    caller = SimulatedCall(client, "+15125550193", FromState="TX")
    hold_doc = caller.press(caller.start(f"{VOICE_URL}?lang=es"), "1")
    spanish = phone_consent_text(PHONE_HOLD_CALLBACK_VERSION, "es")
    assert spanish != phone_consent_text(PHONE_HOLD_CALLBACK_VERSION, "en") and "9" in spanish
    assert spanish in said(hold_doc) and HOLD_PROMPT_EN not in said(hold_doc)
    turn_passes(app, caller)
    assert spanish not in said(caller.press(hold_doc))


def test_hanging_up_on_hold_after_the_prompt_is_consent_to_one_call_back(app, client, ana):  # noqa: F811
    ana.languages = ["en", "es"]
    talking(client, ana, "+15125550194")
    caller = SimulatedCall(client, "+15125550195", FromState="TX")
    hold_doc = caller.press(caller.start(f"{VOICE_URL}?lang=es"), "1")
    assert caller.call.hold_started_at is not None and consents_of(caller) == []
    caller.hang_up()
    caller.hang_up()  # a replayed status callback changes nothing
    caller.post(STATUS_URL, CallStatus="completed", CallDuration="95")
    [consent] = consents_of(caller)
    assert consent.given and consent.source == "call" and consent.version == PHONE_HOLD_CALLBACK_VERSION
    assert consent.text == phone_consent_text(PHONE_HOLD_CALLBACK_VERSION, "es") and consent.text in said(
        hold_doc
    )
    assert consent.page_url == f"call:{caller.sid}"
    [callback] = callbacks_of(caller)
    assert callback.status == "open" and caller.call.outcome == "abandoned"
    lead = caller.lead
    assert has_consent(lead) and outbound_refusal(lead, "call", in_calling_hours()) is None

    page = staff_client(app).get(f"/leads/{lead.id}").get_data(as_text=True)
    assert PHONE_HOLD_CALLBACK_VERSION in page and "No consent on record" not in page
    assert "Hung up before reaching an advisor; no permission" not in page
    # How the caller gave it, in plain words, rather than "From unknown address on call:CA…".
    assert "heard that we call back if the call drops, and did not press 9" in page
    assert "unknown address" not in page and f"On the phone, call {caller.sid}" in page


def test_pressing_9_on_hold_keeps_the_place_and_a_hang_up_then_opens_no_call_back(app, client, ana):  # noqa: F811
    talking(client, ana, "+15125550196")
    ahead, _ = holding_call(client, "+15125550197")
    caller, hold_doc = holding_call(client, "+15125550198")
    held_since = caller.call.hold_started_at
    after_9 = caller.press(hold_doc, "9")
    assert is_hold(after_9) and "number 2 in line" in said(after_9)
    assert caller.call.hold_started_at == held_since and caller.call.outcome == "in_progress"
    caller.press(hold_doc, "9")  # a replay: one event
    caller.hang_up()
    lead = caller.lead
    assert caller.call.outcome == "abandoned" and lead.urgency in ("high", "critical") and lead.is_open
    assert consents_of(caller) == [] and callbacks_of(caller) == []
    assert call_steps(caller) == ["no_call_back", "hung_up_no_permission"]
    refusal = outbound_refusal(lead, "call", in_calling_hours())
    assert refusal is not None and refusal.code == "no_consent"

    page = staff_client(app).get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "Asked not to be called back if the call drops" in page
    assert "Hung up before reaching an advisor; no permission to call back" in page
    assert "On hold: every advisor who could take the call was busy" in page


def test_pressing_9_then_1_is_a_call_back_asked_for(client, ana):  # noqa: F811
    talking(client, ana, "+15125550199")
    caller, hold_doc = holding_call(client, "+15125550200")
    caller.press(hold_doc, "9")
    promise_doc = caller.press(hold_doc, "1")
    assert promise_doc.find("Record") is not None
    caller.hang_up()
    [consent] = consents_of(caller)
    assert consent.version == PHONE_CALLBACK_VERSION and has_consent(caller.lead)
    assert len(callbacks_of(caller)) == 1 and "no_call_back" in call_steps(caller)


def said_no_then_waited_too_long(app, client, advisor, talking_to: str, caller_number: str):
    """A caller who pressed 9 on hold, still in line at the max wait: their next turn leaves the line."""
    talking(client, advisor, talking_to)
    caller, hold_doc = holding_call(client, caller_number)
    caller.press(hold_doc, "9")
    caller.call.started_at = utcnow() - timedelta(seconds=app.config["CALL_MAX_WAIT_SECONDS"] + 1)
    db.session.flush()
    return caller, hold_doc


def test_pressing_9_then_leaving_a_message_at_the_max_wait_is_a_call_back(app, client, ana):  # noqa: F811
    caller, hold_doc = said_no_then_waited_too_long(app, client, ana, "+15125550201", "+15125550202")
    promise_doc = caller.press(hold_doc)
    assert promise_doc.find("Record") is not None
    assert consents_of(caller) == [] and callbacks_of(caller) == []  # no 1, no message yet
    assert call_steps(caller) == ["no_call_back", "left_line_no_permission"]
    caller.leave_voicemail(promise_doc, "RE" + "6" * 32)
    caller.hang_up()
    [consent] = consents_of(caller)
    assert consent.version == PHONE_VOICEMAIL_VERSION and len(callbacks_of(caller)) == 1


def test_hanging_up_while_advisors_ring_gives_no_permission_to_call_back(client, ana):  # noqa: F811
    caller = SimulatedCall(client, "+15125550203", FromState="TX")
    dial_doc = caller.press(caller.start(), "1")
    assert [n.text for n in dial_doc.iter("Number")] == [ana.phone]
    caller.hang_up()
    caller.hang_up()
    lead = caller.lead
    assert caller.call.outcome == "abandoned" and caller.call.hold_started_at is None
    assert lead.urgency in ("high", "critical") and lead.is_open
    assert consents_of(caller) == [] and callbacks_of(caller) == []
    assert call_steps(caller) == ["hung_up_no_permission"]
    [event] = [
        e
        for e in db.session.scalars(select(Event).where(Event.lead_id == lead.id))
        if e.detail.get("step") == "hung_up_no_permission"
    ]
    assert event.detail["detail"] == "hung up before reaching an advisor; no permission to call back"


def test_a_caller_with_permission_is_promised_the_call_back_without_a_message(app, client, ana):  # noqa: F811
    talking(client, ana, "+15125550204")
    held, hold_doc = holding_call(client, "+15125550205")
    held.call.started_at = utcnow() - timedelta(seconds=app.config["CALL_MAX_WAIT_SECONDS"] + 1)
    db.session.flush()
    spoken = said(held.press(hold_doc))
    assert "We will call you back." in spoken and "only if you leave a message" not in spoken
    assert spoken.startswith("Thank you for waiting.") and "If you do" not in spoken
    assert spoken.count("An advisor will") == 2  # before and after the tone

    refused, refused_hold = holding_call(client, "+15125550206")
    refused.press(refused_hold, "9")
    refused.call.started_at = utcnow() - timedelta(seconds=app.config["CALL_MAX_WAIT_SECONDS"] + 1)
    db.session.flush()
    spoken = said(refused.press(refused_hold))
    assert "We will call you back." not in spoken and "call you back only if you leave a message" in spoken
    # Only conditionally ("If you do, an advisor will ..."), and not repeated after a silent tone.
    assert spoken.count("an advisor will") == 1 and "An advisor will" not in spoken
    assert spoken.startswith("Thank you for waiting.")  # they held


# --- what the caller sent to the call back hears (QA F5, F7) ------------------------------

PROMISES = ("An advisor will call you", "An advisor will try to call you")


def at_local_hour(monkeypatch, hour: int, minute: int = 30) -> None:
    """The promise is worded at ``hour``:``minute`` in Texas (Central standard time, UTC-6)."""
    moment = datetime(2026, 12, 2, hour, minute, tzinfo=UTC) + timedelta(hours=6)
    monkeypatch.setattr("leadrouter.telephony.webhooks.utcnow", lambda: moment)


def test_a_caller_without_permission_and_nobody_on_duty_hears_no_unconditional_promise(session, client):
    make_advisor(name="Olga Offline", regions=["TX"], phone="+15122060951", status="offline")
    caller = SimulatedCall(client, "+15125550207", FromState="TX")
    doc = caller.press(caller.start(), "1")
    assert doc.find("Record") is not None and caller.call.hold_started_at is None
    spoken = said(doc)
    assert "Thank you for waiting" not in spoken and "We will call you back." not in spoken
    assert "only if you leave a message" in spoken
    assert not any(promise in spoken for promise in PROMISES)  # only "If you do, an advisor will ..."
    assert "If you do, an advisor will" in spoken
    assert callbacks_of(caller) == []
    # The message makes it a promise: said then without the condition.
    thanks = said(caller.leave_voicemail(doc, "RE" + "7" * 32))
    assert any(promise in thanks for promise in PROMISES) and "If you do" not in thanks


def test_a_caller_who_held_to_the_max_wait_is_thanked_for_waiting(app, client, ana):  # noqa: F811
    refused, hold_doc = said_no_then_waited_too_long(app, client, ana, "+15125550208", "+15125550209")
    spoken = said(refused.press(hold_doc))
    assert spoken.startswith("Thank you for waiting.") and "If you do, an advisor will" in spoken
    assert not any(promise in spoken for promise in PROMISES)


def test_the_quiet_hours_line_says_before_8_am_in_the_morning_and_tonight_at_night(
    monkeypatch,
    session,
    client,
):
    make_advisor(name="Olga Offline", regions=["TX"], phone="+15122060952", status="offline")
    at_local_hour(monkeypatch, 5)
    early = SimulatedCall(client, "+15125550210", FromState="TX")
    spoken = said(early.press(early.start(), "1"))
    assert "we will not call you before 8 AM" in spoken and "tonight" not in spoken

    at_local_hour(monkeypatch, 22, 0)
    late = SimulatedCall(client, "+15125550211", FromState="TX")
    spoken = said(late.press(late.start(), "1"))
    assert "we will not call you tonight" in spoken and "before 8 AM" not in spoken

    at_local_hour(monkeypatch, 5)
    spanish = SimulatedCall(client, "+15125550212", FromState="TX")
    spoken = said(spanish.press(spanish.start(f"{VOICE_URL}?lang=es"), "1"))
    assert "no le llamaremos antes de las 8 a. m." in spoken and "esta noche" not in spoken
    assert "Si lo deja, un asesor" in spoken and "Gracias por esperar" not in spoken
