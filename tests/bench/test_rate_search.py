"""The max-rate search keeps a rate only when the median of 3 probes sustains it (bench/harness/stack.py)."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

from bench.harness.stack import confirm_rate, search_max_rate


@dataclass
class Probe:
    """A probe's outcome as the search reads it: the p99, errors, whether the client fell behind."""

    rate: float
    p99: float
    errors: collections.Counter = field(default_factory=collections.Counter)
    aborted: bool = False

    def pct(self, _fraction: float) -> float:
        return self.p99

    def sustained(self, limit: float) -> bool:
        return not self.aborted and not self.errors and self.p99 <= limit

    def summary(self) -> str:
        return f"{self.rate}/s p99 {self.p99}"


def scripted(p99s_by_rate: dict[float, list[float]]):
    """A probe whose successive runs at a rate return the scripted p99s; records every call."""
    calls: list[float] = []
    served = collections.Counter()

    def probe(rate: float) -> Probe:
        calls.append(rate)
        values = p99s_by_rate[rate]
        value = values[min(served[rate], len(values) - 1)]
        served[rate] += 1
        return Probe(rate, value)

    return probe, calls


def test_one_slow_run_out_of_three_does_not_lower_the_rate():
    probe, calls = scripted({400: [0.020, 0.300, 0.030]})

    rate, results = confirm_rate(probe, 400, limit_p99=0.050, runs=3)

    assert rate == 400 and calls == [400, 400, 400] and len(results) == 3


def test_a_rate_the_median_run_misses_is_lowered_by_a_tenth_until_it_holds():
    probe, calls = scripted({400: [0.060, 0.070, 0.020], 360: [0.030, 0.040, 0.045]})

    rate, results = confirm_rate(probe, 400, limit_p99=0.050, runs=3)

    assert rate == 360 and calls == [400] * 3 + [360] * 3
    assert [result.rate for result in results] == [360, 360, 360]


def test_a_rate_never_sustained_reports_zero_with_the_last_runs_as_evidence():
    probe, calls = scripted({100: [0.2], 90: [0.2], 81: [0.2]})

    rate, results = confirm_rate(probe, 100, limit_p99=0.050, runs=3)

    assert rate == 0 and len(calls) == 9 and [r.rate for r in results] == [81, 81, 81]


def test_the_search_doubles_then_bisects_towards_the_best_sustained_rate():
    calls: list[float] = []

    def probe(rate: float) -> Probe:  # the stack holds up to 300/s
        calls.append(rate)
        return Probe(rate, 0.010 if rate <= 300 else 0.200)

    best, history = search_max_rate(probe, start=100, limit_p99=0.050, steps=4)

    assert calls[:3] == [100, 200, 400]  # doubling until the p99 breaks
    assert calls[3:] == [300, 350, 325, 312]  # then bisection between 200 and 400
    assert best == 300 and len(history) == len(calls)
