"""Settings, the run plan, figures and small helpers shared by every part of the benchmark."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GUNICORN_OPTIONS = ["--workers", "2", "--threads", "4", "--worker-class", "gthread", "--preload"]
CELERY_OPTIONS = ["--pool", "prefork", "--concurrency", "2", "--loglevel", "INFO", "--without-mingle"]
TWILIO_TOKEN = "bench0twilio0auth0token000000000"
PUBLIC_BASE_URL = "https://bench.leadrouter.invalid"
HELPLINE = "+18005550100"
STATES = ("TX", "CA", "FL", "NY", "PA", "OH", "IL", "GA", "NC", "MI")
SUBSTANCES = (["alcohol"], ["prescription_opioids"], ["methamphetamine"], ["cocaine"], ["fentanyl"], [])
MESSAGES = (
    None,
    "Looking for outpatient options for my brother.",
    "My mother drinks every day and we want to talk about treatment.",
    "Please call me back about detox programs.",
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
KEYS = 8  # partner keys for the diagnostic search and every phase after the headline one


def say(message: str = "") -> None:
    print(message, flush=True)


# --- the durations of a full run and of --quick -------------------------------------------


@dataclass(frozen=True)
class Plan:
    probe_seconds: float
    warmup_seconds: float
    bisect_steps: int
    phase_seconds: float
    assign_rate: int
    embedded_assign_rate: int
    burst_leads: int
    burst_seconds: float
    voice_rate: int
    cpu_leads: int
    soak_seconds: float
    report_runs: int
    query_runs: int
    big_leads: int
    quick: bool = False
    repetitions: int = 3  # runs behind every verdict (bench/harness/judging.py); --quick makes 1


def make_plan(quick: bool, soak_seconds: float | None) -> Plan:
    if quick:
        return Plan(4, 1, 2, 6, 200, 50, 2000, 2, 50, 800, soak_seconds or 60, 5, 150, 1_000_000, True, 1)
    return Plan(10, 2, 4, 20, 200, 50, 10_000, 10, 50, 3000, soak_seconds or 600, 20, 400, 1_000_000)


# --- figures ---------------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    value: str
    floor: str = "-"
    ratio: str = "-"
    target: str = "-"
    verdict: str = "-"  # met | missed | not judged | not measured | info
    note: str = ""
    caveat: str = ""  # why a "not judged" figure could not be judged


def verdict(ok: bool | None) -> str:
    if ok is None:
        return "not measured"
    return "met" if ok else "missed"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[index]


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds == float("inf"):
        return "inf"
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"
