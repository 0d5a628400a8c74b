"""Callers nobody can take at once: hold in line, call back, nobody on duty, emergencies (signed webhooks)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from leadrouter.assignment import operations
from leadrouter.assignment.queries import open_leads_of
from leadrouter.extensions import db
from leadrouter.models import Call, CallOffer, Event, FollowUp, utcnow
from leadrouter.routing.calls import LONGEST_RING_SECONDS
from tests.factories import make_advisor, make_lead
from tests.telephony.test_twiml import said
from tests.telephony.test_voice_webhooks import HOLD_URL, PUBLIC_BASE_URL, SimulatedCall, count

ON_CALL = "+15125550911"


def rung(root) -> list[str]:
    return [number.text for number in root.iter("Number")]


def is_hold(root) -> bool:
    gather = root.find("Gather")
    return (
        root.find("Dial") is None
        and gather is not None
        and gather.get("action") == HOLD_URL
        and root.find("Redirect").text == HOLD_URL
    )


def talking(client, advisor, caller: str) -> tuple[SimulatedCall, object]:
    """A caller connected to ``advisor`` and still on the line."""
    call = SimulatedCall(client, caller, FromState="TX")
    dial_doc = call.press(call.start(), "1")
    assert rung(dial_doc) == [advisor.phone]
    call.advisor_leg(dial_doc)
    return call, dial_doc


def finish(call: SimulatedCall, dial_doc) -> None:
    """The conversation ends: the Dial action, then the caller's status callback."""
    call.dial_ends(dial_doc, "completed", "CA" + call.sid[2:][::-1])
    call.hang_up()


def holding_call(client, caller: str = "+15125550150") -> tuple[SimulatedCall, object]:
    call = SimulatedCall(client, caller, FromState="TX")
    hold_doc = call.press(call.start(), "1")
    assert is_hold(hold_doc), said(hold_doc)
    return call, hold_doc


def callbacks_of(call: SimulatedCall) -> list[FollowUp]:
    return list(db.session.scalars(select(FollowUp).where(FollowUp.lead_id == call.lead.id)))


@pytest.fixture
def ana(session):
    return make_advisor(name="Ana Advisor", regions=["TX"], phone="+15122060901")


def test_all_busy_holds_and_connects_when_an_advisor_frees_up(client, app, ana):
    first, first_dial = talking(client, ana, "+15125550151")
    second, hold_doc = holding_call(client)

    spoken = said(hold_doc)
    assert "helping other callers" in spoken and "press 1" in spoken and "number 1 in line" in spoken
    gather = hold_doc.find("Gather")
    assert gather.get("timeout") == str(app.config["HOLD_ANNOUNCE_SECONDS"])
    assert second.call.hold_started_at is not None and second.call.outcome == "in_progress"

    # Still busy: another turn in line, nobody rung.
    assert is_hold(second.press(hold_doc))
    assert count(CallOffer) == 1

    finish(first, first_dial)
    dial_doc = second.press(hold_doc)
    assert rung(dial_doc) == [ana.phone]
    child = second.advisor_leg(dial_doc)
    assert len(second.dial_ends(dial_doc, "completed", child)) == 0
    second.hang_up()
    row = second.call
    assert row.outcome == "answered" and row.advisor_id == ana.id and row.answered_at is not None
    assert row.hold_started_at is not None  # kept: the call's history


def test_a_caller_ana_just_missed_does_not_keep_her_from_the_next_caller_nor_keep_the_lead_on_her(
    client, ana
):
    make_lead(phone="+15125550999")  # lead ids and call ids differ, as they do in production
    first = SimulatedCall(client, "+15125550163", FromState="TX")
    dial_doc = first.press(first.start(), "1")
    assert rung(dial_doc) == [ana.phone]
    hold_doc = first.dial_ends(dial_doc, "no-answer")
    assert is_hold(hold_doc), said(hold_doc)
    # Nobody is on a live call: the caller is not told advisors are helping other callers.
    spoken = said(hold_doc)
    assert "helping other callers" not in spoken and "all of our advisors are busy" in spoken.lower()
    # The lead the ring gave Ana went back: it neither stays hers nor counts against her capacity.
    lead = first.lead
    assert lead.owner_id is None and lead.status == "queued"
    assert open_leads_of(ana.id) == 0

    # Ana is not rung again for the first caller within the minute, so the next caller gets her.
    second = SimulatedCall(client, "+15125550164", FromState="TX")
    assert rung(second.press(second.start(), "1")) == [ana.phone]
    assert is_hold(first.press(hold_doc))
    assert first.lead.owner_id is None and second.lead.owner_id == ana.id


def test_an_advisor_on_a_live_call_is_busy_for_lead_routing_until_the_call_ends(client, ana):
    first, first_dial = talking(client, ana, "+15125550152")
    web_lead = make_lead()
    assert operations.route_lead(web_lead.id).advisor_id is None  # queued: she is on the phone
    finish(first, first_dial)
    assert operations.route_lead(web_lead.id).advisor_id == ana.id


def test_a_ring_whose_callbacks_were_lost_frees_its_advisor_after_the_longest_ring(client, ana):
    caller = SimulatedCall(client, "+15125550158", FromState="TX")
    dial_doc = caller.press(caller.start(), "1")
    assert rung(dial_doc) == [ana.phone]  # then neither the Dial action nor a status callback comes
    web_lead = make_lead()
    assert operations.route_lead(web_lead.id).advisor_id is None  # her phone is ringing
    offer = db.session.scalar(select(CallOffer).where(CallOffer.advisor_id == ana.id))
    # The longest ring, then the whisper and its key: still hers; past that, the ring was lost.
    offer.rang_at = utcnow() - timedelta(seconds=LONGEST_RING_SECONDS + 50)
    db.session.commit()
    assert operations.route_lead(web_lead.id).advisor_id is None
    offer.rang_at = utcnow() - timedelta(seconds=LONGEST_RING_SECONDS + 61)
    db.session.commit()
    assert operations.route_lead(web_lead.id).advisor_id == ana.id


def test_the_notice_is_repeated_by_the_wall_clock(client, ana):
    first, _ = talking(client, ana, "+15125550153")
    second, hold_doc = holding_call(client)
    row = second.call
    row.notice_said_at = utcnow() - timedelta(seconds=10)
    db.session.flush()
    quiet_turn = second.press(hold_doc)
    assert "911" not in said(quiet_turn)

    row.notice_said_at = utcnow() - timedelta(seconds=35)
    db.session.flush()
    noticed = second.press(hold_doc)
    assert "911" in said(noticed) and "988" in said(noticed)
    assert utcnow() - second.call.notice_said_at < timedelta(seconds=5)


def test_after_the_max_wait_by_the_wall_clock_the_caller_is_offered_voicemail(client, app, ana):
    talking(client, ana, "+15125550154")
    second, hold_doc = holding_call(client)
    for _ in range(5):  # many turns within the max wait: still holding
        assert is_hold(second.press(hold_doc))

    second.call.started_at = utcnow() - timedelta(seconds=app.config["CALL_MAX_WAIT_SECONDS"] + 1)
    db.session.flush()
    voicemail_doc = second.press(hold_doc)
    assert voicemail_doc.find("Record") is not None and voicemail_doc.find("Dial") is None
    assert "We will call you back" in said(voicemail_doc)
    assert "An advisor will" in said(voicemail_doc)
    row, lead = second.call, second.lead
    assert row.outcome == "voicemail" and row.hold_started_at is not None
    assert lead.urgency in ("high", "critical")
    [callback] = callbacks_of(second)
    assert callback.kind == "callback" and callback.status == "open"


def test_pressing_1_on_hold_asks_for_a_call_back_with_the_promised_time(client, ana):
    talking(client, ana, "+15125550155")
    second, hold_doc = holding_call(client)
    voicemail_doc = second.press(hold_doc, "1")
    spoken = said(voicemail_doc)
    assert "We will call you back" in spoken and "leave a message" in spoken
    assert "An advisor will call you by" in spoken or "An advisor will try to call you within" in spoken
    record = voicemail_doc.find("Record")
    assert record.get("action") == f"{PUBLIC_BASE_URL}/twilio/voice/voicemail"
    assert second.call.outcome == "voicemail"
    lead = second.lead
    assert lead.urgency in ("high", "critical")
    [callback] = callbacks_of(second)
    assert callback.status == "open" and callback.due_at > utcnow() - timedelta(minutes=1)

    # Replays of the key press and the message change nothing more.
    again = second.press(hold_doc, "1")
    assert again.find("Record") is not None
    second.leave_voicemail(voicemail_doc, "RE" + "7" * 32)
    second.leave_voicemail(voicemail_doc, "RE" + "7" * 32)
    second.hang_up()
    second.hang_up()
    assert len(callbacks_of(second)) == 1 and second.call.outcome == "voicemail"
    assert second.lead.source == "voicemail"
    details = [e.detail for e in db.session.scalars(select(Event).where(Event.lead_id == lead.id))]
    assert sum(d.get("outcome") == "voicemail" for d in details) == 1
    assert not any(d.get("outcome") == "abandoned" for d in details)


def test_hanging_up_on_hold_is_an_abandoned_callback_lead(client, ana):
    # The first hold turn said we call back if cut off (no 9 pressed): consent, so a callback.
    talking(client, ana, "+15125550156")
    second, hold_doc = holding_call(client)
    second.hang_up()
    second.hang_up()
    row, lead = second.call, second.lead
    assert row.outcome == "abandoned" and row.ended_at is not None and row.hold_started_at is not None
    assert lead.urgency in ("high", "critical")
    assert any("hung up" in reason for reason in lead.urgency_reasons)
    assert len(callbacks_of(second)) == 1
    # A late hold turn after the hang-up changes nothing.
    late = second.press(hold_doc)
    assert late.find("Dial") is None and second.call.outcome == "abandoned"
    assert count(CallOffer) == 1


def test_nobody_on_duty_goes_to_voicemail_at_once_saying_when_the_line_is_staffed(client, session):
    # Off shift all week except a Monday morning shift: nobody is on duty (or the shift starts later).
    make_advisor(status="offline", shift_hours={"mon": [["09:00", "17:00"]]})
    call = SimulatedCall(client, FromState="TX")
    doc = call.press(call.start(), "1")
    spoken = said(doc)
    assert doc.find("Record") is not None and doc.find("Dial") is None and doc.find("Gather") is None
    assert "none of our advisors is on duty" in spoken and "911" in spoken
    assert "back on the line at 9:00 AM Central time" in spoken
    assert call.call.outcome == "voicemail" and call.call.hold_started_at is None
    # Never held, so never told we would call back: no permission yet, no callback; the lead says why.
    assert call.lead.urgency in ("high", "critical") and callbacks_of(call) == [] and call.lead.is_open
    steps = [
        e.detail.get("step") for e in db.session.scalars(select(Event).where(Event.lead_id == call.lead.id))
    ]
    assert "left_line_no_permission" in steps
    # A message after the tone is the permission: the callback opens then.
    call.leave_voicemail(doc, "RE" + "8" * 32)
    assert len(callbacks_of(call)) == 1


def test_a_critical_caller_with_nobody_on_duty_is_put_through_to_the_on_call_number(client, app, session):
    app.config["ON_CALL_NUMBER"] = ON_CALL
    make_advisor(status="offline")
    call = SimulatedCall(client, FromState="TX")
    guidance = call.press(call.start(), "0")
    on_call_doc = call.press(guidance)  # stays on the line
    assert rung(on_call_doc) == [] and on_call_doc.find("Dial").text.strip() == ON_CALL
    assert on_call_doc.find("Dial").get("action").endswith("/twilio/voice/dial-result?on_call=1")

    # The on-call line did not answer: the caller is not left waiting for nobody.
    after = call.dial_ends(on_call_doc, "no-answer")
    assert after.find("Record") is not None and call.call.outcome == "voicemail"
    assert call.dial_ends(on_call_doc, "no-answer").find("Record") is not None  # a replay


def test_the_on_call_number_answering_is_an_answered_call(client, app, session):
    app.config["ON_CALL_NUMBER"] = ON_CALL
    call = SimulatedCall(client, FromState="TX")
    on_call_doc = call.press(call.press(call.start(), "0"))
    call.dial_ends(on_call_doc, "completed", "CA" + "9" * 32)
    call.hang_up()
    assert call.call.outcome == "answered" and call.call.answered_at is not None


@pytest.fixture
def four(session):
    return [make_advisor(regions=["TX"], phone=f"+1512206095{n}") for n in range(4)]


def test_an_emergency_rings_several_advisors_at_once_and_the_first_to_accept_takes_it(client, app, four):
    call = SimulatedCall(client, FromState="TX")
    dial_doc = call.press(call.press(call.start(), "0"))
    dial = dial_doc.find("Dial")
    numbers = dial.findall("Number")
    assert len(numbers) == app.config["RING_ALL_SIZE"] == 3 and dial.get("timeout") == "30"
    assert len({number.get("url") for number in numbers}) == 3
    offers = list(db.session.scalars(select(CallOffer).where(CallOffer.call_id == call.call.id)))
    assert len(offers) == 3 and call.call.outcome == "in_progress"

    # The second advisor's phone is answered and the whisper accepted.
    taker = numbers[1]
    child = call.advisor_leg(_only(dial_doc, taker))
    call.dial_ends(dial_doc, "completed", child)
    call.hang_up()
    row, lead = call.call, call.lead
    took = next(a for a in four if a.phone == taker.text)
    assert row.outcome == "answered" and row.advisor_id == took.id and lead.owner_id == took.id
    outcomes = {o.advisor_id: o.outcome for o in db.session.scalars(select(CallOffer))}
    assert outcomes[took.id] == "answered" and sorted(outcomes.values()) == [
        "answered",
        "canceled",
        "canceled",
    ]
    assert all(advisor.status == "available" for advisor in four)  # canceled rings are no misses


def test_an_emergency_nobody_answers_goes_to_the_on_call_number_never_voicemail_first(client, app, four):
    app.config["ON_CALL_NUMBER"] = ON_CALL
    call = SimulatedCall(client, FromState="TX")
    dial_doc = call.press(call.press(call.start(), "0"))
    assert len(rung(dial_doc)) == 3
    on_call_doc = call.dial_ends(dial_doc, "no-answer")
    assert on_call_doc.find("Record") is None
    assert on_call_doc.find("Dial").text.strip() == ON_CALL


def critical_caller_behind_a_long_wait(client, advisor, numbers: tuple[str, str, str]):
    """Two callers hold while `advisor` talks; the second is critical; then she frees up."""
    first, first_dial = talking(client, advisor, numbers[0])
    waiting_long, long_hold = holding_call(client, numbers[1])
    urgent, urgent_hold = holding_call(client, numbers[2])
    urgent.lead.set_urgency("critical", 90, ["test: critical"], True)
    db.session.flush()
    finish(first, first_dial)
    return (waiting_long, long_hold), (urgent, urgent_hold)


def test_a_more_urgent_caller_is_served_first_then_the_longest_waiting(client, ana):
    (waiting_long, long_hold), (urgent, urgent_hold) = critical_caller_behind_a_long_wait(
        client, ana, ("+15125550157", "+15125550158", "+15125550159")
    )

    # The longer wait asks first, but the critical caller is ahead in line for Ana.
    assert is_hold(waiting_long.press(long_hold))
    spoken = said(waiting_long.press(long_hold))
    # Second in line, one advisor on duty, the day's answered call lasted 95 s: about 3 minutes,
    # longer than the 2 minutes anyone is kept holding, so no number is said; 1 is offered.
    assert "number 2 in line" in spoken and "minutes" not in spoken
    assert "cannot say how long the wait will be" in spoken and "press 1" in spoken
    assert rung(urgent.press(urgent_hold)) == [ana.phone]
    assert is_hold(waiting_long.press(long_hold))


def test_an_expected_wait_within_the_max_wait_is_said(app, client, ana, monkeypatch):
    monkeypatch.setitem(app.config, "CALL_MAX_WAIT_SECONDS", 600)
    (waiting_long, long_hold), _ = critical_caller_behind_a_long_wait(
        client, ana, ("+15125550177", "+15125550178", "+15125550179")
    )
    assert is_hold(waiting_long.press(long_hold))
    spoken = said(waiting_long.press(long_hold))
    assert "expected wait is about 3 minutes" in spoken and "cannot say" not in spoken


def test_a_new_caller_does_not_jump_the_line(client, ana):
    first, first_dial = talking(client, ana, "+15125550160")
    holding, hold_doc = holding_call(client, "+15125550161")
    finish(first, first_dial)
    newcomer = SimulatedCall(client, "+15125550162", FromState="TX")
    assert is_hold(newcomer.press(newcomer.start(), "1"))
    assert rung(holding.press(hold_doc)) == [ana.phone]


def test_replayed_hold_turns_while_ringing_repeat_the_ring(client, ana):
    first, first_dial = talking(client, ana, "+15125550163")
    second, hold_doc = holding_call(client)
    finish(first, first_dial)
    dial_doc = second.press(hold_doc)
    for _ in range(2):
        again = second.press(hold_doc)
        assert rung(again) == [ana.phone]
        assert again.find("Dial").get("action") == dial_doc.find("Dial").get("action")
    assert db.session.scalar(select(Call.hold_started_at).where(Call.id == second.call.id)) is not None
    offers = db.session.scalars(select(CallOffer).where(CallOffer.call_id == second.call.id))
    assert len(list(offers)) == 1


def _only(dial_doc, number):
    """A copy of the Dial document keeping one <Number>: that advisor's leg, as Twilio runs it."""
    import copy

    doc = copy.deepcopy(dial_doc)
    dial = doc.find("Dial")
    for other in list(dial.findall("Number")):
        if other.text != number.text:
            dial.remove(other)
    return doc


def test_replays_of_an_emergency_ring_and_its_callbacks_change_nothing(client, four):
    call = SimulatedCall(client, FromState="TX")
    guidance = call.press(call.start(), "0")
    dial_doc = call.press(guidance)
    assert rung(call.press(guidance)) == rung(dial_doc)  # a replayed "stay on the line"
    taker = dial_doc.find("Dial").findall("Number")[0]
    child = call.advisor_leg(_only(dial_doc, taker))
    call.advisor_leg(_only(dial_doc, taker))  # the accept delivered twice
    for _ in range(2):
        assert len(call.dial_ends(dial_doc, "completed", child)) == 0
        call.hang_up()
    offers = list(db.session.scalars(select(CallOffer).order_by(CallOffer.id)))
    assert len(offers) == 3 and sorted(o.outcome for o in offers) == ["answered", "canceled", "canceled"]
    events = list(db.session.scalars(select(Event.type).where(Event.lead_id == call.lead.id)))
    assert events.count("reassigned") <= 1 and events.count("call") == 2  # menu choice, answered
    assert call.call.outcome == "answered" and count(Call) == 1


def test_a_status_callback_before_the_dial_action_of_an_answered_call_is_no_abandonment(client, ana):
    call = SimulatedCall(client, FromState="TX")
    dial_doc = call.press(call.start(), "1")
    child = call.advisor_leg(dial_doc)
    call.hang_up()  # Twilio's callbacks may come in any order
    call.dial_ends(dial_doc, "completed", child)
    assert call.call.outcome == "answered" and callbacks_of(call) == []
    assert not any("hung up" in reason for reason in call.lead.urgency_reasons)
