"""Inbound texts: STOP at once, START undoes it, HELP answers, anything else is a lead touch."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from leadrouter.extensions import db
from leadrouter.intake.operations import LeadInput, record_lead
from leadrouter.intake.texts import classify_text
from leadrouter.models import AuditEntry, ContactPreference, Event, Lead, TextMessage
from tests.conftest import PUBLIC_BASE_URL
from tests.factories import make_lead
from tests.telephony.test_twiml import MESSAGING_VERBS, parse
from tests.telephony.test_voice_webhooks import CALLER, HELPLINE, new_sid, post_signed

SMS_URL = f"{PUBLIC_BASE_URL}/twilio/sms"


def text(client, body: str, *, sender: str = CALLER, sid: str | None = None, **extra):
    """Send one signed inbound SMS; return (parsed reply, the reply's text)."""
    params = {
        "MessageSid": sid or new_sid("SM"),
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": HELPLINE,
        "Body": body,
        "NumMedia": "0",
        **extra,
    }
    response = post_signed(client, SMS_URL, params)
    assert response.status_code == 200 and response.mimetype == "text/xml"
    root = parse(response.get_data(as_text=True), MESSAGING_VERBS)
    return root, " ".join("".join(m.itertext()) for m in root.iter("Message"))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def events(lead: Lead, type_: str) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.lead_id == lead.id, Event.type == type_)))


@pytest.mark.parametrize(
    "body",
    [
        "STOP",
        "stop",
        " Stop. ",
        "STOPALL",
        "stop all",
        "UNSUBSCRIBE",
        "Cancel",
        "END",
        "quit",
        "OPTOUT",
        "stop texting me",
        "Please stop",
        "please don’t text me anymore",
        "Do not contact me again",
        "remove me from your list",
        "ya no me manden mensajes",
    ],
)
def test_opt_out_words_mark_the_number_do_not_contact_at_once(client, session, body):
    lead = make_lead(phone=CALLER)
    _, reply = text(client, body)
    assert "unsubscribed" in reply and "START" in reply
    assert db.session.get(ContactPreference, CALLER).do_not_contact
    db.session.refresh(lead)
    assert lead.do_not_contact
    assert len(events(lead, "opted_out")) == 1


@pytest.mark.parametrize(
    "body",
    [
        "I can't stop using heroin",
        "my husband won't stop drinking",
        "Please help, when does this end?",
        "stop",
        "can you call me tomorrow",
    ],
)
def test_only_real_opt_outs_are_opt_outs(body):
    expected = "opt_out" if body == "stop" else "message"
    assert classify_text(body) == expected


def test_stop_without_a_lead_still_covers_future_leads(client, session):
    text(client, "STOP")
    assert count(Lead) == 0
    assert db.session.get(ContactPreference, CALLER).do_not_contact
    later = record_lead(LeadInput(source="web_form", name="Later", phone=CALLER), route=False).lead
    assert later.do_not_contact


def test_start_undoes_stop(client, session):
    lead = make_lead(phone=CALLER)
    text(client, "STOP")
    _, reply = text(client, "START")
    assert "subscribed again" in reply
    db.session.refresh(lead)
    assert not lead.do_not_contact and not db.session.get(ContactPreference, CALLER).do_not_contact
    assert len(events(lead, "opted_out")) == 1 and len(events(lead, "opted_in")) == 1


def test_yes_opts_back_in_only_after_an_opt_out(client, session):
    lead = make_lead(phone=CALLER)
    text(client, "YES")
    assert events(lead, "opted_in") == [] and count(TextMessage) == 1
    text(client, "STOP")
    _, reply = text(client, "yes")
    assert "subscribed again" in reply and len(events(lead, "opted_in")) == 1


@pytest.mark.parametrize("body", ["HELP", "help", "Info"])
def test_help_answers_with_the_helpline(client, session, body):
    _, reply = text(client, body)
    assert "1-800-555-0100" in reply and "911" in reply and "988" in reply and "STOP" in reply
    assert count(Lead) == 0


def test_a_text_creates_a_lead_once_per_message_sid(client, session):
    sid = new_sid("SM")
    body = "Looking for help for my daughter, she uses fentanyl"
    _, first_reply = text(client, body, sid=sid, FromState="TX")
    _, replay_reply = text(client, body, sid=sid, FromState="TX")
    lead = db.session.scalar(select(Lead))
    assert count(Lead) == 1 and count(TextMessage) == 1
    assert lead.source == "sms" and lead.phone == CALLER and lead.message == body and lead.region == "TX"
    assert len(events(lead, "sms")) == 1 and len(events(lead, "created")) == 1
    assert "1-800-555-0100" in first_reply  # a first text is answered with how to reach us

    _, second_reply = text(client, "Is anyone there?")
    db.session.refresh(lead)
    assert count(Lead) == 1 and len(events(lead, "sms")) == 2 and "Is anyone there?" in lead.message
    assert second_reply == ""  # an ongoing conversation gets no automatic reply


def test_an_emergency_text_is_critical_and_answered_with_911(client, session):
    _, reply = text(client, "my son overdosed and is not breathing")
    lead = db.session.scalar(select(Lead))
    assert lead.urgency == "critical" and "911" in reply


def test_a_blocked_number_texting_gets_no_lead_and_is_audited(client, session):
    db.session.add(ContactPreference(phone=CALLER, do_not_contact=True, blocked=True, reason="spam"))
    db.session.flush()
    sid = new_sid("SM")
    root, reply = text(client, "buy cheap stuff", sid=sid)
    text(client, "buy cheap stuff", sid=sid)
    assert reply == "" and len(root) == 0
    assert count(Lead) == 0
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "blocked_sms")
        )
        == 1
    )


def test_replayed_stop_adds_nothing(client, session):
    lead = make_lead(phone=CALLER)
    sid = new_sid("SM")
    text(client, "STOP", sid=sid)
    _, reply = text(client, "STOP", sid=sid)
    assert "unsubscribed" in reply and len(events(lead, "opted_out")) == 1


def test_texts_never_reach_the_logs(client, session, caplog):
    caplog.set_level("DEBUG")
    body = "My brother Carlos uses heroin every day"
    text(client, body)
    text(client, "STOP")
    assert CALLER not in caplog.text and CALLER[2:] not in caplog.text and "Carlos" not in caplog.text
