"""Calls driven end to end through signed webhooks, following the TwiML the app returns.

Each step posts to the URL the previous TwiML named (Gather, Dial, Number, Record
actions), signed the way Twilio signs it, and parses every answer as TwiML.
"""

from __future__ import annotations

import itertools
import threading
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import delete, func, select
from twilio.request_validator import RequestValidator

from leadrouter import create_app
from leadrouter.extensions import db
from leadrouter.models import (
    AuditEntry,
    Call,
    ContactPreference,
    Event,
    FollowUp,
    Lead,
    Recording,
    TrackingNumber,
)
from leadrouter.telephony.twiml import LIFELINE_DIAL_NUMBER
from tests.conftest import BACKENDS, PUBLIC_BASE_URL, TWILIO_TEST_TOKEN, base_config, migrate_to_head
from tests.factories import make_advisor
from tests.telephony.test_twiml import parse, said

HELPLINE = "+18005550100"
CALLER = "+15125550142"  # Austin, TX
VOICE_URL = f"{PUBLIC_BASE_URL}/twilio/voice"
STATUS_URL = f"{PUBLIC_BASE_URL}/twilio/voice/status"
HOLD_URL = f"{PUBLIC_BASE_URL}/twilio/voice/hold"
_sids = itertools.count(1)


def new_sid(prefix: str = "CA") -> str:
    return f"{prefix}{next(_sids):032x}"


def post_signed(
    client, url: str, params: dict, *, token: str = TWILIO_TEST_TOKEN, headers: dict | None = None
):
    """POST ``params`` to an absolute ``url`` the way Twilio does: form-encoded and signed."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    signed = {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params), **(headers or {})}
    return client.post(path, data=params, headers=signed, base_url=f"{parts.scheme}://{parts.netloc}")


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def urls_in(root: ET.Element) -> list[str]:
    """Every URL a TwiML document names."""
    found = []
    for element in root.iter():
        for name in ("action", "url", "statusCallback", "recordingStatusCallback"):
            if element.get(name):
                found.append(element.get(name))
        if element.tag == "Redirect":
            found.append(element.text)
    return found


class SimulatedCall:
    """One inbound call as Twilio would drive it."""

    def __init__(self, client, from_number: str | None = CALLER, *, to: str = HELPLINE, **extra):
        self.client = client
        self.sid = new_sid()
        self.params = {
            "CallSid": self.sid,
            "AccountSid": "AC" + "0" * 32,
            "From": from_number if from_number is not None else "",
            "Caller": from_number if from_number is not None else "",
            "To": to,
            "Called": to,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
            **extra,
        }

    def post(self, url: str, **fields) -> ET.Element:
        response = post_signed(self.client, url, {**self.params, **fields})
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/xml"
        root = parse(response.get_data(as_text=True))
        for url_named in urls_in(root):
            assert url_named.startswith(PUBLIC_BASE_URL + "/twilio/"), url_named
        return root

    def start(self, url: str = VOICE_URL) -> ET.Element:
        return self.post(url)

    def press(self, root: ET.Element, digits: str | None = None, **fields) -> ET.Element:
        """Answer the document's <Gather> (or, with no digits, follow its <Redirect>)."""
        if digits is None:
            return self.post(root.find("Redirect").text, CallStatus="in-progress", **fields)
        return self.post(root.find("Gather").get("action"), Digits=digits, CallStatus="in-progress", **fields)

    def advisor_leg(self, root: ET.Element, *, accept: bool = True) -> str:
        """Ring the advisor named in <Dial><Number>: play the whisper and, if accepted, bridge."""
        number = root.find("Dial/Number")
        child = {
            "CallSid": new_sid(),
            "ParentCallSid": self.sid,
            "AccountSid": self.params["AccountSid"],
            "From": HELPLINE,
            "To": number.text,
            "Direction": "outbound-dial",
            "CallStatus": "in-progress",
        }
        post_signed(self.client, number.get("statusCallback"), {**child, "CallStatus": "ringing"})
        whisper = parse(post_signed(self.client, number.get("url"), child).get_data(as_text=True))
        self.whisper = whisper
        if accept:
            bridged = parse(
                post_signed(
                    self.client, whisper.find("Gather").get("action"), {**child, "Digits": "1"}
                ).get_data(as_text=True)
            )
            assert len(bridged) == 0  # an empty <Response/> bridges the call
        return child["CallSid"]

    def dial_ends(self, root: ET.Element, dial_status: str, child_sid: str | None = None) -> ET.Element:
        dial = root.find("Dial")
        fields = {"DialCallStatus": dial_status, "CallStatus": "in-progress"}
        if child_sid:
            fields.update(DialCallSid=child_sid, DialCallDuration="300")
        return self.post(dial.get("action"), **fields)

    def leave_voicemail(self, root: ET.Element, recording_sid: str, seconds: str = "42") -> ET.Element:
        record = root.find("Record")
        recording = {
            "RecordingSid": recording_sid,
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/{recording_sid}",
            "RecordingDuration": seconds,
        }
        after = self.post(record.get("action"), Digits="#", **recording)
        callback = post_signed(
            self.client,
            record.get("recordingStatusCallback"),
            {
                "CallSid": self.sid,
                "AccountSid": self.params["AccountSid"],
                "RecordingStatus": "completed",
                **recording,
            },
        )
        assert callback.status_code == 200
        parse(callback.get_data(as_text=True))
        return after

    def hang_up(self, status: str = "completed", duration: str = "95") -> ET.Element:
        return self.post(STATUS_URL, CallStatus=status, CallDuration=duration)

    @property
    def call(self) -> Call:
        return db.session.scalar(select(Call).where(Call.call_sid == self.sid))

    @property
    def lead(self) -> Lead:
        return db.session.get(Lead, self.call.lead_id)


def event_types(lead: Lead) -> list[str]:
    return list(db.session.scalars(select(Event.type).where(Event.lead_id == lead.id).order_by(Event.id)))


@pytest.fixture
def advisor(session):
    return make_advisor(name="Dana Advisor", regions=["TX"], phone="+15122060777")


# --- the whole call ---------------------------------------------------------------------------


def test_advisor_answers(client, app, advisor):
    call = SimulatedCall(client, FromState="TX", CallerName="JANE CALLER")
    welcome = call.start()
    spoken = said(welcome)
    assert "answered by advisors of" in spoken and "911" in spoken
    assert welcome.find("Gather").get("action") == f"{PUBLIC_BASE_URL}/twilio/voice/menu"

    dial_doc = call.press(welcome, "1")
    dial = dial_doc.find("Dial")
    assert dial.get("callerId") == HELPLINE
    assert dial.get("timeout") == str(app.config["DIAL_TIMEOUT_SECONDS"])
    number = dial.find("Number")
    assert number.text == advisor.phone
    whisper_query = parse_qs(urlsplit(number.get("url")).query)
    assert set(whisper_query) == {"call", "offer"}  # ids only: no name, no number
    assert number.get("statusCallback") == STATUS_URL

    child_sid = call.advisor_leg(dial_doc)
    briefing = said(call.whisper)
    assert "Texas" in briefing and "themselves" in briefing
    assert CALLER[-4:] not in briefing and "JANE" not in briefing

    after = call.dial_ends(dial_doc, "completed", child_sid)
    assert len(after) == 0
    call.hang_up()

    row, lead = call.call, call.lead
    assert (row.outcome, row.status, row.advisor_id, row.duration_seconds) == (
        "answered",
        "completed",
        advisor.id,
        95,
    )
    assert row.answered_at is not None and row.menu_choice == "1" and row.for_whom == "self"
    assert lead.source == "call" and lead.phone == CALLER and lead.region == "TX"
    assert lead.owner_id == advisor.id and lead.status == "contacted" and lead.first_contact_at is not None
    types = event_types(lead)
    assert types.count("created") == 1 and types.count("assigned") == 1
    assert types.count("call") == 2  # menu choice, answered
    assert count(Lead) == 1 and count(Call) == 1


def test_no_answer_holds_then_a_call_back_with_a_message_is_a_high_urgency_callback(client, advisor):
    call = SimulatedCall(client, FromState="TX")
    dial_doc = call.press(call.start(), "2")
    child_sid = call.advisor_leg(dial_doc, accept=False)
    assert "loved one" in said(call.whisper)

    hold_doc = call.dial_ends(dial_doc, "no-answer", child_sid)
    assert hold_doc.find("Record") is None and hold_doc.find("Gather").get("action") == HOLD_URL
    voicemail_doc = call.press(hold_doc, "1")
    record = voicemail_doc.find("Record")
    assert record.get("action") == f"{PUBLIC_BASE_URL}/twilio/voice/voicemail"
    assert record.get("recordingStatusCallback") == f"{PUBLIC_BASE_URL}/twilio/voice/recording"
    assert call.call.outcome == "voicemail"

    after = call.leave_voicemail(voicemail_doc, "RE" + "1" * 32)
    assert "We have your message" in said(after) and after[-1].tag == "Hangup"
    call.hang_up()

    row, lead = call.call, call.lead
    assert row.outcome == "voicemail" and row.dial_status == "no-answer"
    recordings = list(db.session.scalars(select(Recording).where(Recording.call_id == row.id)))
    assert len(recordings) == 1 and recordings[0].duration_seconds == 42 and recordings[0].url
    assert lead.source == "voicemail" and lead.for_whom == "loved_one"
    assert lead.urgency in ("high", "critical") and any("voicemail" in r for r in lead.urgency_reasons)
    assert event_types(lead).count("voicemail") == 1
    assert "abandoned" not in str(
        [e.detail for e in db.session.scalars(select(Event).where(Event.lead_id == lead.id))]
    )


def test_advisor_voicemail_picking_up_is_not_an_answer(client, advisor):
    """The advisor's own voicemail answers ('completed') but never accepts the whisper."""
    call = SimulatedCall(client)
    dial_doc = call.press(call.start(), "1")
    call.advisor_leg(dial_doc, accept=False)
    hold_doc = call.dial_ends(dial_doc, "completed")
    assert hold_doc.find("Dial") is None and hold_doc.find("Gather").get("action") == HOLD_URL
    assert call.call.outcome == "in_progress" and call.call.answered_at is None


def test_nobody_free_goes_straight_to_voicemail(client, session):
    make_advisor(regions=["TX"], status="offline", phone="+15122060778")
    call = SimulatedCall(client, FromState="TX")
    voicemail_doc = call.press(call.start(), "1")
    assert voicemail_doc.find("Dial") is None and voicemail_doc.find("Record") is not None
    assert call.call.outcome == "voicemail" and call.call.hold_started_at is None
    assert call.lead.urgency == "high"
    call.leave_voicemail(voicemail_doc, "RE" + "2" * 32)
    assert call.call.outcome == "voicemail"


def test_caller_presses_zero(client, advisor):
    call = SimulatedCall(client)
    guidance = call.press(call.start(), "0")
    spoken = said(guidance)
    assert "911" in spoken and "988" in spoken and "Narcan" in spoken
    assert guidance.find("Gather").get("action") == f"{PUBLIC_BASE_URL}/twilio/voice/emergency"
    lead = call.lead
    assert lead.urgency == "critical" and lead.emergency

    lifeline = call.press(guidance, "9")
    assert lifeline.find("Dial").text == LIFELINE_DIAL_NUMBER
    call.hang_up()
    assert call.call.outcome == "crisis_line"


def test_emergency_caller_who_stays_on_the_line_reaches_an_advisor(client, advisor):
    call = SimulatedCall(client)
    guidance = call.press(call.start(), None, SpeechResult="my son overdosed")
    assert "Narcan" in said(guidance)
    dial_doc = call.press(guidance, None)  # no key: the <Redirect> carries on to an advisor
    assert dial_doc.find("Dial/Number").text == advisor.phone
    assert call.lead.urgency == "critical"


@pytest.mark.parametrize(
    "from_number",
    ["anonymous", "Anonymous", "+266696687", "client:alice", "1" * 40, "٥١٢٥٥٥٠١٤٢٥١٢٥٥٥", "", None],
    ids=[
        "anonymous",
        "Anonymous",
        "keypad-anonymous",
        "client",
        "40-digits",
        "non-ascii",
        "empty",
        "missing",
    ],
)
def test_unknown_caller_ids_still_reach_an_advisor(client, session, from_number):
    advisor = make_advisor(regions=["*"], phone="+15122060779")
    call = SimulatedCall(client, from_number)
    welcome = call.start()
    assert welcome.find("Gather") is not None
    dial_doc = call.press(welcome, "1")
    dialed = [n.text for n in dial_doc.iter("Number")]
    assert dialed == [advisor.phone]  # only the advisor, never the caller's "number"
    lead = call.lead
    assert lead.phone is None and lead.unknown_caller and lead.source == "call"
    call.hang_up()


# --- idempotency and ordering ------------------------------------------------------------------


def test_replayed_webhooks_change_nothing(client, advisor):
    call = SimulatedCall(client)
    welcome = call.start()
    call.start()
    dial_doc = call.press(welcome, "1")
    call.press(welcome, "1")
    child = call.advisor_leg(dial_doc)
    call.dial_ends(dial_doc, "completed", child)
    call.dial_ends(dial_doc, "completed", child)
    call.hang_up()
    call.hang_up()
    assert count(Call) == 1 and count(Lead) == 1
    assert sorted(event_types(call.lead)) == ["assigned", "call", "call", "created", "status_changed"]


def test_status_callbacks_twice_and_out_of_order(client, session):
    call = SimulatedCall(client)
    call.start()
    call.hang_up("completed", "12")
    call.hang_up("ringing", "0")
    call.hang_up("completed", "99")
    row, lead = call.call, call.lead
    assert row.status == "completed" and row.outcome == "abandoned" and row.duration_seconds == 12
    assert lead.urgency == "high" and "Caller hung up before reaching an advisor" in lead.urgency_reasons
    details = [
        e.detail
        for e in db.session.scalars(
            select(Event).where(Event.lead_id == lead.id, Event.type == "call").order_by(Event.id)
        )
    ]
    assert [d.get("outcome") for d in details] == ["abandoned", None]
    # Hung up during the welcome: no permission to call back, so no callback, and the lead says why.
    assert details[1]["step"] == "hung_up_no_permission"
    assert count(FollowUp) == 0 and lead.is_open


def test_status_for_an_unknown_call_stores_nothing(client, session):
    response = post_signed(client, STATUS_URL, {"CallSid": new_sid(), "CallStatus": "completed"})
    assert response.status_code == 200 and len(parse(response.get_data(as_text=True))) == 0
    assert count(Call) == 0 and count(Lead) == 0


# --- attribution, block list, injection, language ---------------------------------------------


def test_call_to_a_tracking_number_is_attributed_to_its_campaign(client, session):
    db.session.add(TrackingNumber(number="+18885550199", campaign="spring-billboard"))
    db.session.flush()
    call = SimulatedCall(client, to="+18885550199")
    call.start()
    assert call.lead.campaign == "spring-billboard" and call.call.to_number == "+18885550199"


def test_blocked_caller_hears_a_polite_message_and_is_audited(client, session):
    db.session.add(ContactPreference(phone=CALLER, do_not_contact=True, blocked=True, reason="abusive"))
    db.session.flush()
    call = SimulatedCall(client)
    root = call.start()
    call.start()
    assert "not able to take your call" in said(root) and root[-1].tag == "Hangup"
    assert root.find("Gather") is None and root.find("Dial") is None
    assert count(Lead) == 0 and count(Call) == 0
    audits = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "blocked_call")))
    assert len(audits) == 1 and CALLER not in str(audits[0].detail)


def test_twiml_injection_in_caller_name_stays_text(client, advisor):
    injection = "</Say><Dial>+19005550100</Dial>"
    call = SimulatedCall(client, CallerName=injection)
    welcome = call.start()
    dial_doc = call.press(welcome, "1")
    for root in (welcome, dial_doc):
        assert [n.text for n in root.iter("Number")] in ([], [advisor.phone])
        assert "+19005550100" not in ET.tostring(root, encoding="unicode")
    assert call.lead.name == injection  # stored as text; escaped wherever it is shown


def test_spanish_line_keeps_its_language_through_the_call(client, advisor):
    call = SimulatedCall(client)
    welcome = call.start(f"{VOICE_URL}?lang=es")
    assert welcome.find("Say").get("language") == "es-MX"
    assert welcome.find("Gather").get("action") == f"{PUBLIC_BASE_URL}/twilio/voice/menu?lang=es"
    dial_doc = call.press(welcome, "1")
    assert dial_doc.find("Say").get("language") == "es-MX"
    assert call.lead.language == "es"


# --- faults --------------------------------------------------------------------------------------


def test_database_down_still_answers_the_caller(tmp_path):
    unreachable = f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite'}"
    app = create_app(base_config(unreachable, str(tmp_path / "instance"), ON_CALL_NUMBER="+15125550122"))
    params = {
        "CallSid": new_sid(),
        "From": CALLER,
        "To": HELPLINE,
        "CallerName": "JANE CALLER",
        "FromState": "TX",
    }
    # The welcome, and a caller already holding or at the menu when the database goes.
    for url, extra in (
        (VOICE_URL, {}),
        (HOLD_URL, {}),
        (f"{PUBLIC_BASE_URL}/twilio/voice/menu", {"Digits": "1"}),
    ):
        response = post_signed(app.test_client(), url, {**params, **extra})
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        root = parse(body)
        assert "911" in said(root)
        dial = root.find("Dial")
        assert dial.text == "+15125550122" and dial.get("callerId") == HELPLINE
        assert CALLER not in body and CALLER[1:] not in body and "JANE" not in body


def test_no_phone_number_or_name_reaches_the_logs(client, advisor, caplog):
    caplog.set_level("DEBUG")
    call = SimulatedCall(client, FromState="TX", CallerName="JANE CALLER")
    dial_doc = call.press(call.start(), "1")
    call.dial_ends(dial_doc, "no-answer")
    call.hang_up()
    assert CALLER not in caplog.text and CALLER[2:] not in caplog.text and "JANE" not in caplog.text


# --- concurrency, on committed data ------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def committed_app(request, tmp_path):
    """An app whose requests really commit: a fresh SQLite file, or the PostgreSQL test database.

    The rolled-back ``session`` fixture cannot show what concurrent transactions see.
    """
    if request.param == "sqlite":
        app = create_app(
            base_config(f"sqlite:///{tmp_path / 'concurrent.sqlite'}", str(tmp_path / "instance"))
        )
        migrate_to_head(app)
    else:
        urls = request.getfixturevalue("database_urls")
        app = create_app(base_config(urls["postgres"], str(tmp_path / "instance")))
    created_sids: list[str] = []
    yield app, created_sids
    with app.app_context():
        lead_ids = list(db.session.scalars(select(Call.lead_id).where(Call.call_sid.in_(created_sids))))
        db.session.execute(delete(Call).where(Call.call_sid.in_(created_sids)))
        db.session.execute(delete(Event).where(Event.lead_id.in_(lead_ids)))
        db.session.execute(delete(Lead).where(Lead.id.in_(lead_ids)))
        db.session.commit()
        db.engine.dispose()


def all_at_once(app, url: str, params: dict, n: int = 20) -> list:
    """POST the same signed request from ``n`` threads released together."""
    barrier = threading.Barrier(n)

    def one(_):
        client = app.test_client()
        barrier.wait()
        response = post_signed(client, url, params)
        return response.status_code, response.get_data(as_text=True)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def test_twenty_concurrent_deliveries_of_one_call_make_one_row(committed_app):
    app, created_sids = committed_app
    sid = new_sid()
    created_sids.append(sid)
    caller = "+15125550199"
    params = {"CallSid": sid, "From": caller, "To": HELPLINE, "CallStatus": "ringing", "FromState": "TX"}

    for status, body in all_at_once(app, VOICE_URL, params):
        assert status == 200
        assert parse(body).find("Gather") is not None

    with app.app_context():
        calls = list(db.session.scalars(select(Call).where(Call.call_sid == sid)))
        assert len(calls) == 1
        assert db.session.scalar(select(func.count()).select_from(Lead).where(Lead.phone == caller)) == 1
        types = list(db.session.scalars(select(Event.type).where(Event.lead_id == calls[0].lead_id)))
        assert types == ["created"]

    # Twenty "completed" status callbacks at once: one abandonment, counted once.
    status_params = {**params, "CallStatus": "completed", "CallDuration": "7"}
    assert {status for status, _ in all_at_once(app, STATUS_URL, status_params)} == {200}
    with app.app_context():
        call = db.session.scalar(select(Call).where(Call.call_sid == sid))
        assert (call.status, call.outcome, call.duration_seconds) == ("completed", "abandoned", 7)
        types = sorted(db.session.scalars(select(Event.type).where(Event.lead_id == call.lead_id)))
        assert types == ["call", "call", "created"]  # the abandonment, and why nobody calls back: once each
        assert db.session.get(Lead, call.lead_id).urgency == "high"
