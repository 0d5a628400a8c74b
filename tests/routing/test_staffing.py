"""Erlang C against textbook figures and its own invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadrouter.routing.staffing import advisors_needed, erlang_c, service_level


def _closed_form(traffic: float, agents: int) -> float:
    """Erlang C straight from its textbook formula, as an oracle."""
    top = traffic**agents / math.factorial(agents) * agents / (agents - traffic)
    return top / (sum(traffic**k / math.factorial(k) for k in range(agents)) + top)


@pytest.mark.parametrize(("traffic", "agents"), [(10, 13), (2.5, 4), (24, 28), (0.5, 1)])
def test_erlang_c_matches_the_closed_form(traffic, agents):
    assert erlang_c(traffic, agents) == pytest.approx(_closed_form(traffic, agents), rel=1e-9)


def test_the_worked_example():
    # 100 calls per half hour of 180 s = 10 Erlangs; 13 advisors answer 79.6% within 20 s,
    # so 80/20 needs 14.
    assert erlang_c(10, 13) == pytest.approx(0.2853, abs=1e-4)
    assert service_level(200, 180, 13, 20) == pytest.approx(0.7956, abs=1e-4)
    need = advisors_needed(200, 180, target_seconds=20, target_share=0.8)
    assert need.agents == 14 and need.service_level >= 0.8


def test_no_calls_need_no_one():
    assert advisors_needed(0, 600).agents == 0


def test_too_few_agents_means_everyone_waits():
    assert erlang_c(5, 5) == 1.0 and service_level(300, 60, 5, 20) == 0.0


@given(
    arrivals=st.floats(min_value=0.5, max_value=400),
    handle=st.floats(min_value=30, max_value=1800),
    target=st.floats(min_value=0.5, max_value=0.95),
)
def test_the_answer_is_the_fewest_advisors_that_meet_the_target(arrivals, handle, target):
    need = advisors_needed(arrivals, handle, target_seconds=30, target_share=target)
    assert need.service_level >= target
    if need.agents > 1:
        assert service_level(arrivals, handle, need.agents - 1, 30) < target


@given(agents=st.integers(min_value=1, max_value=60), traffic=st.floats(min_value=0.1, max_value=59))
def test_waiting_probability_is_a_probability_and_falls_with_more_agents(agents, traffic):
    assert 0.0 <= erlang_c(traffic, agents) <= 1.0
    assert erlang_c(traffic, agents + 1) <= erlang_c(traffic, agents) + 1e-12


def test_a_staffing_gap_says_short_even_or_spare():
    from leadrouter.routing.staffing import StaffingGap

    assert (StaffingGap(needed=3, scheduled=1).state, StaffingGap(needed=3, scheduled=1).difference) == (
        "short",
        -2,
    )
    assert StaffingGap(needed=2, scheduled=2).state == "even"
    assert StaffingGap(needed=0, scheduled=4).state == "spare"
