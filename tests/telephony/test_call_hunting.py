"""A ring that ends unanswered offers the caller to the next advisor (hunting), through signed webhooks."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from leadrouter.extensions import db
from leadrouter.models import SET_AWAY_ACTION, Advisor, Assignment, AuditEntry, CallOffer, Event
from tests.factories import make_advisor
from tests.telephony.test_voice_webhooks import HOLD_URL, SimulatedCall, count


@pytest.fixture
def team(session):
    """Two free advisors for Texas."""
    return [
        make_advisor(name="Ana Advisor", regions=["TX"], phone="+15122060801"),
        make_advisor(name="Ben Advisor", regions=["TX"], phone="+15122060802"),
    ]


def rung(root) -> list[str]:
    return [number.text for number in root.iter("Number")]


def name_of(phone: str) -> str:
    return db.session.scalar(select(Advisor.name).where(Advisor.phone == phone))


def offers_of(call: SimulatedCall) -> list[CallOffer]:
    return list(
        db.session.scalars(select(CallOffer).where(CallOffer.call_id == call.call.id).order_by(CallOffer.id))
    )


def offer_events(call: SimulatedCall) -> list[dict]:
    events = db.session.scalars(
        select(Event).where(Event.lead_id == call.lead.id, Event.type == "call").order_by(Event.id)
    )
    return [event.detail for event in events if event.detail.get("step") == "offer"]


@pytest.mark.parametrize("dial_status", ["no-answer", "busy", "failed", "canceled"])
def test_a_missed_ring_offers_the_caller_to_the_next_advisor(client, team, dial_status):
    call = SimulatedCall(client, FromState="TX")
    first_doc = call.press(call.start(), "1")
    [first] = rung(first_doc)
    call.advisor_leg(first_doc, accept=False)
    second_doc = call.dial_ends(first_doc, dial_status, "CA" + "e" * 32)

    assert second_doc.find("Record") is None
    [second] = rung(second_doc)
    assert second != first and {first, second} == {a.phone for a in team}
    assert second_doc.find("Dial").get("action") != first_doc.find("Dial").get("action")
    assert call.call.outcome == "in_progress"

    child = call.advisor_leg(second_doc)
    after = call.dial_ends(second_doc, "completed", child)
    assert len(after) == 0
    call.hang_up()

    row, lead = call.call, call.lead
    second_advisor = db.session.scalar(select(Advisor).where(Advisor.phone == second))
    assert row.outcome == "answered" and row.advisor_id == second_advisor.id
    assert lead.owner_id == second_advisor.id and lead.first_contact_at is not None
    offers = offers_of(call)
    assert [o.outcome for o in offers] == [dial_status, "answered"]
    assert offers[0].dial_call_sid == "CA" + "e" * 32 and offers[0].ring_seconds is not None
    assert all(o.ended_at is not None for o in offers)
    # The missed advisor no longer owns the lead, and their capacity is back.
    current = list(db.session.scalars(select(Assignment).where(Assignment.lead_id == lead.id)))
    assert [a.advisor_id for a in current if a.ended_at is None] == [second_advisor.id]
    assert db.session.scalar(select(Advisor.open_leads).where(Advisor.phone == first)) == 0
    [event] = offer_events(call)
    assert event["outcome"] == dial_status and event["offered_to"] == second_advisor.id
    assert event["reason"].startswith(name_of(first)) and event["reason"].endswith(
        f"offered to {name_of(second)}"
    )


def test_the_timeline_says_who_did_not_answer_and_who_was_offered_the_call(client, team):
    call = SimulatedCall(client, FromState="TX")
    first_doc = call.press(call.start(), "1")
    second_doc = call.dial_ends(first_doc, "no-answer")
    [event] = offer_events(call)
    seconds = offers_of(call)[0].ring_seconds
    first, second = name_of(rung(first_doc)[0]), name_of(rung(second_doc)[0])
    assert event["reason"] == f"{first} did not answer after {seconds} s; offered to {second}"


def test_the_timeline_lists_a_hunted_call_in_the_order_it_happened(client, team, manager_client):
    """Offered to one advisor, missed, offered to the next, answered: every step within the second."""
    call = SimulatedCall(client, FromState="TX")
    first_doc = call.press(call.start(), "1")
    call.advisor_leg(first_doc, accept=False)
    second_doc = call.dial_ends(first_doc, "no-answer", "CA" + "e" * 32)
    child = call.advisor_leg(second_doc)
    call.dial_ends(second_doc, "completed", child)
    call.hang_up()
    first, second = name_of(rung(first_doc)[0]), name_of(rung(second_doc)[0])
    seconds = offers_of(call)[0].ring_seconds

    page = manager_client.get(f"/leads/{call.lead.id}").get_data(as_text=True)
    start = page.index('<ol class="timeline">')
    timeline = re.findall(r"<strong>(.*?)</strong>", page[start : page.index("</ol>", start)])
    # The page lists the newest first; read it oldest first.
    assert "Chose in the phone menu: calling for themselves" in timeline
    assert timeline[::-1][-5:] == [
        f"Assigned to {first}",
        f"Call: no-answer — {first} did not answer after {seconds} s; offered to {second}",
        f"Assigned to {second}",
        "Call: answered",
        "Status: assigned → contacted",
    ]
    # The miss and the next ring were written by one request, at one time: the order is the ids'.
    events = list(db.session.scalars(select(Event).where(Event.lead_id == call.lead.id).order_by(Event.id)))
    assert sorted(events, key=lambda event: (event.at, event.id)) == events


def test_a_whisper_not_accepted_offers_the_caller_to_the_next_advisor(client, team):
    call = SimulatedCall(client, FromState="TX")
    first_doc = call.press(call.start(), "1")
    call.advisor_leg(first_doc, accept=False)
    second_doc = call.dial_ends(first_doc, "completed")  # the advisor's own voicemail picked up
    assert rung(second_doc) != rung(first_doc) and second_doc.find("Record") is None
    assert offers_of(call)[0].outcome == "not-accepted"


def test_an_advisor_who_missed_the_call_is_not_rung_again_for_it(client, team):
    call = SimulatedCall(client, FromState="TX")
    first_doc = call.press(call.start(), "1")
    second_doc = call.dial_ends(first_doc, "no-answer")
    third_doc = call.dial_ends(second_doc, "no-answer")

    # Both advisors missed it a moment ago: nobody is rung twice; they are on duty, so the caller holds.
    assert third_doc.find("Dial") is None and third_doc.find("Gather").get("action") == HOLD_URL
    assert sorted(o.advisor_id for o in offers_of(call)) == sorted(a.id for a in team)
    assert call.call.outcome == "in_progress" and call.call.hold_started_at is not None
    last = offer_events(call)[-1]
    assert last["offered_to"] is None and last["reason"].endswith("waits in line for the next advisor free")


def test_an_advisor_busy_on_a_call_or_offline_is_not_offered_the_caller(client, team):
    team[1].status = "offline"
    db.session.flush()
    call = SimulatedCall(client, FromState="TX")
    first_doc = call.press(call.start(), "1")
    assert rung(first_doc) == [team[0].phone]
    assert call.dial_ends(first_doc, "busy").find("Gather").get("action") == HOLD_URL
    # The ring gave her the lead; she missed it, so it goes back (routing takes it once the call ends).
    assert call.lead.owner_id is None and call.lead.status == "queued"


def test_replayed_dial_results_change_nothing(client, team):
    call = SimulatedCall(client, FromState="TX")
    first_doc = call.press(call.start(), "1")
    call.press(call.start(), "1")  # a replayed menu answer rings the same advisor, same offer
    assert len(offers_of(call)) == 1
    second_doc = call.dial_ends(first_doc, "no-answer", "CA" + "f" * 32)
    for _ in range(2):
        again = call.dial_ends(first_doc, "no-answer", "CA" + "f" * 32)
        assert rung(again) == rung(second_doc)
        assert again.find("Dial").get("action") == second_doc.find("Dial").get("action")
    child = call.advisor_leg(second_doc)
    call.dial_ends(second_doc, "completed", child)
    call.dial_ends(second_doc, "completed", child)
    call.dial_ends(first_doc, "no-answer", "CA" + "f" * 32)  # a very late replay of the first ring
    call.hang_up()
    call.hang_up()

    assert [o.outcome for o in offers_of(call)] == ["no-answer", "answered"]
    assert len(offer_events(call)) == 1 and call.call.outcome == "answered"
    types = db.session.scalars(select(Event.type).where(Event.lead_id == call.lead.id))
    # The missed ring's assignment went back, so the advisor who answered is assigned it afresh.
    assert sorted(types) == ["assigned", "assigned", "call", "call", "call", "created", "status_changed"]
    assert count(CallOffer) == 2


def miss_a_call(client, caller: str, advisor: Advisor) -> None:
    call = SimulatedCall(client, caller, FromState="TX")
    dial_doc = call.press(call.start(), "1")
    assert rung(dial_doc) == [advisor.phone]
    # Nobody else: the caller holds for her (or, once she is away, leaves a message).
    assert call.dial_ends(dial_doc, "no-answer").find("Dial") is None
    call.hang_up()


def test_two_calls_in_a_row_rung_out_set_the_advisor_away_until_they_undo_it(
    client, advisor_client, manager_client, advisor_user
):
    ana = advisor_user.advisor
    miss_a_call(client, "+15125550143", ana)
    db.session.refresh(ana)
    assert ana.status == "available"  # one miss is not a pattern
    miss_a_call(client, "+15125550144", ana)
    db.session.refresh(ana)
    assert ana.status == "away"
    [audit] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == SET_AWAY_ACTION))
    assert audit.target == f"advisor:{ana.id}" and audit.detail["reason"] == "missed two calls in a row"

    # The managers see it on the team board; Ana sees it on her dashboard.
    board = manager_client.get("/team").get_data(as_text=True)
    assert "Ana Torres was set away at" in board and 'class="chip chip-away"' in board
    dashboard = advisor_client.get("/dashboard").get_data(as_text=True)
    assert 'id="away-notice"' in dashboard

    # Routing skips her: the next caller is not rung to her.
    caller = SimulatedCall(client, "+15125550145", FromState="TX")
    assert caller.press(caller.start(), "1").find("Dial") is None

    # She undoes it; the count of misses starts again from her choice.
    advisor_client.post("/dashboard/status", data={"status": "available"})
    db.session.refresh(ana)
    assert ana.status == "available"
    assert "was set away" not in manager_client.get("/team").get_data(as_text=True)
    assert 'id="away-notice"' not in advisor_client.get("/dashboard").get_data(as_text=True)
    miss_a_call(client, "+15125550146", ana)
    db.session.refresh(ana)
    assert ana.status == "available"
