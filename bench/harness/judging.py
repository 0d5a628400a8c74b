"""How much a figure must rest on before it is judged: probe sizes, repetitions, spreads, labels.

Pure: no processes, no I/O. A p99 over 100 requests is decided by one slow request, so every
max-rate probe sends at least MIN_PROBE_REQUESTS (or runs MAX_PROBE_SECONDS at low rates),
every verdict is the median of REPETITIONS runs with their spread shown, and a figure that
rests on less (as --quick's do) is reported as measured but not judged, with the reason.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

MIN_PROBE_REQUESTS = 2_000
MAX_PROBE_SECONDS = 20.0
REPETITIONS = 3
# A percentile is judged only when at least this many samples lie beyond it: the p99 of
# 1,000 requests is decided by its 10 slowest, not by one.
MIN_TAIL_SAMPLES = 10
NOT_JUDGED = "not judged"


def probe_seconds(rate: float, planned: float, quick: bool) -> float:
    """How long a max-rate probe at `rate` runs: enough requests for its p99, unless --quick."""
    if quick or rate <= 0:
        return planned
    return max(planned, min(MIN_PROBE_REQUESTS / rate, MAX_PROBE_SECONDS))


def samples_needed(fraction: float) -> int:
    """The fewest samples whose `fraction` percentile has MIN_TAIL_SAMPLES beyond it."""
    return int(round(MIN_TAIL_SAMPLES / (1 - fraction)))


@dataclass(frozen=True)
class Spread:
    """Repeated measurements of one figure: the median is the figure, low-high its spread."""

    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        if not values:
            raise ValueError("a spread needs at least one value")
        return cls(statistics.median(values), min(values), max(values), len(values))

    def show(self, unit=lambda value: f"{value:g}") -> str:
        """'12.0 ms (median of 3, range 10.1 ms to 15.3 ms)'; a single run says it is one."""
        if self.runs == 1:
            return f"{unit(self.median)} (1 run)"
        return f"{unit(self.median)} (median of {self.runs}, range {unit(self.low)} to {unit(self.high)})"


def cannot_judge(*, runs: int, samples: int, fraction: float | None) -> str | None:
    """Why a figure resting on `runs` runs of `samples` samples each cannot be judged, or None."""
    reasons = []
    if runs < REPETITIONS:
        reasons.append(f"{runs} run{'s' if runs != 1 else ''} (a verdict needs the median of {REPETITIONS})")
    if fraction is not None and samples < samples_needed(fraction):
        beyond = max(1, int(samples * (1 - fraction)))
        reasons.append(
            f"p{fraction * 100:g} of {samples:,} samples is decided by its {beyond} slowest "
            f"(needs {samples_needed(fraction):,})"
        )
    return "; ".join(reasons) or None


def judged(ok: bool | None, *, runs: int, samples: int, fraction: float | None) -> tuple[str, str | None]:
    """The verdict of a figure and, when it rests on too little to be judged, why."""
    if ok is None:
        return "not measured", None
    reason = cannot_judge(runs=runs, samples=samples, fraction=fraction)
    if reason is not None:
        return NOT_JUDGED, reason
    return ("met" if ok else "missed"), None


def size_label(leads: int) -> str:
    """A database's size as the report row names it: the real count, never a rounded promise."""
    if leads >= 1_000_000 and leads % 1_000_000 == 0:
        return f"{leads // 1_000_000}M leads"
    return f"{leads:,} leads"


def run_seconds(rate: float, planned: float, runs: int, quick: bool, fraction: float = 0.99) -> float:
    """How long each of `runs` runs of a phase lasts so that, pooled, its percentile can be judged."""
    if quick or rate <= 0:
        return planned
    return max(planned, samples_needed(fraction) / rate / max(1, runs))


def median_sustained(p99s: list[float], failed: list[bool], limit: float) -> bool:
    """Whether repeated probes at one rate sustain it: median p99 within the limit, most runs clean."""
    if not p99s:
        return False
    return statistics.median(p99s) <= limit and sum(failed) * 2 < len(failed)
