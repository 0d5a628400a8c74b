"""Call figures as mergeable counts: any split of the calls, merged, gives call_figures of them all."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadrouter.routing.call_tally import CallTally
from leadrouter.routing.calls import CallRecord, call_figures

START = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)

calls = st.lists(
    st.builds(
        lambda offset, waited, outcome, offers: CallRecord(
            START + timedelta(seconds=offset),
            None if waited is None or outcome != "answered" else START + timedelta(seconds=offset + waited),
            outcome,
            offers,
        ),
        st.integers(0, 86400),
        st.one_of(st.none(), st.floats(0, 120, allow_nan=False).map(lambda s: round(s, 6))),
        st.sampled_from(("answered", "abandoned", "voicemail", "callback", "in_progress", "crisis_line")),
        st.integers(0, 4),
    ),
    max_size=30,
)


@given(calls, st.integers(0, 30))
def test_a_merged_split_gives_the_figures_of_all_the_calls(records, cut):
    left, right = CallTally.of(records[:cut]), CallTally.of(records[cut:])
    merged = CallTally.from_list(left.to_list()).merge(CallTally.from_list(right.to_list()))
    assert merged == CallTally.of(records)
    ours, theirs = merged.figures(), call_figures(records)
    # The mean wait is summed in whole microseconds here, in float seconds there.
    assert ours.average_speed_of_answer_seconds == pytest.approx(theirs.average_speed_of_answer_seconds)
    assert replace(ours, average_speed_of_answer_seconds=None) == replace(
        theirs, average_speed_of_answer_seconds=None
    )


def test_a_call_recorded_as_missed_went_to_voicemail():
    tally = CallTally.of([CallRecord(START, None, "missed", 2)])
    assert (tally.inbound, tally.voicemail, tally.offers) == (1, 1, 0), "offers count on answered calls only"


def test_offers_per_answered_call_counts_the_answered_calls_offers_only():
    answered = CallRecord(START, START + timedelta(seconds=8), "answered", 2)
    unanswered = [CallRecord(START, None, "abandoned", 5), CallRecord(START, None, "voicemail", 3)]
    figures = CallTally.of([answered, *unanswered]).figures()
    assert (
        figures.offers_per_answered_call
        == 2.0
        == call_figures([answered, *unanswered]).offers_per_answered_call
    )


def test_no_calls_give_no_rates():
    figures = CallTally().figures()
    assert figures.inbound == 0
    assert figures.service_level_20s is None and figures.abandonment_rate is None
    assert figures.average_speed_of_answer_seconds is None and figures.offers_per_answered_call is None
