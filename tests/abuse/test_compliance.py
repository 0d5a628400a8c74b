"""Each contact rule blocks click-to-call before any request reaches Twilio, and says why.

The real twilio Client runs with a recording HTTP client at the network edge
(tests/recording_http.py): "no Twilio request" means the Client was never asked to send
anything. Already covered: do-not-contact set on the lead page blocks the call
(tests/dashboard/test_queue_and_lead.py); this adds the opt-out that arrives by text, the
missing consent, quiet hours in the lead's own time zone (both DST changes), the critical
exception, the allowed call end to end, and a critical caller with the broker down.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from leadrouter.auth.users import create_user
from leadrouter.extensions import db
from leadrouter.intake.operations import ConsentInput
from leadrouter.models import Event, Lead, utcnow
from leadrouter.pipeline.compliance import outbound_refusal
from tests.conftest import PUBLIC_BASE_URL
from tests.dashboard.conftest import PASSWORD, sign_in
from tests.factories import CONSENT, make_advisor, make_lead
from tests.fault_stack import free_port
from tests.recording_http import RecordingHttpClient
from tests.telephony.test_twiml import parse, said
from tests.telephony.test_voice_webhooks import HELPLINE, SimulatedCall, post_signed

LEAD_PHONE = "+17372060321"
ADVISOR_PHONE = "+15122060321"


def zone_where_it_is(hours: range) -> str:
    """A fixed-offset zone in which the local hour, right now, is one of ``hours``."""
    now = utcnow()
    for offset in range(-12, 15):
        name = f"Etc/GMT{-offset:+d}" if offset else "Etc/UTC"  # Etc/GMT+5 is UTC-5
        if now.astimezone(ZoneInfo(name)).hour in hours:
            return name
    raise AssertionError("every hour of the day is some offset's local hour")


@pytest.fixture
def twilio(app, monkeypatch) -> RecordingHttpClient:
    recorder = RecordingHttpClient()
    monkeypatch.setitem(app.extensions, "twilio_http_client", recorder)
    return recorder


@pytest.fixture
def advisor_user(session):
    return create_user(
        "caller-advisor@example.org", PASSWORD, "advisor", "Cal Advisor", regions=["TX"], phone=ADVISOR_PHONE
    )


@pytest.fixture
def advisor_client(app, session, advisor_user):
    client = app.test_client()
    assert sign_in(client, advisor_user.email).status_code == 302
    return client


def own_lead(advisor_user, *, daytime: bool = True, **fields) -> Lead:
    """A consented lead owned by the advisor, in a zone where it is now day (or night)."""
    values = {"phone": LEAD_PHONE, "state": "TX", **fields}
    lead = make_lead(**values)
    lead.owner_id = advisor_user.advisor.id
    lead.timezone = zone_where_it_is(range(9, 20) if daytime else range(0, 6))
    return lead


def click_to_call(client, lead: Lead):
    db.session.flush()  # the request runs in its own session on the same transaction
    return client.post(f"/leads/{lead.id}/call")


def blocked_codes(session, lead: Lead) -> list[str]:
    events = session.scalars(select(Event).where(Event.lead_id == lead.id, Event.type == "outbound_blocked"))
    return [event.detail["code"] for event in events]


def assert_blocked(response, twilio, session, lead, code: str):
    assert response.status_code == 409
    assert twilio.requests == [], "nothing was sent to Twilio"
    assert blocked_codes(session, lead) == [code]
    session.expire_all()


# --- each rule, through the dashboard ------------------------------------------------------------


def test_an_opt_out_by_free_text_sms_blocks_the_call(app, advisor_client, advisor_user, session, twilio):
    lead = own_lead(advisor_user)
    sms = {
        "MessageSid": "SM" + "a" * 32,
        "From": LEAD_PHONE,
        "To": HELPLINE,
        "Body": "please don't call me again",
    }
    assert post_signed(app.test_client(), f"{PUBLIC_BASE_URL}/twilio/sms", sms).status_code == 200

    response = click_to_call(advisor_client, lead)

    assert_blocked(response, twilio, session, lead, "do_not_contact")
    assert "asked not to be contacted" in response.get_data(as_text=True)


def test_a_number_on_the_do_not_contact_list_blocks_a_new_leads_call(
    app, advisor_client, advisor_user, session, twilio
):
    sms = {"MessageSid": "SM" + "b" * 32, "From": LEAD_PHONE, "To": HELPLINE, "Body": "STOP"}
    assert post_signed(app.test_client(), f"{PUBLIC_BASE_URL}/twilio/sms", sms).status_code == 200
    lead = own_lead(advisor_user)  # arrives after the STOP: inherits it
    assert_blocked(click_to_call(advisor_client, lead), twilio, session, lead, "do_not_contact")


def test_a_lead_without_consent_is_not_called(advisor_client, advisor_user, session, twilio):
    lead = own_lead(advisor_user, consent=None)
    assert_blocked(click_to_call(advisor_client, lead), twilio, session, lead, "no_consent")


def test_consent_refused_on_the_form_is_not_consent(advisor_client, advisor_user, session, twilio):
    refused = ConsentInput(given=False, text=CONSENT.text, version=CONSENT.version)
    lead = own_lead(advisor_user, consent=refused)
    assert_blocked(click_to_call(advisor_client, lead), twilio, session, lead, "no_consent")


def test_outside_8_to_21_in_the_leads_own_time_is_not_called(advisor_client, advisor_user, session, twilio):
    lead = own_lead(advisor_user, daytime=False)
    response = click_to_call(advisor_client, lead)
    assert_blocked(response, twilio, session, lead, "quiet_hours")
    assert "calls are allowed 08:00-21:00" in response.get_data(as_text=True)


def test_a_critical_lead_may_be_called_at_night(advisor_client, advisor_user, session, twilio):
    lead = own_lead(advisor_user, daytime=False, message="he overdosed and is not breathing")
    assert lead.urgency == "critical"
    response = click_to_call(advisor_client, lead)
    assert response.status_code == 303
    assert len(twilio.requests) == 1
    assert blocked_codes(session, lead) == []


def test_an_allowed_call_rings_the_advisor_once_and_the_bridge_dials_the_lead(
    app, advisor_client, advisor_user, session, twilio
):
    lead = own_lead(advisor_user)
    response = click_to_call(advisor_client, lead)

    assert response.status_code == 303
    (request,) = twilio.requests
    assert request.method == "POST" and request.url.endswith("/Calls.json")
    assert request.data["To"] == ADVISOR_PHONE and request.data["From"] == HELPLINE
    bridge_url = request.data["Url"]
    assert bridge_url.startswith(f"{PUBLIC_BASE_URL}/twilio/outbound/bridge/")
    assert LEAD_PHONE not in bridge_url and LEAD_PHONE[2:] not in bridge_url, (
        "the lead's number stays server-side"
    )

    # The advisor answers: Twilio fetches the bridge TwiML, signed.
    leg = {"CallSid": "CA" + "c" * 32, "From": HELPLINE, "To": ADVISOR_PHONE, "CallStatus": "in-progress"}
    bridge = post_signed(app.test_client(), bridge_url, leg)
    assert bridge.status_code == 200
    dial = parse(bridge.get_data(as_text=True)).find("Dial")
    assert dial.find("Number").text == LEAD_PHONE and dial.get("callerId") == HELPLINE
    assert len(twilio.requests) == 1, "the bridge itself sends nothing"


def test_an_opt_out_between_the_click_and_the_answer_stops_the_bridge(
    app, advisor_client, advisor_user, session, twilio
):
    lead = own_lead(advisor_user)
    assert click_to_call(advisor_client, lead).status_code == 303
    bridge_url = twilio.requests[0].data["Url"]
    sms = {"MessageSid": "SM" + "d" * 32, "From": LEAD_PHONE, "To": HELPLINE, "Body": "STOP"}
    post_signed(app.test_client(), f"{PUBLIC_BASE_URL}/twilio/sms", sms)

    leg = {"CallSid": "CA" + "e" * 32, "From": HELPLINE, "To": ADVISOR_PHONE}
    root = parse(post_signed(app.test_client(), bridge_url, leg).get_data(as_text=True))
    assert root.find("Dial") is None and "can no longer be called" in said(root)


def test_a_forged_bridge_token_dials_nobody(app, session):
    leg = {"CallSid": "CA" + "f" * 32, "From": HELPLINE, "To": ADVISOR_PHONE}
    response = post_signed(app.test_client(), f"{PUBLIC_BASE_URL}/twilio/outbound/bridge/forged.token", leg)
    assert response.status_code == 404


# --- quiet hours across daylight saving time (America/New_York, 2026) ---------------------------


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "allowed", "local"),
    [
        # Spring forward, Sunday 8 March 2026: EST (UTC-5) becomes EDT (UTC-4) at 02:00.
        ("2026-03-08 07:30", False, "02:30 EST does not exist; it is 03:30 EDT"),
        ("2026-03-08 11:59", False, "07:59 EDT"),
        ("2026-03-08 12:00", True, "08:00 EDT (an hour earlier in UTC than the day before)"),
        ("2026-03-07 12:30", False, "07:30 EST, the day before: same UTC time, still too early"),
        ("2026-03-09 00:59", True, "20:59 EDT"),
        ("2026-03-09 01:00", False, "21:00 EDT"),
        # Fall back, Sunday 1 November 2026: EDT (UTC-4) becomes EST (UTC-5) at 02:00.
        ("2026-11-01 05:30", False, "01:30 EDT, the first of two 01:30s"),
        ("2026-11-01 06:30", False, "01:30 EST, the second"),
        ("2026-11-01 12:59", False, "07:59 EST (08:59 the day before at this UTC time)"),
        ("2026-10-31 12:59", True, "08:59 EDT, the day before"),
        ("2026-11-01 13:00", True, "08:00 EST"),
        ("2026-11-02 01:59", True, "20:59 EST"),
        ("2026-11-02 02:00", False, "21:00 EST"),
    ],
)
def test_the_contact_window_follows_the_leads_clock_across_dst(session, moment, allowed, local):
    lead = make_lead(phone=LEAD_PHONE, state="NY")
    lead.timezone = "America/New_York"
    refusal = outbound_refusal(lead, "call", utc(moment))
    assert (refusal is None) is allowed, local
    if not allowed:
        assert refusal.code == "quiet_hours"


@pytest.mark.parametrize("moment", ["2026-03-08 07:30", "2026-11-01 06:30", "2026-11-02 07:00"])
def test_a_critical_lead_is_allowed_at_night_on_dst_days_too(session, moment):
    lead = make_lead(phone=LEAD_PHONE, state="NY", message="my daughter overdosed")
    lead.timezone = "America/New_York"
    assert lead.urgency == "critical"
    assert outbound_refusal(lead, "call", utc(moment)) is None


# --- a critical caller never waits on the broker ------------------------------------------------------


def test_a_critical_caller_reaches_an_advisor_with_the_broker_unreachable(make_app_with_dead_broker, session):
    app = make_app_with_dead_broker
    make_advisor(regions=["TX"], phone="+15122060322")
    client = app.test_client()
    with app.app_context():
        call = SimulatedCall(client, "+15125550190", FromState="TX")
        guidance = call.press(call.start(), None, SpeechResult="my son overdosed and is not breathing")
        assert "911" in said(guidance)
        dial = call.press(guidance, None)
        assert dial.find("Dial/Number").text == "+15122060322"
        assert call.lead.urgency == "critical"


@pytest.fixture
def make_app_with_dead_broker(make_app):
    return make_app(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
