"""Twilio webhooks: check the signature, run one operation, commit, answer with TwiML.

Every URL a TwiML document names is absolute and built from PUBLIC_BASE_URL when it is
set, so the signature Twilio puts on the next request matches what we validate. The
``lang`` query parameter (e.g. a Spanish line configured as ``/twilio/voice?lang=es``)
is carried along every URL of the call.

This blueprint is the only one exempt from CSRF (Twilio cannot hold a token; the
signature is its proof) and it is never rate limited: Twilio does not retry a 429, so a
limit here would drop a caller.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from leadrouter.database import rollback_quietly
from leadrouter.extensions import csrf, db, limiter
from leadrouter.intake import calls, texts
from leadrouter.telephony import twiml
from leadrouter.telephony.responses import call_back_later_response, twiml_response
from leadrouter.telephony.signature import verify_twilio_request
from leadrouter.urls import public_url

log = logging.getLogger(__name__)

bp = Blueprint("twilio", __name__, url_prefix="/twilio")
bp.before_request(verify_twilio_request)
csrf.exempt(bp)
limiter.exempt(bp)


# --- voice -------------------------------------------------------------------------------


@bp.post("/voice")
def voice():
    """An incoming call: disclosure, emergency notice and the who-is-it-for menu."""
    try:
        step = calls.answer_call(_caller())
        db.session.commit()
    except (OperationalError, DBAPIError, PoolTimeoutError) as error:
        # The caller must still hear the emergency notice and reach a person if possible.
        rollback_quietly()
        log.error(
            "database unavailable during an incoming call (%s); answered with call-back TwiML",
            type(error).__name__,
        )
        return call_back_later_response(_language())
    return _speak(step)


@bp.post("/voice/menu")
def voice_menu():
    """The caller pressed 1, 2 or 0 (or said so)."""
    form = request.form
    choice = twiml.interpret_menu_choice(form.get("Digits"), form.get("SpeechResult"))
    step = calls.choose_from_menu(_caller(), choice, form.get("SpeechResult"))
    db.session.commit()
    return _speak(step)


@bp.post("/voice/emergency")
def voice_emergency():
    """After the emergency guidance: 9 for the 988 Lifeline, otherwise an advisor."""
    step = calls.after_emergency(_caller(), request.form.get("Digits"))
    db.session.commit()
    return _speak(step)


@bp.post("/voice/whisper")
def voice_whisper():
    """Played to the advisor before the bridge (region, urgency, who for); they press a key to take it."""
    parent_sid = request.args.get("call")
    facts = calls.whisper_for(parent_sid)
    if facts is None:
        return twiml_response(
            twiml.whisper(
                None, "normal", "unknown", accept_action=_url(".voice_whisper_accept", call=parent_sid)
            )
        )
    return twiml_response(
        twiml.whisper(
            facts.region,
            facts.urgency,
            facts.for_whom,
            caller_language=facts.caller_language,
            accept_action=_url(".voice_whisper_accept", call=parent_sid),
        )
    )


@bp.post("/voice/whisper/accept")
def voice_whisper_accept():
    """The advisor took the call: an empty response bridges the two legs."""
    calls.advisor_accepted(request.args.get("call"))
    db.session.commit()
    return twiml_response(twiml.empty_response())


@bp.post("/voice/dial-result")
def voice_dial_result():
    """<Dial> ended: done if the advisor took the call, else the next advisor or voicemail."""
    form = request.form
    step = calls.finish_dial(
        _caller(), form.get("DialCallStatus"), request.args.get("offer"), form.get("DialCallSid")
    )
    db.session.commit()
    return _speak(step)


@bp.post("/voice/voicemail")
def voice_voicemail():
    """The <Record> action: keep the message and thank the caller."""
    form = request.form
    calls.take_voicemail(
        form.get("CallSid"), form.get("RecordingSid"), form.get("RecordingUrl"), form.get("RecordingDuration")
    )
    db.session.commit()
    return twiml_response(twiml.after_voicemail(_helpline()))


@bp.post("/voice/recording")
def voice_recording():
    """The recording status callback: the same voicemail, stored once."""
    form = request.form
    if form.get("RecordingStatus", "completed") == "completed":
        calls.take_voicemail(
            form.get("CallSid"),
            form.get("RecordingSid"),
            form.get("RecordingUrl"),
            form.get("RecordingDuration"),
        )
        db.session.commit()
    return twiml_response(twiml.empty_response())


@bp.post("/voice/status")
def voice_status():
    """Call status callback; out-of-order and repeated deliveries never move a call backwards."""
    form = request.form
    calls.update_call_status(
        form.get("CallSid"), form.get("CallStatus"), form.get("CallDuration"), form.get("ParentCallSid")
    )
    db.session.commit()
    return twiml_response(twiml.empty_response())


# --- messaging ---------------------------------------------------------------------------


@bp.post("/sms")
def sms():
    """An inbound text: STOP / START / HELP, or a new touch on the sender's lead."""
    form = request.form
    outcome = texts.receive_text(
        texts.InboundText(
            message_sid=form.get("MessageSid") or form.get("SmsSid") or "",
            from_number=form.get("From"),
            to_number=form.get("To"),
            body=form.get("Body") or "",
            from_state=form.get("FromState"),
        )
    )
    db.session.commit()
    helpline = _helpline()
    if outcome.kind == "opted_out":
        return twiml_response(twiml.sms_opted_out(helpline))
    if outcome.kind == "opted_in":
        return twiml_response(twiml.sms_opted_in(helpline))
    wants_help = outcome.kind == "help" or (
        outcome.kind == "lead" and (outcome.created or outcome.urgent) and not outcome.lead.do_not_contact
    )
    if wants_help:
        return twiml_response(twiml.sms_help(helpline, current_app.config["HELPLINE_NUMBER"]))
    return twiml_response(twiml.empty_response())


# --- helpers -----------------------------------------------------------------------------


def _speak(step: calls.CallStep) -> Response:
    """Turn what the operation decided into the TwiML the caller hears next."""
    helpline = _helpline()
    if step.kind == "blocked":
        return twiml_response(twiml.blocked_caller(helpline))
    if step.kind == "menu":
        return twiml_response(twiml.welcome_menu(helpline, _url(".voice_menu")))
    if step.kind == "emergency":
        return twiml_response(twiml.emergency_guidance(helpline, _url(".voice_emergency")))
    if step.kind == "crisis_line":
        return twiml_response(twiml.connect_988(helpline))
    if step.kind == "dial":
        config = current_app.config
        return twiml_response(
            twiml.dial_advisor(
                helpline,
                advisor_number=step.advisor.phone,
                caller_id=config["HELPLINE_NUMBER"],
                dial_action=_url(".voice_dial_result", offer=step.offer.id),
                whisper_url=_url(".voice_whisper", call=step.call.call_sid),
                status_callback=_url(".voice_status"),
                timeout=config["DIAL_TIMEOUT_SECONDS"],
            )
        )
    if step.kind == "voicemail":
        return twiml_response(twiml.voicemail(helpline, _url(".voice_voicemail"), _url(".voice_recording")))
    return twiml_response(twiml.empty_response())


def _caller() -> calls.CallerInfo:
    form = request.form
    return calls.CallerInfo(
        call_sid=form.get("CallSid") or "",
        from_number=form.get("From") or form.get("Caller"),
        to_number=form.get("To") or form.get("Called"),
        from_state=form.get("FromState") or form.get("CallerState"),
        caller_name=form.get("CallerName"),
        status=form.get("CallStatus"),
        language=_language(),
    )


def _language() -> str:
    lang = request.args.get("lang", "en")
    return lang if lang in twiml.LANGUAGES else "en"


def _helpline() -> twiml.Helpline:
    return twiml.Helpline(operator_name=current_app.config["HELPLINE_OPERATOR"], language=_language())


def _url(endpoint: str, **params) -> str:
    """An absolute URL for TwiML in the caller's language (what Twilio will request and sign)."""
    if _language() != "en":
        params["lang"] = _language()
    return public_url(endpoint, **params)
