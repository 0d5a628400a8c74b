"""Words that raise a lead's urgency, in English and Spanish.

Phrases are written already normalised, the way `urgency` tokenises free text:
lowercase, no accents, apostrophes dropped ("won't" -> "wont", "está" -> "esta").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Term:
    """One phrase to look for in free text, and the topic it signals."""

    phrase: str
    topic: str
    fuzzy: bool = True  # tolerate a typo or two in its long words
    negatable: bool = True  # "no"/"not"/"nunca" just before cancels it
    needs_cue: tuple[str, ...] = ()  # counts only when one of these words comes just before
    not_after: tuple[str, ...] = ()  # cancelled when one of these words comes just before
    not_before: tuple[str, ...] = ()  # cancelled when the next word is one of these


def _terms(topic: str, *phrases: str, **options: object) -> tuple[Term, ...]:
    return tuple(Term(phrase, topic, **options) for phrase in phrases)  # type: ignore[arg-type]


# Uncertainty about breathing is itself an emergency: "not sure if he's breathing".
_BREATHING_CUES = ("if", "whether", "si")

# "emergency" on its own is a strong word, but not in "emergency contact".
_EMERGENCY_WORD_OPTIONS: dict[str, object] = {
    "fuzzy": False,
    "not_after": ("case", "caso"),
    "not_before": ("contact", "contacts", "number", "numbers", "plan", "contacto", "numero"),
}

EMERGENCY_TERMS: tuple[Term, ...] = (
    # Overdose. "OD", "OD'd", "ODing" are all tokenised to "od".
    *_terms("overdose", "overdose", "overdosed", "overdoses", "overdosing", "overdosis"),
    *_terms(
        "overdose",
        "od",
        "took too much",
        "too many pills",
        "gave him narcan",
        "gave her narcan",
        fuzzy=False,
    ),
    *_terms("overdose", "sobredosis", "se paso de dosis", "demasiadas pastillas"),
    *_terms("overdose", "le di narcan", "le dimos narcan", fuzzy=False),
    # Breathing.
    *_terms(
        "breathing",
        "not breathing",
        "isnt breathing",
        "stopped breathing",
        "barely breathing",
        "hardly breathing",
        "trouble breathing",
        "cant breathe",
        "cannot breathe",
        "can not breathe",
        "struggling to breathe",
        "gurgling",
        "no respira",
        "no esta respirando",
        "dejo de respirar",
        "no puede respirar",
        "casi no respira",
    ),
    *_terms("breathing", "breathing", "respira", "respirando", needs_cue=_BREATHING_CUES),
    # Unresponsive.
    *_terms(
        "unresponsive",
        "unresponsive",
        "unconscious",
        "not responsive",
        "not responding",
        "wont wake up",
        "wont wake",
        "cant wake",
        "cannot wake",
        "can not wake",
        "not waking up",
        "hard to wake",
        "difficult to wake",
        "barely conscious",
        "wont respond",
        "inconsciente",
        "no despierta",
        "no se despierta",
        "no reacciona",
        "no responde",
        "no lo puedo despertar",
        "no la puedo despertar",
        "no puedo despertarlo",
        "no puedo despertarla",
        "desmayado",
        "desmayada",
    ),
    # Cyanosis.
    *_terms(
        "blue_lips",
        "blue lips",
        "lips are blue",
        "lips turning blue",
        "lips turned blue",
        "turning blue",
        "turned blue",
        "labios morados",
        "labios azules",
        "se puso morado",
        "se puso morada",
    ),
    # Seizure. "seizing" is exact: one typo away from "sizing".
    *_terms(
        "seizure",
        "seizure",
        "seizures",
        "convulsing",
        "convulsions",
        "convulsion",
        "convulsiones",
        "convulsionando",
        "ataque epileptico",
    ),
    *_terms("seizure", "seizing", fuzzy=False),
    # Suicide and self-harm.
    *_terms(
        "suicide",
        "suicide",
        "suicidal",
        "kill myself",
        "killing myself",
        "kill himself",
        "kill herself",
        "kill themselves",
        "want to die",
        "wants to die",
        "wanna die",
        "end my life",
        "end his life",
        "end her life",
        "take my life",
        "take my own life",
        "take his own life",
        "take her own life",
        "end it all",
        "better off dead",
        "hurt myself",
        "harm myself",
        "self harm",
        "suicidio",
        "suicida",
        "suicidarme",
        "suicidarse",
        "matarme",
        "matarse",
        "quiero morir",
        "quiero morirme",
        "quiere morir",
        "quiere morirse",
        "quitarme la vida",
        "quitarse la vida",
        "acabar con mi vida",
        "hacerme dano",
    ),
    # Said outright.
    *_terms("emergency", "emergency", "emergencia", "911", **_EMERGENCY_WORD_OPTIONS),
)

# The noun each topic's reason names: "Message mentions an overdose ('OD'd')".
EMERGENCY_TOPICS: Mapping[str, str] = MappingProxyType(
    {
        "overdose": "an overdose",
        "breathing": "someone not breathing",
        "unresponsive": "someone unresponsive",
        "blue_lips": "blue lips",
        "seizure": "a seizure",
        "suicide": "suicide or self-harm",
        "emergency": "an emergency",
    }
)

# Topics that call for the 988 Suicide & Crisis Lifeline rather than 911 alone.
SUICIDE_TOPICS = frozenset({"suicide"})

WITHDRAWAL_TERMS: tuple[Term, ...] = (
    *_terms(
        "withdrawal",
        "withdrawal",
        "withdrawals",
        "withdrawl",
        "dope sick",
        "dopesick",
        "sick from",
        "detoxing",
        "cold turkey",
        "abstinencia",
        "malilla",
        "sindrome de abstinencia",
    ),
)

# Asking only for information: "just information", "for a school project".
INFO_ONLY_TERMS: tuple[Term, ...] = _terms(
    "info_only",
    "just information",
    "just info",
    "just some information",
    "just looking",
    "just curious",
    "information only",
    "brochure",
    "brochures",
    "pamphlet",
    "school project",
    "research project",
    "for a class",
    "for school",
    "insurance question",
    "question about insurance",
    "questions about insurance",
    "solo informacion",
    "solo quiero informacion",
    "folleto",
    "proyecto escolar",
    "proyecto de la escuela",
    "pregunta sobre seguro",
    "pregunta sobre el seguro",
    "pregunta de seguro",
    fuzzy=False,
)

# Free-text mentions of the opioids that make an overdose likelier; topic = substance.
HIGH_RISK_SUBSTANCE_TERMS: tuple[Term, ...] = (
    *_terms("fentanyl", "fentanyl", "fentanilo", "fent", "fetty", "carfentanil"),
    *_terms("heroin", "heroin", "heroina", "chiva"),
    *_terms("xylazine", "xylazine", "tranq"),
)

# Substance keys from the form (SPEC §2b) that raise the score.
HIGH_RISK_SUBSTANCES = frozenset({"fentanyl", "heroin"})

# Words that cancel a term when they come shortly before it, in the same clause.
NEGATORS = frozenset(
    {
        "no",
        "not",
        "never",
        "isnt",
        "wasnt",
        "arent",
        "werent",
        "dont",
        "doesnt",
        "didnt",
        "hasnt",
        "havent",
        "hadnt",
        "without",
        "nor",
        "nunca",
        "jamas",
        "sin",
        "ni",
    }
)

# Doubt, not denial: "not sure if he overdosed" still counts, so the negation scan stops here.
UNCERTAINTY_WORDS = frozenset({"if", "whether", "sure", "know", "knew", "si", "seguro", "seguros"})

# Words that start a new clause, so a negation before them does not reach past them.
CLAUSE_WORDS = frozenset(
    {"but", "though", "although", "however", "and", "then", "pero", "aunque", "sino", "y", "luego"}
)

# Real words one typo from a term; never read them as that term.
NEAR_MISSES = frozenset(
    {
        "overdo",
        "overdoes",
        "overdoing",
        "overdone",
        "overdue",
        "overdues",
        "overrode",
        "withdraw",
        "withdrawn",
        "withdraws",
        "withdrew",
        "responsive",
        "suites",
        "sizing",
        "breaking",
        "matarte",  # "kill you": alarming, but not self-harm
    }
)
