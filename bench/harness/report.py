"""bench/RESULTS.md: the machine, the figures table and the notes."""

from __future__ import annotations

import os
import platform
from datetime import datetime
from pathlib import Path

from bench.harness.common import CELERY_OPTIONS, GUNICORN_OPTIONS, Figure

# --- the report ------------------------------------------------------------------------------


def machine() -> dict:
    memory = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        "?",
    )
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    kib = int(memory.split()[0]) if memory != "?" else 0
    return {
        "nproc": os.cpu_count(),
        "memory": f"{kib / 1024 / 1024:.1f} GiB" if kib else memory,
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }


ANALYSIS_HEADING = "## Analysis"
BOUNDS_HEADING = "## What bounds each missed row"


def bounds_section(figures: list[Figure], raw: dict, info: dict, profiles: dict) -> list[str]:
    """The bounds of the missed rows (bench/harness/bounds.py); never loses the report to a bug there."""
    try:
        from bench.harness.bounds import bounds_markdown

        text = bounds_markdown(figures, raw, info.get("nproc") or os.cpu_count() or 1, profiles)
    except Exception as error:  # noqa: BLE001  (the report must be written whatever happens here)
        text = f"bounds could not be computed: {type(error).__name__}: {error}"
    return [BOUNDS_HEADING, "", text, ""] if text else []


def table(figures: list[Figure]) -> str:
    lines = [
        "| figure | measured | floor (same run) | ratio | target | result |",
        "|---|---|---|---|---|---|",
    ]
    for figure in figures:
        lines.append(
            f"| {figure.name} | {figure.value} | {figure.floor} | {figure.ratio} | {figure.target} | "
            f"**{figure.verdict}** |"
        )
    return "\n".join(lines)


def write_results(
    path: Path,
    command: str,
    started: datetime,
    elapsed: float,
    info: dict,
    figures: list[Figure],
    notes: list[str],
    profiles: dict,
    raw: dict | None = None,
) -> None:
    met = [f.name for f in figures if f.verdict == "met"]
    missed = [f.name for f in figures if f.verdict == "missed"]
    unmeasured = [f.name for f in figures if f.verdict == "not measured"]
    unjudged = [f for f in figures if f.verdict == "not judged"]
    out = [
        "# Benchmark results",
        "",
        "Written by `bench/run.py`; rerun it to replace this file.",
        "",
        f"- command: `{command}`",
        f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')} ({elapsed / 60:.0f} min)",
        f"- machine: {info['nproc']} cores ({info['cpu']}), {info['memory']} memory, Linux {info['kernel']}, "
        f"Python {info['python']}; load average at start {' '.join(info['loadavg'])}, at the end "
        f"{' '.join(info.get('loadavg_end') or Path('/proc/loadavg').read_text().split()[:3])}",
        f"- stack: gunicorn `{' '.join(GUNICORN_OPTIONS)}` on 127.0.0.1; one Celery worker "
        f"`{' '.join(CELERY_OPTIONS[:4])}`; PostgreSQL on 127.0.0.1, a private redis-server; the load "
        "generator (asyncio + aiohttp, open loop) runs on the same 2 cores",
        "",
        f"**{len(met)} met, {len(missed)} missed, {len(unjudged)} measured but not judged, "
        f"{len(unmeasured)} not measured.**",
        "",
        table(figures),
        "",
    ]
    if unjudged:
        out += [
            "## What this run cannot judge",
            "",
            "A verdict is the median of 3 runs, and a p99 needs 1,000 requests so that its 10 slowest "
            "decide it, not one (bench/harness/judging.py). These figures rest on less: they are "
            "measured and shown, and judged by a full run only.",
            "",
        ]
        out += [f"- **{figure.name}**: {figure.caveat}" for figure in unjudged]
        out.append("")
    out += bounds_section(figures, raw or {}, info, profiles)
    out += [
        "## Details",
        "",
    ]
    for figure in figures:
        if figure.note:
            out.append(f"- **{figure.name}**: {figure.note}")
    if notes:
        out += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    if profiles:
        out += [
            "",
            "## Profiles (py-spy, 200 Hz, during a dedicated load phase)",
            "",
            'Only samples inside a request (`wsgi_app`) or a task (`FlaskTask.__call__`) count. "Wall '
            "clock\" includes waiting (`--idle`): `Connection.wait` there is waiting for PostgreSQL's "
            'reply. "GIL held" (`--gil`) keeps only samples of a thread holding the GIL: Python CPU.',
            "",
        ]
        for label, summary in profiles.items():
            out.append(f"### {label}, at {summary.get('rate', '?')} leads/s ({summary['samples']} samples)")
            out.append("")
            out.append(
                "Self time by layer: "
                + ", ".join(f"{layer} {share:.0%}" for layer, share in summary["self_by_layer"])
            )
            out.append("")
            out.append(
                "Hottest leaf frames: "
                + ", ".join(f"`{name}` {share:.0%}" for name, share in summary["leaves"])
            )
            out.append("")
            out.append("leadrouter functions, inclusive time:")
            out.append("")
            for name, share in summary["leadrouter_inclusive"]:
                out.append(f"- {share:.0%} `{name}`")
            out.append("")
    out += [
        "",
        "## How the figures are measured",
        "",
        "- Open loop: request i is sent at t0 + i/rate by an asyncio scheduler (aiohttp, up to 64 "
        "connections) "
        "whatever the earlier ones are doing; latency runs from the intended send time, so queueing in "
        "the client "
        "or the server is counted. Every latency is kept and percentiles are read from the sorted samples.",
        "- Max sustained rate: probes of a fixed length at a constant rate, doubling from the start rate "
        "until p99 "
        "exceeds 50 ms (or any error, or the client falls 2 s behind), then bisection. The same search is "
        "run on "
        "the floor app. The intake search runs with the Celery worker stopped (routing tasks queue in the "
        "broker "
        "and are purged after), so web tier and floor are compared like for like; every later figure runs "
        "with "
        "the worker routing each lead.",
        "- Lead created -> assigned: `leads.assigned_at - leads.created_at` from the database (intake stamps "
        "created_at, the routing task stamps assigned_at when it starts routing); the client-side figure "
        "in the "
        "details runs from the intended send time. The floor is a no-op task published at the same rate "
        "on the "
        "same broker and run by a worker with the same settings (publish -> start).",
        "- Queue page: `queue_page(owner)` + `queue_counts(owner, now)` (what the advisor's queue shows) "
        "in-process on the 1M and 10k databases, random owners with open leads; floor: one primary-key "
        "lookup "
        "through the same session.",
        "- Memory: VmRSS from /proc of each gunicorn worker and Celery pool process. CPU: utime+stime from "
        "/proc of gunicorn, Celery, the PostgreSQL backends of the bench database plus its WAL writer, "
        "checkpointer and background writer, and the private redis-server, over a fixed number of leads.",
    ]
    previous = path.read_text() if path.exists() else ""
    if ANALYSIS_HEADING in previous:
        # The hand-written analysis of a run survives a rerun; it names the run it was written for.
        out += ["", previous[previous.index(ANALYSIS_HEADING) :].rstrip()]
    path.write_text("\n".join(out) + "\n")
