"""Severity from DSM-5 criteria counts, and the level-of-care prompt."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadrouter.routing.severity import (
    DSM_CRITERIA,
    DSM_LABELS,
    count_criteria,
    severity_for,
    suggested_level_of_care,
)


def test_criteria_keys_match_the_spec():
    assert DSM_CRITERIA == (
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


def test_every_criterion_has_a_plain_label():
    assert set(DSM_LABELS) == set(DSM_CRITERIA)
    for label in DSM_LABELS.values():
        assert label and label[0].isupper()
        assert "_" not in label


@pytest.mark.parametrize(
    ("count", "severity"),
    [(0, "none"), (1, "none"), (2, "mild"), (3, "mild"), (4, "moderate"), (5, "moderate")]
    + [(n, "severe") for n in range(6, 12)],
)
def test_severity_bands(count, severity):
    assert severity_for(DSM_CRITERIA[:count]) == severity


def test_duplicates_count_once():
    assert severity_for(["cravings", "cravings", "cravings", "tolerance"]) == "mild"
    assert count_criteria(["cravings"] * 6) == 1


def test_unknown_keys_are_ignored():
    assert severity_for(["cravings", "nonsense", "also_nonsense", "Tolerance"]) == "none"


def test_accepts_any_iterable_and_a_single_key():
    assert severity_for(frozenset(DSM_CRITERIA[:4])) == "moderate"
    assert severity_for(c for c in DSM_CRITERIA[:6]) == "severe"
    assert severity_for("withdrawal") == "none"
    assert count_criteria("withdrawal") == 1


@pytest.mark.parametrize(
    ("severity", "care"),
    [
        ("none", "information only"),
        ("mild", "outpatient"),
        ("moderate", "intensive outpatient"),
        ("severe", "inpatient"),
    ],
)
def test_suggested_level_of_care(severity, care):
    assert suggested_level_of_care(severity) == care


def test_unknown_severity_is_an_error():
    with pytest.raises(ValueError, match="unknown severity"):
        suggested_level_of_care("extreme")


@given(st.lists(st.sampled_from(DSM_CRITERIA)), st.sampled_from(DSM_CRITERIA))
def test_adding_a_criterion_never_lowers_severity(criteria, extra):
    order = ("none", "mild", "moderate", "severe")
    before = order.index(severity_for(criteria))
    after = order.index(severity_for([*criteria, extra]))
    assert after >= before
