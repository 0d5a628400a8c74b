"""TwiML builders: parse every document and assert what Twilio (and the caller) gets."""

import inspect
import re
import string
import xml.etree.ElementTree as ET

import pytest

from leadrouter.telephony import twiml
from leadrouter.telephony.twiml import Helpline

# Verbs allowed directly under <Response>, and what each may contain.
VOICE_VERBS = {"Say", "Play", "Pause", "Gather", "Dial", "Record", "Redirect", "Hangup", "Reject"}
MESSAGING_VERBS = {"Message", "Redirect"}
CHILDREN = {
    "Say": {"say-as", "break", "emphasis", "prosody", "p", "s"},
    "say-as": set(),
    "Gather": {"Say", "Play", "Pause"},
    "Dial": {"Number", "Client", "Conference", "Sip", "Queue"},
    "Number": set(),
    "Message": {"Body", "Media"},
}
NO_CHILDREN = {"Play", "Pause", "Record", "Redirect", "Hangup", "Reject", "Body", "Media"}

INJECTION = "</Say><Dial>+19005550100</Dial>"

URLS = {
    "gather": "https://example.test/twilio/voice/menu",
    "988": "https://example.test/twilio/voice/988",
    "continue": "https://example.test/twilio/voice/advisor",
    "dial": "https://example.test/twilio/voice/dial-result",
    "whisper": "https://example.test/twilio/voice/whisper?lead=42",
    "status": "https://example.test/twilio/voice/status",
    "record": "https://example.test/twilio/voice/voicemail",
    "recording_status": "https://example.test/twilio/voice/recording",
    "accept": "https://example.test/twilio/voice/whisper/accept",
    "hold": "https://example.test/twilio/voice/hold",
}
HELPLINE_NUMBER = "+18005550100"
ADVISOR_NUMBER = "+15125550111"
ON_CALL_NUMBER = "+15125550122"
EN = Helpline(operator_name="Example Recovery Services", language="en")
ES = Helpline(operator_name="Example Recovery Services", language="es")


def parse(xml: str, verbs: set[str] = VOICE_VERBS) -> ET.Element:
    """Parse a TwiML document and check it uses only known verbs, nested legally."""
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(xml)
    assert root.tag == "Response"
    for verb in root:
        assert verb.tag in verbs, f"<{verb.tag}> is not a verb here"
    for element in root.iter():
        if element is root:
            continue
        if element.tag in NO_CHILDREN:
            assert len(element) == 0, f"<{element.tag}> must be empty of elements"
        else:
            assert element.tag in CHILDREN, f"unknown element <{element.tag}>"
            for child in element:
                assert child.tag in CHILDREN[element.tag], f"<{child.tag}> in <{element.tag}>"
    return root


def said(root: ET.Element) -> str:
    """Everything spoken in the document, as one string."""
    return " ".join("".join(say.itertext()) for say in root.iter("Say"))


def top_level(root: ET.Element) -> list[str]:
    return [verb.tag for verb in root]


def all_voice_documents(helpline: Helpline) -> dict[str, str]:
    return {
        "welcome_menu": twiml.welcome_menu(helpline, URLS["gather"]),
        "welcome_menu_recorded": twiml.welcome_menu(helpline, URLS["gather"], announce_recording=True),
        "emergency_guidance": twiml.emergency_guidance(helpline, URLS["988"]),
        "emergency_guidance_no_988": twiml.emergency_guidance(
            helpline, None, continue_action=URLS["continue"]
        ),
        "connect_988": twiml.connect_988(helpline),
        "dial_advisor": twiml.dial_advisor(
            helpline,
            ADVISOR_NUMBER,
            HELPLINE_NUMBER,
            URLS["dial"],
            URLS["whisper"],
            URLS["status"],
        ),
        "whisper": twiml.whisper("Texas", "critical", "loved_one", language=helpline.language),
        "whisper_gated": twiml.whisper(
            "Texas", "high", "self", accept_action=URLS["accept"], language=helpline.language
        ),
        "voicemail": twiml.voicemail(helpline, URLS["record"], URLS["recording_status"]),
        "after_voicemail": twiml.after_voicemail(helpline),
        "call_back_later": twiml.call_back_later(helpline),
        "call_back_later_on_call": twiml.call_back_later(helpline, ON_CALL_NUMBER),
        "blocked_caller": twiml.blocked_caller(helpline),
        "empty_response": twiml.empty_response(),
        "dial_several_advisors": twiml.dial_advisor(
            helpline,
            ADVISOR_NUMBER,
            HELPLINE_NUMBER,
            URLS["dial"],
            URLS["whisper"],
            URLS["status"],
            timeout=30,
            also_ring=[("+15125550112", URLS["whisper"] + "&offer=2")],
        ),
        "hold": twiml.hold(
            helpline, URLS["hold"], turn_seconds=30, say_notice=True, place=2, wait_seconds=300
        ),
        "call_back": twiml.call_back(
            helpline,
            twiml.CallBackPromise(clock="9:15 AM Central time today"),
            URLS["record"],
            URLS["recording_status"],
        ),
        "line_closed": twiml.call_back(
            helpline,
            twiml.CallBackPromise(minutes=5),
            URLS["record"],
            URLS["recording_status"],
            closed=True,
            staffed_at="8:00 AM Central time tomorrow",
        ),
        "dial_on_call": twiml.dial_on_call(
            helpline, ON_CALL_NUMBER, HELPLINE_NUMBER, URLS["dial"] + "?on_call=1"
        ),
    }


# Documents whose <Dial> deliberately has no action: the 988 bridge and the
# degraded mode both fall through to a spoken message and a hangup instead.
DIAL_WITHOUT_ACTION = {"connect_988", "call_back_later_on_call"}
# Documents run on the advisor's leg or for a callback, where ending quietly is right.
MAY_END_QUIETLY = {"whisper", "empty_response"}


@pytest.mark.parametrize("helpline", [EN, ES], ids=["en", "es"])
def test_every_voice_document_is_valid_twiml(helpline):
    for name, xml in all_voice_documents(helpline).items():
        root = parse(xml)
        for say in root.iter("Say"):
            voice, language = twiml.VOICES[helpline.language]
            assert say.get("language") == language, name
            assert say.get("voice") == voice, name
            assert "".join(say.itertext()).strip(), f"empty <Say> in {name}"


@pytest.mark.parametrize("helpline", [EN, ES], ids=["en", "es"])
def test_gather_record_and_dial_name_their_action(helpline):
    for name, xml in all_voice_documents(helpline).items():
        root = parse(xml)
        for element in root.iter():
            if element.tag in {"Gather", "Record"} or (
                element.tag == "Dial" and name not in DIAL_WITHOUT_ACTION
            ):
                assert element.get("action", "").startswith("https://"), (name, element.tag)
                assert element.get("method") == "POST", (name, element.tag)
        for redirect in root.iter("Redirect"):
            assert redirect.text and redirect.text.startswith("https://"), name


@pytest.mark.parametrize("helpline", [EN, ES], ids=["en", "es"])
def test_no_caller_is_left_in_silence(helpline):
    for name, xml in all_voice_documents(helpline).items():
        if name in MAY_END_QUIETLY:
            continue
        root = parse(xml)
        last = root[-1]
        assert last.tag in {"Redirect", "Hangup"} or (last.tag == "Dial" and last.get("action")), (
            f"{name} ends with <{last.tag}>"
        )


def test_welcome_menu_discloses_warns_then_asks():
    root = parse(twiml.welcome_menu(EN, URLS["gather"]))
    assert top_level(root) == ["Say", "Say", "Gather", "Redirect"]
    disclosure, notice = (("".join(s.itertext())) for s in root.findall("Say"))
    assert "This call is answered by advisors of Example Recovery Services" in disclosure
    assert "911" in notice and "988" in notice

    gather = root.find("Gather")
    assert gather.attrib == {
        "action": URLS["gather"],
        "method": "POST",
        "input": "dtmf speech",
        "numDigits": "1",
        "timeout": "6",
        "speechTimeout": "auto",
        "hints": twiml.MENU_HINTS["en"],
        "language": "en-US",
    }
    assert "emergency" in gather.get("hints") and "overdose" in gather.get("hints")
    prompt = said(gather)
    assert "press 1" in prompt and "press 2" in prompt and "press 0" in prompt

    redirect = root.find("Redirect")
    assert redirect.text == URLS["gather"]
    assert redirect.get("method") == "POST"
    assert root.find("Hangup") is None


def test_welcome_menu_in_spanish():
    root = parse(twiml.welcome_menu(ES, URLS["gather"]))
    text = said(root)
    assert "Esta llamada la atienden asesores de Example Recovery Services" in text
    assert "oprima 1" in text and "oprima 2" in text and "oprima 0" in text
    gather = root.find("Gather")
    assert gather.get("language") == "es-MX"
    assert gather.get("hints") == twiml.MENU_HINTS["es"]


def test_recording_notice_only_when_announced():
    quiet = said(parse(twiml.welcome_menu(EN, URLS["gather"])))
    announced = said(parse(twiml.welcome_menu(EN, URLS["gather"], announce_recording=True)))
    assert "recorded" not in quiet
    assert "recorded" in announced
    assert "grabadas" in said(parse(twiml.welcome_menu(ES, URLS["gather"], announce_recording=True)))


@pytest.mark.parametrize(
    ("helpline", "words"),
    [(EN, ("hang up", "dial")), (ES, ("cuelgue", "marque"))],
    ids=["en", "es"],
)
def test_emergency_numbers_are_spoken_digit_by_digit(helpline, words):
    for name in ("welcome_menu", "after_voicemail", "call_back_later", "blocked_caller"):
        root = parse(all_voice_documents(helpline)[name])
        text = said(root)
        assert "911" in text and "988" in text, name
        assert all(word in text for word in words), name
        digits = {el.text for el in root.iter("say-as") if el.get("interpret-as") == "digits"}
        assert {"911", "988"} <= digits, name


@pytest.mark.parametrize("helpline", [EN, ES], ids=["en", "es"])
def test_emergency_guidance_offers_988_then_an_advisor(helpline):
    root = parse(twiml.emergency_guidance(helpline, URLS["988"]))
    assert top_level(root) == ["Say", "Gather", "Redirect"]
    assert "911" in said(root.find("Say"))
    assert "Narcan" in said(root.find("Say"))
    gather = root.find("Gather")
    assert gather.get("action") == URLS["988"]
    assert gather.get("numDigits") == "1"
    assert gather.get("input") == "dtmf"
    assert "988" in said(gather) and "9" in said(gather)
    assert root.find("Redirect").text == URLS["988"]


def test_emergency_guidance_can_continue_elsewhere_and_never_dead_ends():
    root = parse(twiml.emergency_guidance(EN, URLS["988"], continue_action=URLS["continue"]))
    assert root.find("Gather").get("action") == URLS["988"]
    assert root.find("Redirect").text == URLS["continue"]

    without_988 = parse(twiml.emergency_guidance(EN, None, continue_action=URLS["continue"]))
    assert without_988.find("Gather") is None
    assert "988" in said(without_988)
    assert without_988.find("Redirect").text == URLS["continue"]

    with pytest.raises(ValueError):
        twiml.emergency_guidance(EN, None)


def test_connect_988_dials_the_lifeline_and_falls_back_to_words():
    root = parse(twiml.connect_988(ES))
    assert top_level(root) == ["Say", "Dial", "Say", "Hangup"]
    dial = root.find("Dial")
    assert dial.text == twiml.LIFELINE_DIAL_NUMBER
    assert dial.get("callerId") is None  # the Lifeline sees the caller's own number
    assert "988" in said(root)
    custom = parse(twiml.connect_988(EN, number="+15555550988"))
    assert custom.find("Dial").text == "+15555550988"


def test_dial_advisor_structure():
    root = parse(
        twiml.dial_advisor(
            EN,
            ADVISOR_NUMBER,
            HELPLINE_NUMBER,
            URLS["dial"],
            URLS["whisper"],
            URLS["status"],
            timeout=25,
        )
    )
    assert top_level(root) == ["Say", "Dial"]
    assert "Connecting you with an advisor" in said(root)
    dial = root.find("Dial")
    assert dial.attrib == {
        "callerId": HELPLINE_NUMBER,
        "timeout": "25",
        "action": URLS["dial"],
        "method": "POST",
        "answerOnBridge": "true",
    }
    (number,) = list(dial)
    assert number.tag == "Number"
    assert number.text == ADVISOR_NUMBER
    assert number.get("url") == URLS["whisper"]
    assert number.get("method") == "POST"
    assert number.get("statusCallback") == URLS["status"]
    assert number.get("statusCallbackEvent") == "initiated ringing answered completed"
    assert number.get("statusCallbackMethod") == "POST"


def test_dial_advisor_without_message_and_with_recording():
    root = parse(
        twiml.dial_advisor(
            ES,
            ADVISOR_NUMBER,
            HELPLINE_NUMBER,
            URLS["dial"],
            URLS["whisper"],
            URLS["status"],
            connecting_message=False,
            record=True,
            recording_status_callback=URLS["recording_status"],
        )
    )
    assert top_level(root) == ["Dial"]
    dial = root.find("Dial")
    assert dial.get("timeout") == "20"
    assert dial.get("record") == "record-from-answer-dual"
    assert dial.get("recordingStatusCallback") == URLS["recording_status"]


def test_dial_advisor_refuses_bad_input():
    args = (EN, ADVISOR_NUMBER, HELPLINE_NUMBER, URLS["dial"], URLS["whisper"], URLS["status"])
    with pytest.raises(ValueError):
        twiml.dial_advisor(EN, "512-555-0111", *args[2:])
    with pytest.raises(ValueError):
        twiml.dial_advisor(*args[:3], "", *args[4:])
    with pytest.raises(ValueError):
        twiml.dial_advisor(*args, timeout=2)
    with pytest.raises(ValueError):
        twiml.dial_advisor(*args, record=True)  # recording needs its callback


def test_whisper_briefs_the_advisor_without_personal_data():
    root = parse(twiml.whisper("Texas", "critical", "loved_one"))
    assert top_level(root) == ["Say"]
    assert said(root) == ("Helpline call. Caller in Texas. Urgency: critical. Calling for a loved one.")
    assert not re.search(r"\d{3}", said(root))
    # Nothing in its signature could carry a name or a phone number.
    assert set(inspect.signature(twiml.whisper).parameters) == {
        "region_name",
        "urgency",
        "for_whom",
        "caller_language",
        "accept_action",
        "language",
    }


def test_whisper_handles_unknowns_and_spanish():
    assert said(parse(twiml.whisper(None, "normal", "self"))) == (
        "Helpline call. Caller location unknown. Urgency: normal. Calling for themselves."
    )
    assert said(parse(twiml.whisper("  ", "made-up", "?"))) == ("Helpline call. Caller location unknown.")
    assert "Caller chose Spanish." in said(parse(twiml.whisper("Ohio", "low", "self", caller_language="es")))
    spanish = said(parse(twiml.whisper("Texas", "high", "loved_one", language="es")))
    assert spanish == (
        "Llamada de la línea de ayuda. Llamada desde Texas. Urgencia: alta. Busca ayuda para un ser querido."
    )


def test_whisper_gate_hangs_up_on_the_advisor_leg_without_a_key():
    root = parse(twiml.whisper("Texas", "high", "self", accept_action=URLS["accept"]))
    assert top_level(root) == ["Say", "Gather", "Say", "Hangup"]
    gather = root.find("Gather")
    assert gather.get("action") == URLS["accept"]
    assert gather.get("numDigits") == "1"


@pytest.mark.parametrize("helpline", [EN, ES], ids=["en", "es"])
def test_voicemail_records_with_callbacks_and_says_goodbye(helpline):
    root = parse(twiml.voicemail(helpline, URLS["record"], URLS["recording_status"], 120))
    assert top_level(root) == ["Say", "Record", "Say", "Say", "Hangup"]
    record = root.find("Record")
    assert record.get("action") == URLS["record"]
    assert record.get("method") == "POST"
    assert record.get("recordingStatusCallback") == URLS["recording_status"]
    assert record.get("recordingStatusCallbackEvent") == "completed"
    assert record.get("maxLength") == "120"
    assert record.get("playBeep") == "true"
    assert record.get("finishOnKey") == "#"
    assert record.get("transcribe") == "false"
    closing = " ".join("".join(s.itertext()) for s in root.findall("Say")[1:])
    assert "911" in closing and "988" in closing


def test_voicemail_asks_for_a_safe_number():
    assert "safe to call you back" in said(parse(twiml.voicemail(EN, "https://x/r", "https://x/s")))
    with pytest.raises(ValueError):
        twiml.voicemail(EN, URLS["record"], URLS["recording_status"], max_length=0)
    with pytest.raises(ValueError):
        twiml.voicemail(EN, "", URLS["recording_status"])


def test_after_voicemail_thanks_and_hangs_up():
    root = parse(twiml.after_voicemail(EN))
    assert top_level(root)[-1] == "Hangup"
    assert "call you back" in said(root)
    assert {"Gather", "Dial", "Record"}.isdisjoint(el.tag for el in root.iter())


def test_call_back_later_without_on_call_line():
    root = parse(twiml.call_back_later(EN))
    assert top_level(root) == ["Say", "Say", "Say", "Hangup"]
    assert "call us back in a few minutes" in said(root)
    assert "911" in said(root)


def test_call_back_later_dials_the_on_call_line_and_holds_no_personal_data():
    xml = twiml.call_back_later(ES, ON_CALL_NUMBER, caller_id=HELPLINE_NUMBER)
    root = parse(xml)
    assert top_level(root) == ["Say", "Say", "Say", "Dial", "Say", "Hangup"]
    dial = root.find("Dial")
    assert dial.text == ON_CALL_NUMBER
    assert dial.get("callerId") == HELPLINE_NUMBER
    assert dial.get("timeout") == "30"
    # The only numbers in the document are the configured ones and 911 / 988.
    assert set(re.findall(r"\+?\d{3,}", xml)) == {ON_CALL_NUMBER, HELPLINE_NUMBER, "911", "988"}


def test_blocked_caller_only_speaks_and_hangs_up():
    root = parse(twiml.blocked_caller(EN))
    assert set(top_level(root)) == {"Say", "Hangup"}
    assert top_level(root)[-1] == "Hangup"
    assert "not able to take your call" in said(root)


def test_empty_response():
    root = parse(twiml.empty_response())
    assert len(root) == 0


# --- caller-supplied text stays text --------------------------------------------------


def test_injection_in_whisper_region_stays_inside_one_say():
    root = parse(twiml.whisper(INJECTION, "high", "self"))
    assert top_level(root) == ["Say"]
    assert root.find(".//Dial") is None
    assert INJECTION in said(root)


def test_injection_in_operator_name_stays_inside_one_say():
    helpline = Helpline(operator_name=INJECTION)
    root = parse(twiml.welcome_menu(helpline, URLS["gather"]))
    assert root.find(".//Dial") is None
    assert top_level(root) == ["Say", "Say", "Gather", "Redirect"]
    says_with_payload = [s for s in root.iter("Say") if INJECTION in "".join(s.itertext())]
    assert len(says_with_payload) == 1
    sms = parse(twiml.sms_opted_out(helpline), MESSAGING_VERBS)
    assert INJECTION in sms.find("Message").text


def test_braces_in_caller_text_are_not_templates():
    root = parse(twiml.whisper("{operator} [911]", "low", "self"))
    assert "{operator} [911]" in said(root)
    assert root.find(".//say-as") is None


# --- messaging ----------------------------------------------------------------------------


def test_sms_reply_is_one_escaped_message():
    root = parse(twiml.sms_reply(INJECTION + " & <b>"), MESSAGING_VERBS)
    assert top_level(root) == ["Message"]
    assert root.find("Message").text == INJECTION + " & <b>"
    assert root.find(".//Dial") is None
    with pytest.raises(ValueError):
        twiml.sms_reply("  ")


@pytest.mark.parametrize("helpline", [EN, ES], ids=["en", "es"])
def test_sms_help_names_us_and_says_how_to_stop(helpline):
    root = parse(twiml.sms_help(helpline, HELPLINE_NUMBER), MESSAGING_VERBS)
    (message,) = root.findall("Message")
    assert message.text.startswith("Example Recovery Services:")
    for needle in ("1-800-555-0100", "911", "988", "STOP"):
        assert needle in message.text
    assert "[" not in message.text


@pytest.mark.parametrize("helpline", [EN, ES], ids=["en", "es"])
def test_sms_opt_out_and_opt_in_confirmations(helpline):
    out = parse(twiml.sms_opted_out(helpline), MESSAGING_VERBS).find("Message").text
    assert "START" in out
    assert "Example Recovery Services" in out
    again = parse(twiml.sms_opted_in(helpline), MESSAGING_VERBS).find("Message").text
    assert "STOP" in again and "HELP" in again


def test_sms_default_operator_is_capitalised():
    text = parse(twiml.sms_opted_in(Helpline()), MESSAGING_VERBS).find("Message").text
    assert text.startswith("Leadrouter Helpline:")


# --- prompts, languages, menu answers -----------------------------------------------------


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_prompt_exists_in_both_languages_with_the_same_slots():
    for key, versions in twiml.PROMPTS.items():
        assert set(versions) == set(twiml.LANGUAGES), key
        en, es = versions["en"], versions["es"]
        assert en.strip() and es.strip(), key
        assert _fields(en) == _fields(es), key
        assert re.findall(r"\[\d+\]", en) == re.findall(r"\[\d+\]", es), key


def test_unknown_language_is_refused():
    with pytest.raises(ValueError):
        Helpline(language="fr")
    with pytest.raises(ValueError):
        twiml.whisper("Texas", "high", "self", language="de")


@pytest.mark.parametrize(
    ("digits", "speech", "expected"),
    [
        ("1", None, "self"),
        ("2", None, "loved_one"),
        ("0", None, "emergency"),
        ("7", None, "self"),
        (None, None, "self"),
        ("", "", "self"),
        (None, "I think my son overdosed", "emergency"),
        (None, "it's for my daughter", "loved_one"),
        (None, "emergency", "emergency"),
        (None, "for me", "self"),
        (None, "mi esposo no respira", "emergency"),
        (None, "para mi hija", "loved_one"),
        (None, "Two.", "loved_one"),
        ("1", "emergency", "self"),  # a key press wins over background speech
    ],
)
def test_interpret_menu_choice(digits, speech, expected):
    assert twiml.interpret_menu_choice(digits, speech) == expected


# --- live calls: hold, call back, ring several, the on-call line ------------------------------


def test_a_hold_turn_gathers_a_key_for_the_turn_then_comes_back_to_the_hold_url():
    root = parse(twiml.hold(EN, URLS["hold"], turn_seconds=30, say_notice=True, place=2, wait_seconds=300))
    assert top_level(root) == ["Gather", "Redirect"]
    gather = root.find("Gather")
    assert (gather.get("action"), gather.get("timeout"), gather.get("numDigits")) == (URLS["hold"], "30", "1")
    assert root.find("Redirect").text == URLS["hold"] and root.find("Redirect").get("method") == "POST"
    spoken = said(root)
    assert spoken.index("911") < spoken.index("helping other callers")  # the notice opens the turn
    assert "number 2 in line" in spoken and "about 5 minutes" in spoken and "press 1" in spoken


def test_a_hold_turn_without_the_notice_or_a_known_wait_says_only_what_is_known():
    spoken = said(parse(twiml.hold(EN, URLS["hold"], turn_seconds=30, say_notice=False)))
    assert "911" not in spoken and "in line" not in spoken and "expected wait" not in spoken
    assert "one minute" in said(
        parse(twiml.hold(EN, URLS["hold"], turn_seconds=30, say_notice=False, wait_seconds=50))
    )


def test_a_hold_turn_speaks_spanish_on_the_spanish_line():
    spoken = said(parse(twiml.hold(ES, URLS["hold"], turn_seconds=30, say_notice=False, place=3)))
    assert "número 3" in spoken and "oprima 1" in spoken


def test_leaving_the_line_promises_a_time_then_records_a_message():
    root = parse(
        twiml.call_back(
            EN,
            twiml.CallBackPromise(clock="9:15 AM Central time today", quiet_now=True),
            URLS["record"],
            URLS["recording_status"],
        )
    )
    assert top_level(root) == ["Say", "Say", "Say", "Say", "Record", "Say", "Say", "Say", "Say", "Hangup"]
    spoken = said(root)
    assert "An advisor will call you by 9:15 AM Central time today." in spoken
    assert "we will not call you tonight" in spoken
    assert root.find("Record").get("action") == URLS["record"]
    # One promise in one call: after the tone the same clock again, never "as soon as possible".
    after_tone = said_after_record(root)
    assert "An advisor will call you by 9:15 AM Central time today." in after_tone
    assert "as soon as possible" not in spoken


def said_after_record(root) -> str:
    children = list(root)
    record_at = [child.tag for child in children].index("Record")
    return " ".join("".join(child.itertext()) for child in children[record_at + 1 :])


def test_after_the_message_the_promise_before_the_tone_is_said_again():
    spoken = said(parse(twiml.after_voicemail(EN, twiml.CallBackPromise(clock="9:15 AM Central time today"))))
    assert "We have your message" in spoken and "by 9:15 AM Central time today" in spoken
    assert "as soon as possible" not in spoken
    spoken_es = said(parse(twiml.after_voicemail(ES, twiml.CallBackPromise(minutes=5))))
    assert "5 minutos" in spoken_es


def test_a_critical_caller_nobody_answered_hears_the_minutes_not_nobody_on_duty_or_tonight():
    root = parse(
        twiml.call_back(
            EN,
            twiml.CallBackPromise(minutes=5, quiet_now=True),
            URLS["record"],
            URLS["recording_status"],
            nobody_answered=True,
        )
    )
    spoken = said(root)
    assert "none of the advisors we rang could answer" in spoken and "911" in spoken
    assert "on duty" not in spoken and "tonight" not in spoken and "back on the line" not in spoken
    assert spoken.count("within 5 minutes") == 2


def test_nobody_on_duty_says_so_with_the_notice_and_when_the_line_is_staffed():
    root = parse(
        twiml.call_back(
            EN,
            twiml.CallBackPromise(minutes=5),
            URLS["record"],
            URLS["recording_status"],
            closed=True,
            staffed_at="8:00 AM Central time tomorrow",
        )
    )
    spoken = said(root)
    assert "none of our advisors is on duty" in spoken and "911" in spoken
    # A critical caller is called back within the minutes at any hour: no shift clock beside it.
    assert "back on the line" not in spoken
    assert "within 5 minutes" in spoken
    spoken = said(
        parse(
            twiml.call_back(
                EN,
                twiml.CallBackPromise(clock="9:00 AM Central time tomorrow"),
                URLS["record"],
                URLS["recording_status"],
                closed=True,
                staffed_at="8:00 AM Central time tomorrow",
            )
        )
    )
    assert "back on the line at 8:00 AM Central time tomorrow" in spoken


def test_several_advisors_ring_in_one_dial_each_with_their_whisper():
    root = parse(all_voice_documents(EN)["dial_several_advisors"])
    numbers = root.find("Dial").findall("Number")
    assert [n.text for n in numbers] == [ADVISOR_NUMBER, "+15125550112"]
    assert numbers[0].get("url") != numbers[1].get("url")
    assert all(n.get("statusCallback") == URLS["status"] for n in numbers)
    with pytest.raises(ValueError):
        twiml.dial_advisor(
            EN,
            ADVISOR_NUMBER,
            HELPLINE_NUMBER,
            URLS["dial"],
            URLS["whisper"],
            URLS["status"],
            also_ring=[("5550112", URLS["whisper"])],
        )


def test_the_on_call_line_is_dialed_with_an_action_so_the_call_goes_on_if_nobody_answers():
    root = parse(twiml.dial_on_call(EN, ON_CALL_NUMBER, HELPLINE_NUMBER, URLS["dial"], timeout=30))
    dial = root.find("Dial")
    assert dial.text == ON_CALL_NUMBER and dial.get("action") == URLS["dial"] and dial.get("timeout") == "30"


def test_only_a_caller_who_held_is_thanked_for_waiting():
    promise = twiml.CallBackPromise(clock="9:00 AM Central time today", quiet_now=True, quiet_early=True)
    for permission in (True, False):
        spoken = said(
            parse(
                twiml.call_back(
                    EN, promise, URLS["record"], URLS["recording_status"], permission=permission, held=False
                )
            )
        )
        assert "Thank you for waiting" not in spoken
        assert "before 8 AM" in spoken and "tonight" not in spoken
    spoken = said(
        parse(
            twiml.call_back(
                EN, promise, URLS["record"], URLS["recording_status"], permission=True, held=False
            )
        )
    )
    assert spoken.startswith("We will call you back.")
