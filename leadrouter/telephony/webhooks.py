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
from collections.abc import Callable

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from leadrouter.database import rollback_quietly
from leadrouter.extensions import csrf, db, limiter
from leadrouter.intake import calls, texts
from leadrouter.intake.contact_time import contact_timing, describe_local_time
from leadrouter.models import utcnow
from leadrouter.routing.vocabulary import DEFAULT_TIMEZONE
from leadrouter.telephony import twiml
from leadrouter.telephony.responses import call_back_later_response, twiml_response
from leadrouter.telephony.signature import verify_twilio_request
from leadrouter.urls import public_url

log = logging.getLogger(__name__)

# An emergency rings several advisors this long, then the on-call line (ON_CALL_NUMBER) as long.
EMERGENCY_RING_SECONDS = 30

bp = Blueprint("twilio", __name__, url_prefix="/twilio")
bp.before_request(verify_twilio_request)
csrf.exempt(bp)
limiter.exempt(bp)


# --- voice -------------------------------------------------------------------------------


@bp.post("/voice")
def voice():
    """An incoming call: disclosure, emergency notice and the who-is-it-for menu."""
    return _answer(lambda: calls.answer_call(_caller()))


@bp.post("/voice/menu")
def voice_menu():
    """The caller pressed 1, 2 or 0 (or said so)."""
    form = request.form
    choice = twiml.interpret_menu_choice(form.get("Digits"), form.get("SpeechResult"))
    return _answer(lambda: calls.choose_from_menu(_caller(), choice, form.get("SpeechResult")))


@bp.post("/voice/emergency")
def voice_emergency():
    """After the emergency guidance: 9 for the 988 Lifeline, otherwise an advisor."""
    return _answer(lambda: calls.after_emergency(_caller(), request.form.get("Digits")))


@bp.post("/voice/hold")
def voice_hold():
    """One turn on hold (the Gather's key, or its Redirect): 1 for a call back, 9 for none if the
    call drops (still holding), else look for an advisor."""
    return _answer(lambda: calls.hold_turn(_caller(), request.form.get("Digits")))


@bp.post("/voice/whisper")
def voice_whisper():
    """Played to the advisor before the bridge (region, urgency, who for); they press a key to take it."""
    parent_sid = request.args.get("call")
    facts = calls.whisper_for(parent_sid)
    accept_action = _url(".voice_whisper_accept", call=parent_sid, offer=request.args.get("offer"))
    if facts is None:
        return twiml_response(twiml.whisper(None, "normal", "unknown", accept_action=accept_action))
    return twiml_response(
        twiml.whisper(
            facts.region,
            facts.urgency,
            facts.for_whom,
            caller_language=facts.caller_language,
            accept_action=accept_action,
        )
    )


@bp.post("/voice/whisper/accept")
def voice_whisper_accept():
    """The advisor took the call: an empty response bridges the two legs."""
    calls.advisor_accepted(request.args.get("call"), request.args.get("offer"))
    db.session.commit()
    return twiml_response(twiml.empty_response())


@bp.post("/voice/dial-result")
def voice_dial_result():
    """<Dial> ended: done if the advisor took the call, else the next advisor, hold or voicemail."""
    form = request.form
    return _answer(
        lambda: calls.finish_dial(
            _caller(),
            form.get("DialCallStatus"),
            request.args.get("offer"),
            form.get("DialCallSid"),
            on_call=request.args.get("on_call") == "1",
            dial_seconds=form.get("DialCallDuration"),
        )
    )


@bp.post("/voice/voicemail")
def voice_voicemail():
    """The <Record> action: keep the message and thank the caller."""
    form = request.form
    step = calls.take_voicemail(
        form.get("CallSid"), form.get("RecordingSid"), form.get("RecordingUrl"), form.get("RecordingDuration")
    )
    db.session.commit()
    # The same promise the caller heard before the tone.
    promise = _promise(step) if step.lead is not None else None
    return twiml_response(twiml.after_voicemail(_helpline(), promise))


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


def _answer(operation: Callable[[], calls.CallStep]) -> Response:
    """Run one call step, commit, and speak it; with the database down, still help the caller.

    The outage answer is the emergency notice and ON_CALL_NUMBER (or a call-back message):
    it needs nothing but configuration.
    """
    try:
        step = operation()
        db.session.commit()
    except (OperationalError, DBAPIError, PoolTimeoutError) as error:
        rollback_quietly()
        log.error(
            "database unavailable during a call (%s); answered with call-back TwiML", type(error).__name__
        )
        return call_back_later_response(_language())
    return _speak(step)


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
    config = current_app.config
    if step.kind == "dial":
        whispers = [
            (advisor.phone, _url(".voice_whisper", call=step.call.call_sid, offer=offer.id))
            for advisor, offer in step.rung
        ]
        several = len(whispers) > 1
        return twiml_response(
            twiml.dial_advisor(
                helpline,
                advisor_number=whispers[0][0],
                caller_id=config["HELPLINE_NUMBER"],
                dial_action=_url(".voice_dial_result", offer=step.offer.id),
                whisper_url=whispers[0][1],
                status_callback=_url(".voice_status"),
                # Several advisors ring for an emergency; the on-call line comes after this long.
                timeout=EMERGENCY_RING_SECONDS if several else config["DIAL_TIMEOUT_SECONDS"],
                also_ring=whispers[1:],
            )
        )
    if step.kind == "hold":
        return twiml_response(
            twiml.hold(
                helpline,
                _url(".voice_hold"),
                turn_seconds=config["HOLD_ANNOUNCE_SECONDS"],
                say_notice=step.say_notice,
                place=step.place_in_line,
                wait_seconds=step.expected_wait_seconds,
                wait_long=step.wait_long,
                advisors_on_calls=step.advisors_on_calls,
                first_turn=step.first_hold_turn,
            )
        )
    if step.kind in ("callback", "closed"):
        return twiml_response(
            twiml.call_back(
                helpline,
                _promise(step),
                _url(".voice_voicemail"),
                _url(".voice_recording"),
                closed=step.kind == "closed",
                staffed_at=_staffed_at(step),
                nobody_answered=step.nobody_answered,
                permission=step.may_call_back,
                held=step.call is not None and step.call.hold_started_at is not None,
            )
        )
    if step.kind == "on_call":
        return twiml_response(
            twiml.dial_on_call(
                helpline,
                config["ON_CALL_NUMBER"],
                config["HELPLINE_NUMBER"],
                _url(".voice_dial_result", on_call=1),
                timeout=EMERGENCY_RING_SECONDS,
            )
        )
    if step.kind == "voicemail":
        return twiml_response(twiml.voicemail(helpline, _url(".voice_voicemail"), _url(".voice_recording")))
    return twiml_response(twiml.empty_response())


def _promise(step: calls.CallStep) -> twiml.CallBackPromise:
    """When the call back comes, worded as the thanks page words it, in the call's language."""
    if step.lead is None:
        return twiml.CallBackPromise()
    timing = contact_timing(step.lead, utcnow(), _language())
    return twiml.CallBackPromise(
        minutes=timing["minutes"],
        clock=timing["clock"],
        quiet_now=timing["quiet_now"],
        quiet_early=timing["quiet_early"],
    )


def _staffed_at(step: calls.CallStep) -> str | None:
    if step.staffed_at is None or step.lead is None:
        return None
    tz_name = step.lead.timezone or DEFAULT_TIMEZONE
    return describe_local_time(step.staffed_at, utcnow(), tz_name, _language())


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
