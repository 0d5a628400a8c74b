"""TwiML documents for the helpline's calls and texts, built as pure functions.

Every function returns the XML string for one Twilio webhook response. Nothing
here touches the database or the network: callers pass in URLs and the few facts
a response needs (the language among them), and tests parse the XML. Words come
from the compiled gettext catalogs, in the language given, never the request's.

Decisions worth knowing (the module's contract, not accidents):

- Text is never concatenated into XML by hand. The twilio builders escape
  everything, so a caller-supplied city or an operator name is always spoken as
  text and can never become a verb.
- Every spoken sentence is a gettext message (``PROMPTS``), spoken in the
  caller's language from the compiled catalogs (``leadrouter.i18n``). English is
  said by ``Polly.Joanna`` (en-US) and Spanish by ``Polly.Mia`` (es-MX): two
  standard Polly voices that read SSML, so 911 and 988 are wrapped in
  ``<say-as interpret-as="digits">`` and heard as "nine one one", never as
  "nine hundred eleven".
- A caller is never left in silence: each menu ends with a ``<Redirect>`` to the
  same action URL (the handler treats missing input as the default choice), and
  every other flow ends with ``<Hangup>`` or a ``<Dial>`` that has an action.
- Live calls are not recorded by default. ``dial_advisor(record=True)`` must be
  paired with ``welcome_menu(announce_recording=True)``, which tells the caller
  first (several US states require every party's consent).
- Voicemail is recorded but not transcribed: Twilio's ``<Record transcribe>``
  only handles English and short messages, and a voicemail on an addiction
  helpline is health information that should stay in one place (the audio,
  behind the dashboard's access log) rather than be copied into a third system.
- The whisper tells the advisor the region, urgency and who the call is for,
  never a name or a number; it takes no argument that could carry either.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from babel import Locale
from babel.core import get_global
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, Say, VoiceResponse

from leadrouter.i18n import N_, TranslatedText, supported_languages
from leadrouter.intake.consent import (
    PHONE_CALLBACK_VERSION,
    PHONE_CONSENT_TEXTS,
    PHONE_HOLD_CALLBACK_VERSION,
    PHONE_VOICEMAIL_VERSION,
)

# The languages the catalogs provide (leadrouter.i18n): a new catalog is a new language.
LANGUAGES = supported_languages()

# Voice and locale per language; Gather's speech recognition uses the same locale. A
# language without an entry is spoken by Twilio's default voice for its likely locale.
VOICES = {"en": ("Polly.Joanna", "en-US"), "es": ("Polly.Mia", "es-MX")}

# Digits for the welcome menu (SPEC §2b Calls) and the emergency branch.
DIGIT_SELF = "1"
DIGIT_LOVED_ONE = "2"
DIGIT_EMERGENCY = "0"
DIGIT_CONNECT_988 = "9"
# On hold: 1 asks for a call back now, 9 says a call back is not safe if the call drops.
DIGIT_CALL_BACK = "1"
DIGIT_NO_CALL_BACK = "9"

# What <Dial> uses for the 988 Lifeline. Twilio blocks N11 service codes and a
# three-digit code is not something to rely on it dialing, so the Lifeline's
# ten-digit number (which still routes to 988) is dialed; callers are always told
# to call or text 988 themselves too.
LIFELINE_DIAL_NUMBER = "+18002738255"

MENU_TIMEOUT_SECONDS = 6
EMERGENCY_MENU_TIMEOUT_SECONDS = 8
WHISPER_ACCEPT_TIMEOUT_SECONDS = 8
VOICEMAIL_SILENCE_TIMEOUT_SECONDS = 10

DIAL_STATUS_EVENTS = "initiated ringing answered completed"

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# "[911]" in a prompt marks digits to be read one by one.
_DIGIT_MARK = re.compile(r"\[(\d+)\]")

# Every sentence the helpline says or texts, as its English msgid; the translations live
# in the gettext catalogs (leadrouter/translations). Placeholders ({operator}, ...) are
# filled with str.format; "[988]" becomes <say-as digits> (translators keep the marks).
_PROMPT_TEXT: dict[str, str] = {
    "disclosure": N_(
        "Thank you for calling. This call is answered by advisors of {operator}, who can help"
        " you look at treatment options."
    ),
    "recording_notice": N_("Calls may be recorded so that we can follow up with you and improve our help."),
    "emergency_notice": N_(
        "If this is a medical emergency or someone has overdosed, please hang up and dial "
        "[911]. If you are thinking about suicide, you can call or text [988] at any time."
    ),
    "menu": N_(
        "If you are calling for yourself, press 1. If you are calling for a loved one, press "
        "2. If this is an emergency, press 0. You can also just tell us."
    ),
    "emergency_guidance": N_(
        "If someone has overdosed, is not breathing, or will not wake up, please hang up now "
        "and dial [911]. If you have naloxone, also called Narcan, give it now, and stay with"
        " them until help arrives."
    ),
    "offer_988": N_(
        "If you are thinking about suicide or feel you are in crisis, press 9 and we will "
        "connect you to the [988] Suicide and Crisis Lifeline."
    ),
    "offer_advisor": N_("Or stay on the line, and we will connect you with an advisor."),
    "connecting_988": N_("Connecting you to the [988] Suicide and Crisis Lifeline. Please stay on the line."),
    "988_fallback": N_(
        "If the call did not go through, please hang up and call or text [988] from your phone."
    ),
    "connecting_advisor": N_("Thank you. Connecting you with an advisor now. Please stay on the line."),
    "voicemail_prompt": N_(
        "We're sorry, all of our advisors are helping other callers right now. After the "
        "tone, please leave your first name, a number where it is safe to call you back, and "
        "a good time to reach you. Press the pound key when you are done."
    ),
    "voicemail_fallthrough": N_(
        "Thank you for calling. If you left a message, an advisor will call you back as soon as possible."
    ),
    "voicemail_thanks": N_(
        "Thank you. We have your message, and an advisor will call you back as soon as possible."
    ),
    "goodbye": N_("Take care. Goodbye."),
    "hold_message": N_(
        "All of our advisors are helping other callers right now. Please stay on the line, and "
        "we will connect you with the next advisor who is free."
    ),
    "hold_message_busy": N_(
        "All of our advisors are busy right now. Please stay on the line, and we will connect "
        "you with the next advisor who is free."
    ),
    "hold_place": N_("You are number {place} in line."),
    "hold_wait_minutes": N_("The expected wait is about {minutes} minutes."),
    "hold_wait_minute": N_("The expected wait is about one minute."),
    "hold_wait_long": N_("We cannot say how long the wait will be right now."),
    # Answering either of these is the caller's consent to be called back (intake.consent).
    "hold_options": PHONE_CONSENT_TEXTS[PHONE_CALLBACK_VERSION],
    # Said on the first hold turn only: leaving the line without pressing 9 is consent (intake.consent).
    "hold_call_back_if_cut_off": PHONE_CONSENT_TEXTS[PHONE_HOLD_CALLBACK_VERSION],
    # "Thank you for waiting" only to a caller who held (call.hold_started_at).
    "callback_intro": N_("Thank you for waiting. We will call you back."),
    "callback_intro_not_held": N_("We will call you back."),
    # For a caller who has not given permission to be called back (never held, or pressed 9):
    # no promise of a call unless they leave a message (intake.calls, schedule_call_back).
    "callback_intro_no_permission": N_("Thank you for waiting."),
    "call_back_only_with_message": N_("We will call you back only if you leave a message."),
    "promise_minutes": N_("An advisor will try to call you within {minutes} minutes."),
    "promise_clock": N_("An advisor will call you by {clock}."),
    "promise_soon": N_("An advisor will call you as soon as possible."),
    # The same promises, for a caller without permission: they hold only once a message is left.
    "promise_minutes_if_message": N_("If you do, an advisor will try to call you within {minutes} minutes."),
    "promise_clock_if_message": N_("If you do, an advisor will call you by {clock}."),
    "promise_soon_if_message": N_("If you do, an advisor will call you as soon as possible."),
    "promise_quiet": N_("We only call between 8 AM and 9 PM your time, so we will not call you tonight."),
    "promise_quiet_early": N_(
        "We only call between 8 AM and 9 PM your time, so we will not call you before 8 AM."
    ),
    "callback_message": PHONE_CONSENT_TEXTS[PHONE_VOICEMAIL_VERSION],
    "nobody_answered_intro": N_(
        "We're sorry, none of the advisors we rang could answer just now. We will call you back."
    ),
    "nobody_answered_intro_no_permission": N_(
        "We're sorry, none of the advisors we rang could answer just now."
    ),
    "voicemail_fallthrough_short": N_("Thank you for calling."),
    "voicemail_thanks_short": N_("Thank you. We have your message."),
    "closed_intro": N_("We're sorry, none of our advisors is on duty right now."),
    "closed_staffed": N_("Advisors are back on the line at {clock}."),
    "connecting_on_call": N_("Connecting you with someone from our team now. Please stay on the line."),
    "degraded_intro": N_("We're sorry, we are having trouble with our phone system right now."),
    "degraded_hold": N_("Please hold while we connect you with someone from our team."),
    "degraded_call_back": N_("Please call us back in a few minutes. We want to help."),
    "degraded_no_answer": N_(
        "We're sorry, no one could take your call. Please call us back in a few minutes."
    ),
    "blocked": N_("We're sorry, we are not able to take your call on this line."),
    # Played to the advisor, never to the caller.
    "whisper_intro": N_("Helpline call."),
    "whisper_region": N_("Caller in {region}."),
    "whisper_region_unknown": N_("Caller location unknown."),
    "whisper_urgency": N_("Urgency: {urgency}."),
    "whisper_self": N_("Calling for themselves."),
    "whisper_loved_one": N_("Calling for a loved one."),
    "whisper_not_asked": N_("Emergency option: not asked who the call is for."),
    "whisper_caller_es": N_("Caller chose Spanish."),
    "whisper_caller_en": N_("Caller chose English."),
    "whisper_accept": N_("Press any key to take this call."),
    "whisper_not_accepted": N_("The call was not accepted. Goodbye."),
    "urgency_critical": N_("critical"),
    "urgency_high": N_("high"),
    "urgency_normal": N_("normal"),
    "urgency_low": N_("low"),
    # Texts (not spoken): [digits] marks are removed, the digits stay.
    "sms_help": N_(
        "{operator}: free help finding addiction treatment. Call {number} to talk with an "
        "advisor. Emergency: call 911. In crisis: call or text 988. Msg & data rates may "
        "apply. Reply STOP to opt out."
    ),
    "sms_opted_out": N_(
        "{operator}: you are unsubscribed and will no longer receive messages from us. Reply "
        "START to resubscribe. Emergency: call 911."
    ),
    "sms_opted_in": N_(
        "{operator}: you are subscribed again and may receive messages from us. Msg & data "
        "rates may apply. Reply HELP for help, STOP to opt out."
    ),
}
# Each prompt in every language the catalogs provide: PROMPTS["menu"]["es"].
PROMPTS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {key: TranslatedText(message) for key, message in _PROMPT_TEXT.items()}
)

# Speech hints for the welcome menu's <Gather input="dtmf speech">, per language.
MENU_HINTS: Mapping[str, str] = TranslatedText(
    # Translators: words a caller may say at the welcome menu, comma-separated, no spaces after commas.
    N_(
        "emergency,overdose,not breathing,suicide,myself,me,loved one,family,"
        "son,daughter,husband,wife,friend,one,two,zero"
    )
)

# Spoken answers to the welcome menu, matched on whole words in lower case.
_EMERGENCY_WORDS = re.compile(
    r"\b(emergency|overdos\w*|not breathing|unresponsive|suicid\w*|kill myself|911|"
    r"zero|emergencia|sobredosis|no respira|cero)\b"
)
_LOVED_ONE_WORDS = re.compile(
    r"\b(loved one|family|son|daughter|husband|wife|partner|boyfriend|girlfriend|brother|"
    r"sister|mother|mom|father|dad|friend|child|two|ser querido|familiar|hij[oa]|"
    r"espos[oa]|herman[oa]|madre|mamá|padre|papá|amig[oa]|pareja|dos)\b"
)


@dataclass(frozen=True)
class CallBackPromise:
    """When an advisor will call back, as the thanks page says it (contact_timing)."""

    minutes: int | None = None  # "within N minutes" (critical)
    clock: str | None = None  # "by 9:15 AM Central time today", already in the caller's language
    quiet_now: bool = False  # outside the hours we call at
    quiet_early: bool = False  # ... because it is early morning (not "tonight")


MENU_SELF = "self"
MENU_LOVED_ONE = "loved_one"
MENU_EMERGENCY = "emergency"


@dataclass(frozen=True)
class Helpline:
    """Who runs the line and which language it speaks."""

    operator_name: str = "Leadrouter Helpline"
    language: str = "en"

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, not {self.language!r}")


def voice_for(lang: str) -> tuple[str | None, str]:
    """The Polly voice and locale for ``lang``; Twilio's default voice in its likely locale otherwise."""
    if lang in VOICES:
        return VOICES[lang]
    likely = Locale.parse(get_global("likely_subtags").get(lang, lang))
    return None, f"{lang}-{likely.territory}" if likely.territory else lang


# --- voice -------------------------------------------------------------------------------


def welcome_menu(helpline: Helpline, gather_action: str, *, announce_recording: bool = False) -> str:
    """Disclose who answers, give the emergency notice and ask who the call is for.

    No input is not a reason to hang up: the trailing <Redirect> posts to
    ``gather_action`` without ``Digits``, which the handler treats as "self".
    """
    _require("gather_action", gather_action)
    lang = helpline.language
    response = VoiceResponse()
    _speak(response, lang, "disclosure", operator=helpline.operator_name)
    if announce_recording:
        _speak(response, lang, "recording_notice")
    _speak(response, lang, "emergency_notice")
    gather = response.nest(
        Gather(
            input="dtmf speech",
            num_digits=1,
            action=gather_action,
            method="POST",
            timeout=MENU_TIMEOUT_SECONDS,
            speech_timeout="auto",
            hints=MENU_HINTS[lang],
            language=voice_for(lang)[1],
        )
    )
    _speak(gather, lang, "menu")
    response.redirect(gather_action, method="POST")
    return str(response)


def interpret_menu_choice(digits: str | None, speech: str | None = None) -> str:
    """Map the welcome menu's ``Digits``/``SpeechResult`` to self, loved_one or emergency."""
    digits = (digits or "").strip()
    if digits == DIGIT_EMERGENCY:
        return MENU_EMERGENCY
    if digits == DIGIT_LOVED_ONE:
        return MENU_LOVED_ONE
    if digits:
        return MENU_SELF
    said = (speech or "").strip().lower()
    if _EMERGENCY_WORDS.search(said):
        return MENU_EMERGENCY
    if _LOVED_ONE_WORDS.search(said):
        return MENU_LOVED_ONE
    return MENU_SELF


def emergency_guidance(
    helpline: Helpline,
    connect_988_action: str | None,
    *,
    continue_action: str | None = None,
) -> str:
    """Tell the caller to dial 911 now, offer 988 (press 9), then go on to an advisor.

    The trailing <Redirect> goes to ``continue_action`` if given, otherwise to
    ``connect_988_action`` without ``Digits`` (whose handler then dials an advisor).
    Without either URL the caller would be cut off, so that is refused.
    """
    redirect_to = continue_action or connect_988_action
    if not redirect_to:
        raise ValueError("emergency_guidance needs connect_988_action or continue_action")
    lang = helpline.language
    response = VoiceResponse()
    _speak(response, lang, "emergency_guidance")
    if connect_988_action:
        gather = response.nest(
            Gather(
                input="dtmf",
                num_digits=1,
                action=connect_988_action,
                method="POST",
                timeout=EMERGENCY_MENU_TIMEOUT_SECONDS,
            )
        )
        _speak(gather, lang, "offer_988")
        _speak(gather, lang, "offer_advisor")
    else:
        _speak(response, lang, "emergency_notice")
        _speak(response, lang, "offer_advisor")
    response.redirect(redirect_to, method="POST")
    return str(response)


def connect_988(helpline: Helpline, *, number: str = LIFELINE_DIAL_NUMBER) -> str:
    """Connect the caller to the 988 Suicide and Crisis Lifeline.

    The caller's own number is kept as caller ID (no ``callerId``), so the
    Lifeline can route by area code and call back.
    """
    _require_phone("number", number)
    lang = helpline.language
    response = VoiceResponse()
    _speak(response, lang, "connecting_988")
    response.dial(number)
    _speak(response, lang, "988_fallback")
    response.hangup()
    return str(response)


def dial_advisor(
    helpline: Helpline,
    advisor_number: str,
    caller_id: str,
    dial_action: str,
    whisper_url: str,
    status_callback: str,
    timeout: int = 20,
    connecting_message: bool = True,
    *,
    also_ring: Sequence[tuple[str, str]] = (),
    record: bool = False,
    recording_status_callback: str | None = None,
) -> str:
    """Ring the advisor with the helpline as caller ID; the whisper plays before bridging.

    ``also_ring`` (number, whisper URL) pairs ring at the same time (an emergency): Twilio
    bridges the first advisor to take the call and stops ringing the others.

    The caller hears ringing until the whisper has played and the call is
    bridged. ``dial_action`` receives ``DialCallStatus`` and decides between
    hanging up and voicemail. Recording is off unless asked for,
    and then needs ``recording_status_callback`` (and an announced welcome).
    """
    _require_phone("advisor_number", advisor_number)
    for number, url in also_ring:
        _require_phone("advisor_number", number)
        _require("whisper_url", url)
    _require_phone("caller_id", caller_id)
    _require("dial_action", dial_action)
    _require("whisper_url", whisper_url)
    _require("status_callback", status_callback)
    if not 5 <= timeout <= 600:
        raise ValueError("timeout must be between 5 and 600 seconds")
    recording: dict[str, str] = {}
    if record:
        _require("recording_status_callback", recording_status_callback)
        recording = {
            "record": "record-from-answer-dual",
            "recording_status_callback": recording_status_callback,
            "recording_status_callback_method": "POST",
            "recording_status_callback_event": "completed",
        }
    response = VoiceResponse()
    if connecting_message:
        _speak(response, helpline.language, "connecting_advisor")
    dial = response.dial(
        caller_id=caller_id,
        timeout=timeout,
        action=dial_action,
        method="POST",
        answer_on_bridge=True,
        **recording,
    )
    for number, url in ((advisor_number, whisper_url), *also_ring):
        dial.number(
            number,
            url=url,
            method="POST",
            status_callback=status_callback,
            status_callback_event=DIAL_STATUS_EVENTS,
            status_callback_method="POST",
        )
    return str(response)


def hold(
    helpline: Helpline,
    hold_action: str,
    *,
    turn_seconds: int,
    say_notice: bool,
    place: int | None = None,
    wait_seconds: int | None = None,
    wait_long: bool = False,
    advisors_on_calls: bool = True,
    first_turn: bool = False,
) -> str:
    """One turn on hold: the notice when due, the place in line and wait when known, 1 for a call back.

    ``first_turn`` adds, right after the hold message, that we call back if the call drops unless
    the caller presses 9 (the words stored as their consent); later turns stay short, but the
    <Gather> takes any key on every turn, so 9 (and 1) work on each of them.

    ``wait_long`` (the estimate is beyond the longest we keep a caller on hold) says no number,
    only that the wait cannot be told, and points at the call back. "Helping other callers" only
    while an advisor is on a live call; otherwise "busy".

    The <Gather> waits ``turn_seconds`` for a key after the message; with no key the
    <Redirect> asks ``hold_action`` again, which looks for a free advisor each turn.
    """
    _require("hold_action", hold_action)
    lang = helpline.language
    response = VoiceResponse()
    gather = response.nest(
        Gather(input="dtmf", num_digits=1, action=hold_action, method="POST", timeout=turn_seconds)
    )
    if say_notice:
        _speak(gather, lang, "emergency_notice")
    _speak(gather, lang, "hold_message" if advisors_on_calls else "hold_message_busy")
    if first_turn:
        _speak(gather, lang, "hold_call_back_if_cut_off")
    if place is not None:
        _speak(gather, lang, "hold_place", place=str(place))
    if wait_long:
        _speak(gather, lang, "hold_wait_long")
    elif wait_seconds is not None:
        minutes = max(1, round(wait_seconds / 60))
        if minutes == 1:
            _speak(gather, lang, "hold_wait_minute")
        else:
            _speak(gather, lang, "hold_wait_minutes", minutes=str(minutes))
    _speak(gather, lang, "hold_options")
    response.redirect(hold_action, method="POST")
    return str(response)


def call_back(
    helpline: Helpline,
    promise: CallBackPromise,
    record_action: str,
    recording_status_callback: str,
    *,
    closed: bool = False,
    staffed_at: str | None = None,
    nobody_answered: bool = False,
    max_length: int = 180,
    permission: bool = True,
    held: bool = True,
) -> str:
    """The caller leaves the line: when to expect the call back, then an optional message.

    ``closed`` (nobody on duty) says so first, with the 911 / 988 notice and, when known,
    ``staffed_at`` (a clock in the caller's language) for when advisors are back; a promise
    in minutes (critical) is kept any hour, so no shift clock is said with it.
    ``nobody_answered`` (advisors were rung for this call) says that instead of "nobody on
    duty". The one promise is said again after the message, never a different one.

    Without ``permission`` (the caller has not agreed to a call back: never held, or pressed 9)
    nothing says we will call back, except if they leave a message; with no message (silence
    after the tone) the promise is not repeated, and before the tone it is said conditionally
    ("If you do, an advisor will call you by ..."). "Thank you for waiting" is said only to a
    caller who ``held``.
    """
    _require("record_action", record_action)
    _require("recording_status_callback", recording_status_callback)
    lang = helpline.language
    response = VoiceResponse()
    if nobody_answered:
        _speak(
            response, lang, "nobody_answered_intro" if permission else "nobody_answered_intro_no_permission"
        )
        _speak(response, lang, "emergency_notice")
    elif closed:
        _speak(response, lang, "closed_intro")
        _speak(response, lang, "emergency_notice")
        if staffed_at and not promise.minutes:
            _speak(response, lang, "closed_staffed", clock=staffed_at)
    elif permission:
        _speak(response, lang, "callback_intro" if held else "callback_intro_not_held")
    elif held:
        _speak(response, lang, "callback_intro_no_permission")
    if not permission:
        _speak(response, lang, "call_back_only_with_message")
    _speak_promise(response, lang, promise, if_message=not permission)
    _speak(response, lang, "callback_message")
    _record_message(response, record_action, recording_status_callback, max_length)
    _speak(response, lang, "voicemail_fallthrough_short")
    if permission:
        _speak_promise(response, lang, promise)
    _speak(response, lang, "emergency_notice")
    response.hangup()
    return str(response)


def _speak_promise(parent, lang: str, promise: CallBackPromise, *, if_message: bool = False) -> None:
    """When the call back comes; the quiet-hours line never goes with a promise in minutes.

    ``if_message``: said right after "only if you leave a message", so conditionally.
    """
    suffix = "_if_message" if if_message else ""
    if promise.minutes:
        _speak(parent, lang, "promise_minutes" + suffix, minutes=str(promise.minutes))
        return
    if promise.clock:
        _speak(parent, lang, "promise_clock" + suffix, clock=promise.clock)
    else:
        _speak(parent, lang, "promise_soon" + suffix)
    if promise.quiet_now:
        _speak(parent, lang, "promise_quiet_early" if promise.quiet_early else "promise_quiet")


def dial_on_call(helpline: Helpline, number: str, caller_id: str, dial_action: str, timeout: int = 30) -> str:
    """Put a caller nobody else can take now (an emergency) through to the on-call line."""
    _require_phone("on_call_number", number)
    _require_phone("caller_id", caller_id)
    _require("dial_action", dial_action)
    response = VoiceResponse()
    _speak(response, helpline.language, "connecting_on_call")
    response.dial(number, caller_id=caller_id, timeout=timeout, action=dial_action, method="POST")
    return str(response)


def whisper(
    region_name: str | None,
    urgency: str,
    for_whom: str,
    *,
    caller_language: str | None = None,
    accept_action: str | None = None,
    language: str = "en",
) -> str:
    """Brief the advisor before bridging: region, urgency, who it is for; never name or number.

    With ``accept_action`` the advisor must press a key to take the call, so a
    personal voicemail that picks up is not bridged to the caller: no key means
    <Hangup> on the advisor's leg and the caller's <Dial> ends unanswered.
    The action's handler returns ``empty_response()`` to bridge.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    prompts: list[tuple[str, dict[str, str]]] = [("whisper_intro", {})]
    if region_name and region_name.strip():
        prompts.append(("whisper_region", {"region": region_name.strip()}))
    else:
        prompts.append(("whisper_region_unknown", {}))
    urgency_key = f"urgency_{urgency}"
    if urgency_key in PROMPTS:
        prompts.append(("whisper_urgency", {"urgency": PROMPTS[urgency_key][language]}))
    if for_whom == "loved_one":
        prompts.append(("whisper_loved_one", {}))
    elif for_whom == "self":
        prompts.append(("whisper_self", {}))
    elif for_whom == "not_asked":
        prompts.append(("whisper_not_asked", {}))
    if caller_language in LANGUAGES:
        prompts.append((f"whisper_caller_{caller_language}", {}))
    response = VoiceResponse()
    _say(response, language, prompts)
    if accept_action:
        gather = response.nest(
            Gather(
                input="dtmf",
                num_digits=1,
                action=accept_action,
                method="POST",
                timeout=WHISPER_ACCEPT_TIMEOUT_SECONDS,
            )
        )
        _speak(gather, language, "whisper_accept")
        _speak(response, language, "whisper_not_accepted")
        response.hangup()
    return str(response)


def voicemail(
    helpline: Helpline,
    record_action: str,
    recording_status_callback: str,
    max_length: int = 180,
) -> str:
    """Apologise, ask for a first name, a safe number and a good time, and record.

    Not transcribed (see the module docstring). The closing words only play if
    Twilio falls through <Record> without calling ``record_action``.
    """
    _require("record_action", record_action)
    _require("recording_status_callback", recording_status_callback)
    if not 1 <= max_length <= 14400:
        raise ValueError("max_length must be between 1 and 14400 seconds")
    lang = helpline.language
    response = VoiceResponse()
    _speak(response, lang, "voicemail_prompt")
    _record_message(response, record_action, recording_status_callback, max_length)
    _speak(response, lang, "voicemail_fallthrough")
    _speak(response, lang, "emergency_notice")
    response.hangup()
    return str(response)


def after_voicemail(helpline: Helpline, promise: CallBackPromise | None = None) -> str:
    """Thank the caller for the message, remind them of 911 / 988 and hang up.

    With ``promise`` (the one said before the tone) it is said again, word for word.
    """
    lang = helpline.language
    response = VoiceResponse()
    if promise is None:
        _speak(response, lang, "voicemail_thanks")
    else:
        _speak(response, lang, "voicemail_thanks_short")
        _speak_promise(response, lang, promise)
    _speak(response, lang, "emergency_notice")
    _speak(response, lang, "goodbye")
    response.hangup()
    return str(response)


def call_back_later(
    helpline: Helpline,
    on_call_number: str | None = None,
    *,
    caller_id: str | None = None,
    timeout: int = 30,
) -> str:
    """Answer when the database is down: emergency notice, then the on-call line or call back.

    Uses nothing but configuration, so it can never leak a caller's data. The
    <Dial> has no action on purpose: the app behind any action URL is what is
    failing, so after the Dial the caller hears the call-back message instead.
    """
    lang = helpline.language
    response = VoiceResponse()
    _speak(response, lang, "degraded_intro")
    _speak(response, lang, "emergency_notice")
    if on_call_number:
        _require_phone("on_call_number", on_call_number)
        if caller_id:
            _require_phone("caller_id", caller_id)
        _speak(response, lang, "degraded_hold")
        response.dial(on_call_number, caller_id=caller_id, timeout=timeout)
        _speak(response, lang, "degraded_no_answer")
    else:
        _speak(response, lang, "degraded_call_back")
    response.hangup()
    return str(response)


def blocked_caller(helpline: Helpline) -> str:
    """Decline politely (with the emergency notice, which everyone hears) and hang up."""
    lang = helpline.language
    response = VoiceResponse()
    _speak(response, lang, "blocked")
    _speak(response, lang, "emergency_notice")
    _speak(response, lang, "goodbye")
    response.hangup()
    return str(response)


def empty_response() -> str:
    """Return an empty <Response/>, for status callbacks and to bridge after a whisper."""
    return str(VoiceResponse())


# --- messaging ---------------------------------------------------------------------------


def sms_reply(text: str) -> str:
    """Reply to an inbound text with one message."""
    if not text or not text.strip():
        raise ValueError("an SMS reply needs a body")
    response = MessagingResponse()
    response.message(text)
    return str(response)


def sms_help(helpline: Helpline, helpline_number: str) -> str:
    """Answer HELP: who we are, how to reach us, 911 / 988, rates and how to opt out."""
    return sms_reply(_sms_text(helpline, "sms_help", number=_readable_us_number(helpline_number)))


def sms_opted_out(helpline: Helpline) -> str:
    """Confirm STOP: no more messages, START to resubscribe."""
    return sms_reply(_sms_text(helpline, "sms_opted_out"))


def sms_opted_in(helpline: Helpline) -> str:
    """Confirm START: subscribed again, HELP and STOP still work."""
    return sms_reply(_sms_text(helpline, "sms_opted_in"))


# --- helpers -----------------------------------------------------------------------------


def _speak(parent, lang: str, key: str, **values: str) -> Say:
    """Append one <Say> holding the prompt ``key`` in ``lang``."""
    return _say(parent, lang, [(key, values)])


def _say(parent, lang: str, prompts: list[tuple[str, dict[str, str]]]) -> Say:
    """Append one <Say> speaking ``prompts`` in order; "[988]" becomes <say-as digits>.

    Values are substituted into the template's text pieces after the digit marks
    are split off, so caller-supplied text is only ever text.
    """
    voice, locale = voice_for(lang)
    say = parent.nest(Say(voice=voice, language=locale))
    text = ""
    for key, values in prompts:
        pieces = _DIGIT_MARK.split(PROMPTS[key][lang])
        for index, piece in enumerate(pieces):
            if index % 2 == 0:
                text += piece.format(**values)
                continue
            if text:
                say.nest(text)  # the library puts a string after a child into its tail
                text = ""
            say.say_as(piece, interpret_as="digits")
        text += " "
    text = text.rstrip()
    if text:
        say.nest(text)
    return say


def _sms_text(helpline: Helpline, key: str, **values: str) -> str:
    template = _DIGIT_MARK.sub(r"\1", PROMPTS[key][helpline.language])
    operator = helpline.operator_name.strip()
    text = template.format(operator=operator, **values)
    return text[:1].upper() + text[1:]


def _readable_us_number(number: str) -> str:
    """Show +18005550100 as 1-800-555-0100; anything else as given."""
    digits = number.strip()
    if re.fullmatch(r"\+1\d{10}", digits):
        return f"1-{digits[2:5]}-{digits[5:8]}-{digits[8:]}"
    return digits


def _require(name: str, value: str | None) -> None:
    if not value or not value.strip():
        raise ValueError(f"{name} is required")


def _require_phone(name: str, value: str | None) -> None:
    if not value or not _E164.match(value):
        raise ValueError(f"{name} must be an E.164 phone number")


def _record_message(response: VoiceResponse, action: str, status_callback: str, max_length: int) -> None:
    """The caller's message after the tone: # or silence ends it; the recording arrives by callback."""
    response.record(
        action=action,
        method="POST",
        timeout=VOICEMAIL_SILENCE_TIMEOUT_SECONDS,
        finish_on_key="#",
        max_length=max_length,
        play_beep=True,
        trim="trim-silence",
        transcribe=False,
        recording_status_callback=status_callback,
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
    )
