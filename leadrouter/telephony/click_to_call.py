"""Click-to-call: Twilio rings the advisor's phone first, then bridges the lead.

The lead's number never leaves the server in a URL: Twilio fetches the bridge TwiML with a
short-lived signed token that names the lead, and the number is looked up then.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from twilio.twiml.voice_response import VoiceResponse

from leadrouter.extensions import csrf, db, limiter
from leadrouter.leads.timeline import add_event
from leadrouter.models import Advisor, Call, Lead
from leadrouter.pipeline.compliance import outbound_refusal
from leadrouter.telephony.client import twilio_client
from leadrouter.telephony.responses import twiml_response
from leadrouter.telephony.signature import verify_twilio_request
from leadrouter.urls import public_url

bp = Blueprint("outbound", __name__, url_prefix="/twilio/outbound")
bp.before_request(verify_twilio_request)
csrf.exempt(bp)
limiter.exempt(bp)
TOKEN_MAX_AGE_SECONDS = 300


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="click-to-call")


def place_click_to_call(lead: Lead, advisor: Advisor, actor: str) -> Call:
    """Ask Twilio to ring the advisor; the bridge TwiML connects the lead once they answer."""
    token = _serializer().dumps({"lead": lead.id, "advisor": advisor.id})
    call = twilio_client().calls.create(
        to=advisor.phone,
        from_=current_app.config["HELPLINE_NUMBER"],
        url=public_url("outbound.bridge", token=token),
        status_callback=public_url("twilio.voice_status"),
    )
    row = Call(
        call_sid=call.sid,
        lead_id=lead.id,
        direction="outbound",
        advisor_id=advisor.id,
        to_number=advisor.phone,
        status="queued",
    )
    db.session.add(row)
    add_event(lead, "call", actor, {"direction": "outbound", "call_sid": call.sid, "advisor_id": advisor.id})
    return row


@bp.post("/bridge/<token>")
def bridge(token: str):
    """TwiML for the advisor's answered leg: dial the lead with the helpline as caller ID."""
    try:
        claims = _serializer().loads(token, max_age=TOKEN_MAX_AGE_SECONDS)
    except BadSignature:
        abort(404)
    lead = db.session.get(Lead, claims["lead"])
    response = VoiceResponse()
    # Consent can be withdrawn between the click and the answer: check again.
    if lead is None or outbound_refusal(lead, "call") is not None:
        response.say("This lead can no longer be called. Goodbye.")
        response.hangup()
        return twiml_response(str(response))
    response.say("Connecting you to the lead now.")
    dial = response.dial(caller_id=current_app.config["HELPLINE_NUMBER"], timeout=30, answer_on_bridge=True)
    dial.number(lead.phone)
    add_event(
        lead,
        "call",
        "twilio",
        {"direction": "outbound", "bridged": True, "call_sid": request.form.get("CallSid")},
        dedupe_key=f"bridge:{request.form.get('CallSid')}" if request.form.get("CallSid") else None,
    )
    db.session.commit()
    return twiml_response(str(response))
