"""Opioid use disorder severity from the DSM-5 criteria a person ticks on the checklist."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType


def N_(message: str) -> str:
    """Mark ``message`` for the gettext catalogs; translated where it is shown (no Flask here)."""
    return message


DSM_CRITERIA: tuple[str, ...] = (
    "larger_or_longer",
    "cannot_cut_down",
    "time_spent",
    "cravings",
    "role_failure",
    "social_problems",
    "activities_given_up",
    "hazardous_use",
    "physical_or_psychological_harm",
    "tolerance",
    "withdrawal",
)

# Checklist wording: plain questions about the past twelve months, for self or loved one.
# English; N_ marks each for the gettext catalogs, which the pages translate from.
DSM_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "larger_or_longer": N_("Ends up using more, or for longer, than planned"),
        "cannot_cut_down": N_("Has wanted or tried to cut down or stop, without success"),
        "time_spent": N_("Spends a lot of time getting, using, or recovering from opioids"),
        "cravings": N_("Has strong urges or cravings to use"),
        "role_failure": N_("Use gets in the way of work, school, or responsibilities at home"),
        "social_problems": N_("Keeps using even though it causes trouble with family or friends"),
        "activities_given_up": N_("Has dropped hobbies, work, or social activities because of use"),
        "hazardous_use": N_("Uses in risky situations, such as before driving"),
        "physical_or_psychological_harm": N_(
            "Keeps using despite health or mental health problems it causes or worsens"
        ),
        "tolerance": N_("Needs more to feel the same effect, or the same amount does less"),
        "withdrawal": N_("Feels sick (sweats, aches, nausea) when not using, or uses to avoid that"),
    }
)


SEVERITY_LEVELS = ("none", "mild", "moderate", "severe")

# Lowest criteria count for each level (DSM-5: 2-3 mild, 4-5 moderate, 6+ severe).
_SEVERITY_THRESHOLDS = (("severe", 6), ("moderate", 4), ("mild", 2))

_LEVEL_OF_CARE: Mapping[str, str] = MappingProxyType(
    {
        "none": "information only",
        "mild": "outpatient",
        "moderate": "intensive outpatient",
        "severe": "inpatient",
    }
)


def count_criteria(criteria: Iterable[str]) -> int:
    """Count the distinct known DSM-5 criteria in an iterable of keys."""
    if isinstance(criteria, str):  # one key, not an iterable of characters
        criteria = (criteria,)
    return len(set(criteria) & set(DSM_CRITERIA))


def severity_for(criteria: Iterable[str]) -> str:
    """Return none/mild/moderate/severe for the criteria met (unknown keys ignored)."""
    met = count_criteria(criteria)
    for level, minimum in _SEVERITY_THRESHOLDS:
        if met >= minimum:
            return level
    return "none"


def suggested_level_of_care(severity: str) -> str:
    """Return a level-of-care prompt for the advisor; the assessment decides, not this."""
    try:
        return _LEVEL_OF_CARE[severity]
    except KeyError:
        raise ValueError(f"unknown severity {severity!r}; expected one of {SEVERITY_LEVELS}") from None
