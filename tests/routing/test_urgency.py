"""Urgency: emergency words (typos, negation, Spanish), the level rules, and merging."""

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadrouter.routing.severity import DSM_CRITERIA
from leadrouter.routing.urgency import (
    SCORE_BANDS,
    URGENCY_LEVELS,
    Urgency,
    UrgencySignals,
    edit_distance,
    find_emergency_terms,
    level_for_score,
    raise_only,
    score_urgency,
)


def score_text(*texts: str, **kwargs) -> Urgency:
    return score_urgency(UrgencySignals(texts=texts, **kwargs))


# --- Emergency words -----------------------------------------------------------

CRITICAL_TEXTS = [
    # English
    "My son overdosed",
    "he overdosed last night",
    "I think she is overdosing right now",
    "Help, overdose!!",
    "He OD'd on fentanyl",
    "he ODed yesterday",
    "she od on pills",
    "he is not breathing",
    "He's not breathing",
    "she stopped breathing",
    "I'm not sure if he's breathing",
    "not sure whether she is breathing",
    "I can't breathe",
    "he is unresponsive",
    "she won't wake up",
    "he wont wake up",
    "I can't wake him",
    "he is unconscious on the floor",
    "his lips are blue",
    "blue lips and snoring",
    "she is having a seizure",
    "I want to kill myself",
    "thinking about suicide",
    "I'm suicidal",
    "I want to die",
    "I just want to end my life",
    "He took too much and is barely breathing",
    "My brother took too many pills, he is hard to wake",
    "my dad is difficult to wake this morning",
    "this is an emergency",
    "Should I call 911?",
    "No emergency before, but now he overdosed",
    "I don't know if he overdosed",
    "not sure if he overdosed",
    "OVERDOSE",
    # Misspellings and split words
    "my brother overdoce",
    "he had an over dose",
    "she overdozed",
    "overdossed last week",
    "i think about sucide",
    "suicde",
    "he is unresponsve",
    "he has a siezure",
    # Spanish
    "mi hijo tuvo una sobredosis",
    "se tomó demasiadas pastillas",
    "sobredosís",
    "sobre dosis",
    "no respira",
    "mi esposo no respira",
    "creo que no está respirando",
    "no sé si respira",
    "está inconsciente",
    "no despierta",
    "no se despierta",
    "tiene los labios morados",
    "está convulsionando",
    "pienso en el suicidio",
    "quiero matarme",
    "quiero morir",
    "me quiero morir",
    "quiero quitarme la vida",
    "es una emergencia",
]


@pytest.mark.parametrize("text", CRITICAL_TEXTS)
def test_emergency_words_are_critical(text):
    urgency = score_text(text)
    assert find_emergency_terms(text), text
    assert urgency.level == "critical"
    assert urgency.score >= 90
    assert urgency.emergency
    assert urgency.crisis_line in {"911", "988"}


NOT_EMERGENCY_TEXTS = [
    # Look-alike words
    "I have an overdue bill",
    "Questions about dosage",
    "We stayed in a hotel suite",
    "He overdoes it on weekends",
    "He keeps overdoing it",
    "that is odd",
    "He is responsive now",
    "He has become withdrawn",
    "She is breathing fine",
    "He is breaking every rule",
    "we decided to call",
    "consciente de su problema",
    "Emergency contact: my mother",
    "What should I do in case of emergency?",
    # Negated
    "not an emergency",
    "This is not an emergency",
    "no emergency",
    "there was no overdose",
    "no overdose",
    "he is not suicidal",
    "She isn't suicidal",
    "he has never overdosed",
    "I don't want to die",
    "no es una emergencia",
    "no hay emergencia",
    "nunca sobredosis",
    "nunca ha tenido sobredosis",
    "no es suicida",
    # Empty-ish
    "",
    "   ",
    "My son uses heroin daily",
]


@pytest.mark.parametrize("text", NOT_EMERGENCY_TEXTS)
def test_look_alikes_and_negations_are_not_emergencies(text):
    assert find_emergency_terms(text) == []
    urgency = score_text(text)
    assert urgency.level != "critical"
    assert not urgency.emergency
    assert urgency.crisis_line is None


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("He OD'd on fentanyl", ["OD'd"]),
        ("he had an over dose", ["over dose"]),
        ("he is not breathing", ["not breathing"]),
        ("no respira, está inconsciente", ["no respira", "inconsciente"]),
        ("overdose... OVERDOSE", ["overdose", "OVERDOSE"]),
        ("overdose, overdose", ["overdose"]),
        ("no overdose, but he is not breathing", ["not breathing"]),
        ("he is not suicidal, he overdosed", ["overdosed"]),
    ],
)
def test_find_emergency_terms_returns_words_as_written(text, found):
    assert find_emergency_terms(text) == found


def test_reason_names_the_emergency_and_the_words():
    urgency = score_text("Mom says he overdosed")
    assert "Message mentions an overdose ('overdosed')" in urgency.reasons
    assert urgency.reasons[0].startswith("Message mentions an overdose")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("I want to kill myself", "988"),
        ("quiero morir", "988"),
        ("he overdosed", "911"),
        ("he overdosed and wants to die", "911"),
        ("not breathing", "911"),
    ],
)
def test_crisis_line_is_988_for_suicidal_talk_alone(text, line):
    assert score_text(text).crisis_line == line


def test_emergency_in_any_of_several_texts_counts():
    urgency = score_text("Need information", "", "voicemail: he is not breathing")
    assert urgency.level == "critical"


def test_more_emergency_topics_score_higher():
    one = score_text("he overdosed")
    two = score_text("he overdosed and is not breathing")
    assert 90 <= one.score < two.score <= 100


def test_emergency_pressed_is_critical():
    urgency = score_urgency(UrgencySignals(source="call", emergency_pressed=True))
    assert urgency.level == "critical"
    assert urgency.emergency
    assert urgency.crisis_line == "911"
    assert "Caller chose the emergency option" in urgency.reasons


# --- At least high -------------------------------------------------------------


@pytest.mark.parametrize(
    ("signals", "reason"),
    [
        (
            UrgencySignals(severity="severe", dsm_criteria=frozenset(DSM_CRITERIA[:7])),
            "Severe opioid use disorder (7 of 11 criteria)",
        ),
        (UrgencySignals(severity="severe"), "Severe opioid use disorder"),
        (
            UrgencySignals(dsm_criteria=frozenset({"withdrawal"})),
            "Withdrawal symptoms ticked on the checklist",
        ),
        (UrgencySignals(texts=("he is dope sick",)), "Message mentions withdrawal ('dope sick')"),
        (UrgencySignals(texts=("he's dopesick",)), "Message mentions withdrawal ('dopesick')"),
        (UrgencySignals(texts=("she is sick from not using",)), None),
        (UrgencySignals(texts=("going through withdrawls",)), None),
        (UrgencySignals(texts=("tiene abstinencia",)), None),
        (UrgencySignals(texts=("anda con la malilla",)), None),
        (UrgencySignals(source="voicemail"), "Caller left a voicemail"),
        (UrgencySignals(source="call", missed_call=True), "Missed call: no advisor answered"),
        (
            UrgencySignals(source="call", abandoned_call=True),
            "Caller hung up before reaching an advisor",
        ),
    ],
)
def test_high_signals(signals, reason):
    urgency = score_urgency(signals)
    assert urgency.level == "high"
    assert 60 <= urgency.score <= 89
    assert not urgency.emergency
    if reason:
        assert reason in urgency.reasons


def test_negated_withdrawal_is_not_high():
    assert score_text("no withdrawal symptoms").level == "normal"


def test_high_signals_add_up_within_the_band():
    one = score_urgency(UrgencySignals(source="voicemail"))
    many = score_urgency(
        UrgencySignals(
            texts=("dope sick",),
            severity="severe",
            dsm_criteria=frozenset(DSM_CRITERIA),
            substances=frozenset({"fentanyl", "heroin"}),
            source="voicemail",
            abandoned_call=True,
        )
    )
    assert one.score < many.score <= 89
    assert many.level == "high"


# --- Normal and low ------------------------------------------------------------


def test_default_is_normal():
    urgency = score_urgency(UrgencySignals())
    assert (urgency.level, urgency.emergency, urgency.crisis_line) == ("normal", False, None)
    assert 25 <= urgency.score <= 59


@pytest.mark.parametrize("severity", ["mild", "moderate"])
def test_mild_and_moderate_stay_normal_with_a_reason(severity):
    urgency = score_urgency(UrgencySignals(severity=severity))
    assert urgency.level == "normal"
    assert any(severity.capitalize() in r for r in urgency.reasons)


def test_fentanyl_and_heroin_raise_the_score_a_bit():
    base = score_urgency(UrgencySignals()).score
    with_fentanyl = score_urgency(UrgencySignals(substances=frozenset({"fentanyl"})))
    assert with_fentanyl.level == "normal"
    assert base < with_fentanyl.score <= base + 10
    assert "Uses fentanyl, which raises the risk of overdose" in with_fentanyl.reasons
    from_text = score_text("he smokes fetty and heroina")
    assert "Uses fentanyl and heroin, which raises the risk of overdose" in from_text.reasons
    assert score_urgency(UrgencySignals(substances=frozenset({"alcohol"}))).score == base


@pytest.mark.parametrize(
    "text",
    [
        "Just information please",
        "Can you send me a brochure?",
        "This is for a school project",
        "I have an insurance question",
        "solo información",
        "es para un proyecto escolar",
    ],
)
def test_information_only_is_low(text):
    urgency = score_text(text)
    assert urgency.level == "low"
    assert urgency.score < 25
    assert urgency.reasons[0].startswith("Asks only for information")


@pytest.mark.parametrize(
    "signals",
    [
        UrgencySignals(texts=("just information, he overdosed",)),
        UrgencySignals(texts=("brochure please",), severity="mild"),
        UrgencySignals(texts=("brochure please",), substances=frozenset({"heroin"})),
        UrgencySignals(texts=("brochure please",), source="voicemail"),
    ],
)
def test_information_only_with_anything_else_is_not_low(signals):
    assert score_urgency(signals).level != "low"


# --- Score and level stay consistent ------------------------------------------


@pytest.mark.parametrize(
    ("score", "level"),
    [(0, "low"), (24, "low"), (25, "normal"), (59, "normal"), (60, "high"), (89, "high")]
    + [(90, "critical"), (100, "critical")],
)
def test_level_for_score(score, level):
    assert level_for_score(score) == level


signals_strategy = st.builds(
    UrgencySignals,
    texts=st.lists(
        st.one_of(
            st.text(max_size=60),
            st.sampled_from(CRITICAL_TEXTS + NOT_EMERGENCY_TEXTS + ["brochure", "dope sick"]),
        ),
        max_size=3,
    ).map(tuple),
    severity=st.sampled_from(["none", "mild", "moderate", "severe", "bogus"]),
    dsm_criteria=st.frozensets(st.sampled_from(DSM_CRITERIA)),
    substances=st.frozensets(st.sampled_from(["fentanyl", "heroin", "alcohol"])),
    source=st.sampled_from(["web_form", "call", "voicemail", "sms", "api"]),
    missed_call=st.booleans(),
    abandoned_call=st.booleans(),
    emergency_pressed=st.booleans(),
)


@given(signals_strategy)
def test_score_is_within_its_level_band(signals):
    urgency = score_urgency(signals)
    assert urgency.level in URGENCY_LEVELS
    low, high = SCORE_BANDS[urgency.level]
    assert low <= urgency.score <= high
    assert level_for_score(urgency.score) == urgency.level
    assert urgency.emergency == (urgency.level == "critical")
    assert (urgency.crisis_line is not None) == urgency.emergency
    assert len(set(urgency.reasons)) == len(urgency.reasons)


@given(signals_strategy)
def test_high_rules_hold(signals):
    urgency = score_urgency(signals)
    if (
        signals.severity == "severe"
        or "withdrawal" in signals.dsm_criteria
        or signals.missed_call
        or signals.abandoned_call
        or signals.source == "voicemail"
    ):
        assert URGENCY_LEVELS.index(urgency.level) >= URGENCY_LEVELS.index("high")


@given(st.text(max_size=300))
def test_find_emergency_terms_never_raises(text):
    assert isinstance(find_emergency_terms(text), list)


def test_long_text_is_handled():
    text = "He uses every day and I am worried about him. " * 110 + "He overdosed."
    assert len(text) > 5000
    assert score_text(text).level == "critical"


# --- Edit distance -------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("overdose", "overdose", 0),
        ("overdose", "overdoce", 1),
        ("overdose", "overdsoe", 1),  # transposition counts once
        ("suicide", "sucide", 1),
        ("overdose", "overdue", 2),
        ("kitten", "sitting", 3),
    ],
)
def test_edit_distance(a, b, distance):
    assert edit_distance(a, b, limit=5) == distance


def test_edit_distance_stops_at_the_limit():
    assert edit_distance("overdose", "unrelated words", limit=2) == 3


# --- Merging -------------------------------------------------------------------


def test_raise_only_keeps_the_higher_level_and_unions_reasons():
    old = score_text("he overdosed")
    new = score_urgency(UrgencySignals(source="voicemail"))
    merged = raise_only(old, new)
    assert merged.level == "critical"
    assert merged.score == old.score
    assert merged.reasons == (*old.reasons, *new.reasons)
    assert merged.emergency
    assert merged.crisis_line == "911"


def test_raise_only_rises_when_new_is_higher():
    old = score_text("brochure please")
    new = score_text("no respira")
    merged = raise_only(old, new)
    assert (merged.level, merged.score) == ("critical", new.score)
    assert set(old.reasons) | set(new.reasons) == set(merged.reasons)


def test_raise_only_accepts_a_model_like_old_value_and_none():
    lead = SimpleNamespace(level="high", score=70, reasons=["Caller left a voicemail"])
    new = score_urgency(UrgencySignals())
    merged = raise_only(lead, new)
    assert (merged.level, merged.score, merged.reasons) == (
        "high",
        70,
        ("Caller left a voicemail",),
    )
    assert not merged.emergency
    assert raise_only(None, new) == new


def test_raise_only_keeps_old_critical_as_an_emergency():
    old = {"level": "critical", "score": 95, "reasons": ["Caller chose the emergency option"]}
    merged = raise_only(old, score_urgency(UrgencySignals()))
    assert merged.emergency
    assert merged.crisis_line == "911"


def test_raise_only_handles_a_new_lead_with_nothing_stored():
    blank = {"level": None, "score": None, "reasons": None, "emergency": None}
    new = score_urgency(UrgencySignals(source="voicemail"))
    assert raise_only(blank, new) == new


def test_raise_only_prefers_911_over_988():
    suicidal = score_text("I want to kill myself")
    overdose = score_text("he overdosed")
    assert raise_only(suicidal, overdose).crisis_line == "911"
    assert raise_only(overdose, suicidal).crisis_line == "911"


@given(signals_strategy, signals_strategy)
def test_raise_only_never_lowers(a, b):
    old, new = score_urgency(a), score_urgency(b)
    merged = raise_only(old, new)
    rank = URGENCY_LEVELS.index
    assert rank(merged.level) == max(rank(old.level), rank(new.level))
    assert merged.score == max(old.score, new.score)
    assert set(merged.reasons) == set(old.reasons) | set(new.reasons)
    assert merged.emergency == (old.emergency or new.emergency)
