"""The benchmark's rules for judging a figure (bench/harness/judging.py): pure, no stack needed."""

from __future__ import annotations

import pytest

from bench.harness.judging import (
    MAX_PROBE_SECONDS,
    MIN_PROBE_REQUESTS,
    NOT_JUDGED,
    Spread,
    cannot_judge,
    judged,
    probe_seconds,
    samples_needed,
    size_label,
)


@pytest.mark.parametrize("rate", [100, 200, 400, 800, 1600])
def test_a_full_run_probe_sends_at_least_2000_requests_once_the_rate_allows_it_in_20_s(rate):
    seconds = probe_seconds(rate, planned=10, quick=False)

    assert rate * seconds >= MIN_PROBE_REQUESTS
    assert seconds >= 10


@pytest.mark.parametrize("rate", [10, 25, 50])
def test_at_low_rates_a_probe_runs_20_seconds_rather_than_minutes(rate):
    assert probe_seconds(rate, planned=10, quick=False) == MAX_PROBE_SECONDS


def test_quick_keeps_its_short_probes():
    assert probe_seconds(25, planned=4, quick=True) == 4


def test_a_p99_needs_1000_samples_and_a_p50_20():
    assert samples_needed(0.99) == 1000
    assert samples_needed(0.5) == 20


def test_a_p99_of_a_hundred_requests_cannot_be_judged_and_says_why():
    reason = cannot_judge(runs=3, samples=100, fraction=0.99)

    assert reason == "p99 of 100 samples is decided by its 1 slowest (needs 1,000)"


def test_one_run_cannot_be_judged_even_with_samples_enough():
    assert cannot_judge(runs=1, samples=5000, fraction=0.99) == "1 run (a verdict needs the median of 3)"


def test_three_runs_of_enough_samples_are_judged():
    assert judged(True, runs=3, samples=2000, fraction=0.99) == ("met", None)
    assert judged(False, runs=3, samples=2000, fraction=0.99) == ("missed", None)


def test_a_figure_resting_on_too_little_is_not_judged_whatever_it_measured():
    for ok in (True, False):
        verdict, reason = judged(ok, runs=1, samples=240, fraction=0.99)
        assert verdict == NOT_JUDGED
        assert "1 run" in reason and "240 samples" in reason


def test_nothing_measured_stays_not_measured():
    assert judged(None, runs=0, samples=0, fraction=0.99) == ("not measured", None)


def test_a_spread_is_the_median_with_its_lowest_and_highest_run():
    spread = Spread.of([15.3, 10.1, 12.0])

    assert (spread.median, spread.low, spread.high, spread.runs) == (12.0, 10.1, 15.3, 3)
    assert spread.show(lambda v: f"{v:.1f} ms") == "12.0 ms (median of 3, range 10.1 ms to 15.3 ms)"
    assert Spread.of([7.0]).show(lambda v: f"{v:.0f}/s") == "7/s (1 run)"
    with pytest.raises(ValueError):
        Spread.of([])


def test_a_single_slow_run_does_not_decide_the_median():
    assert Spread.of([0.012, 0.011, 0.090]).median == 0.012


@pytest.mark.parametrize(
    ("leads", "label"),
    [(1_000_000, "1M leads"), (2_000_000, "2M leads"), (998_765, "998,765 leads"), (10_000, "10,000 leads")],
)
def test_a_database_is_labelled_with_its_real_size(leads, label):
    assert size_label(leads) == label


def test_runs_of_a_low_rate_phase_together_hold_enough_requests_for_a_p99():
    from bench.harness.judging import run_seconds

    for rate in (10, 50, 200):
        seconds = run_seconds(rate, planned=20, runs=3, quick=False)
        assert seconds >= 20 and rate * seconds * 3 >= samples_needed(0.99)
    assert run_seconds(10, planned=6, runs=1, quick=True) == 6


def test_a_rate_is_sustained_by_the_median_run_not_by_the_luckiest_or_the_unluckiest():
    from bench.harness.judging import median_sustained

    assert median_sustained([0.020, 0.090, 0.030], [False, False, False], limit=0.050)
    assert not median_sustained([0.060, 0.020, 0.070], [False, False, False], limit=0.050)
    assert not median_sustained([0.010, 0.010, 0.010], [True, True, False], limit=0.050)
    assert not median_sustained([], [], limit=0.050)
