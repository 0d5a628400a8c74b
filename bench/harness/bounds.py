"""What bounds each missed row of RESULTS.md: the arithmetic on figures measured in the same run.

Pure: no processes, no I/O. Every function takes the figures and the passes' raw dicts (live, or
read back from a run's figures.json) and returns markdown. A figure the run did not measure gives
"not measured in this run", never an exception or a number typed in here: every cost below is
one the run measured (CPU from /proc, in-process service times, latencies, rates).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bench.harness.common import ms

NOT_MEASURED = "not measured in this run"
JUDGED = ("missed", "not judged")


class Missing(Exception):
    """A figure a bound rests on was not measured in this run."""


def need(data: dict | None, *keys: str):
    """data[k1][k2]...; Missing (naming the path) when any step is absent or None."""
    value = data
    for key in keys:
        if not isinstance(value, dict) or value.get(key) is None:
            raise Missing("/".join(keys))
        value = value[key]
    return value


def num(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}"


# --- the arithmetic (each one checked by tests/bench/test_bounds.py) --------------------------


def capacity(cores: int, cpu_ms_per_lead: float) -> float:
    """Leads/s that `cores` can serve when each lead costs `cpu_ms_per_lead` CPU-ms."""
    return cores * 1000 / cpu_ms_per_lead


def queue_wait(rate: float, capacity_: float, seconds: float, at: float) -> float:
    """Wait (s) of the lead arriving at fraction `at` of a phase whose arrivals outrun capacity.

    The backlog grows by (rate - capacity) leads/s; the lead arriving at t = at x seconds
    finds (rate - capacity) x t leads ahead of it, drained at `capacity` leads/s.
    """
    if capacity_ >= rate:
        return 0.0
    return (rate - capacity_) * at * seconds / capacity_


def burst_seconds(leads: int, cpu_ms_per_lead: float, cores: int) -> float:
    """The fewest seconds `leads` leads take when each costs `cpu_ms_per_lead` on `cores` cores."""
    return leads * cpu_ms_per_lead / (cores * 1000)


def intake_request_cpu(cpu: dict, work: dict) -> tuple[float, float]:
    """CPU-ms of one intake request (web + its share of PostgreSQL + Redis), and that share.

    PostgreSQL's CPU per lead pays for intake and routing; intake's share is its share of the
    statements of one lead (statements_per_lead). Redis is counted whole (publish and consume).
    """
    breakdown = need(cpu, "breakdown_ms")
    intake, routing = need(work, "intake", "statements"), need(work, "routing", "statements")
    share = intake / (intake + routing) if intake + routing else 0.0
    web = need(breakdown, "gunicorn") + need(breakdown, "postgres") * share + breakdown.get("redis", 0.0)
    return web, share


# --- one paragraph per kind of row ----------------------------------------------------------


def cpu_row(name: str, raw: dict, cores: int) -> str:
    rate = re.search(r"CPU per lead at (\d+)", name).group(1)
    cpu = need(raw, "production", "cpu_per_lead", rate)
    work = need(raw, "production", "statements_per_lead")
    breakdown = need(cpu, "breakdown_ms")
    total = need(cpu, "per_lead_ms")
    web, task = need(cpu, "floor_web_ms"), need(cpu, "floor_task_ms")
    floor = web + task
    intake, routing = need(work, "intake", "ms"), need(work, "routing", "ms")
    own = intake + routing
    parts = " + ".join(f"{group} {num(value)}" for group, value in breakdown.items())
    return (
        f"measured per lead at {rate}/s: {parts} = {num(total)} CPU-ms; floor: insert+commit view "
        f"{num(web)} + no-op task {num(task)} = {num(floor)} CPU-ms, so {num(total / floor, 1)}x "
        f"(target 2x = {num(2 * floor)} CPU-ms). What the floor does not pay, one lead in-process and "
        f"single-threaded: intake {num(intake, 1)} ms ({need(work, 'intake', 'statements'):.0f} "
        f"statements) + routing {num(routing, 1)} ms ({need(work, 'routing', 'statements'):.0f} "
        f"statements) = {num(own, 1)} ms of wall time (it includes waiting on PostgreSQL, so it bounds "
        f"their CPU from above); were it all CPU, floor + that = {num(floor + own)} ms = "
        f"{num((floor + own) / floor, 1)}x the floor"
        + (
            ": the work itself can take the lead past 2x."
            if own > floor
            else "; within 2x, so the rest of the gap is the stack around it (HTTP, broker, sessions)."
        )
    )


def assign_row(name: str, raw: dict, cores: int) -> str:
    rate = int(re.search(r"at (\d+) leads/s", name).group(1))
    production = need(raw, "production")
    cpu = need(production, "cpu_per_lead", "100")
    stack, client = need(cpu, "per_lead_ms"), need(cpu, "client_ms")
    cap = capacity(cores, stack + client)
    measured = need(production, "assign", str(rate))
    seconds = need(measured, "seconds")
    text = (
        f"{cores} cores x 1000 / ({num(stack)} CPU-ms per lead at 100/s + {num(client)} of the load "
        f"generator) = {num(cap, 0)} leads/s of capacity"
    )
    if cap < rate:
        leads = need(measured, "assigned") + need(measured, "unassigned")
        sent_for = min(seconds, leads / rate)  # the load generator stops when it falls 2 s behind
        median, last = (queue_wait(rate, cap, sent_for, at) for at in (0.5, 1.0))
        text += (
            f", below {rate}: a queue grows by {num(rate - cap, 0)} leads/s. This run sent {leads:,} leads "
            f"({num(sent_for, 1)} s at {rate}/s of the {seconds:g} s planned), so the median lead waits "
            f"~{ms(median)} and the last ~{ms(last)}; over the whole {seconds:g} s the median would wait "
            f"~{ms(queue_wait(rate, cap, seconds, 0.5))}, and it grows with the phase length. Part of that "
            "queue sits in front of intake, before created_at is stamped. Measured created -> assigned: p50 "
            f"{ms(need(measured, 'p50'))}, p99 {ms(need(measured, 'p99'))}; routing kept pace at "
            f"{num(need(measured, 'routed_rate'), 0)} leads/s."
        )
    else:
        text += (
            f", above {rate}: CPU alone does not stop it (measured p50 {ms(need(measured, 'p50'))}, p99 "
            f"{ms(need(measured, 'p99'))}); look at the profile and the no-op task floor."
        )
    gentle = [
        (int(key), value) for key, value in production.get("assign", {}).items() if not value.get("headline")
    ]
    for other, value in gentle:
        met = value["p50"] <= 0.050 and value["p99"] <= 0.250
        text += (
            f" At {other} leads/s (the diagnostic rate the intake sustains): p50 {ms(value['p50'])}, p99 "
            f"{ms(value['p99'])}, {'within' if met else 'not within'} the target."
        )
    return text


def burst_row(name: str, raw: dict, cores: int) -> str:
    burst = need(raw, "production", "burst")
    cpu = need(raw, "production", "cpu_per_lead", "100")
    leads, stack, client = need(burst, "leads"), need(cpu, "per_lead_ms"), need(cpu, "client_ms")
    alone, shared = burst_seconds(leads, stack, cores), burst_seconds(leads, stack + client, cores)
    return (
        f"{leads:,} leads x {num(stack)} CPU-ms per lead (at 100/s) / ({cores} x 1000) = >= "
        f"{num(alone, 1)} s; with the load generator's {num(client)} ms per lead on the same cores, "
        f">= {num(shared, 1)} s; target 40 s; measured: last assigned {num(need(burst, 'all_within'), 1)} s "
        f"after the first send ({need(burst, 'assigned'):,} assigned)"
        + (
            ": CPU alone rules the target out."
            if shared > 40
            else ": CPU alone allows the target; the rest is waiting (locks, queues), see the profile."
        )
    )


def intake_max_row(name: str, raw: dict, cores: int) -> str:
    production = need(raw, "production")
    cpu = need(production, "cpu_per_lead", "100")
    work = need(production, "statements_per_lead")
    request, share = intake_request_cpu(cpu, work)
    floor_request = need(cpu, "floor_web_ms")
    app_cap, floor_cap = capacity(cores, request), capacity(cores, floor_request)
    one, floor = need(production, "intake_max"), need(production, "floor_max")
    text = (
        f"CPU per intake request: gunicorn {num(cpu['breakdown_ms']['gunicorn'])} + PostgreSQL "
        f"{num(cpu['breakdown_ms']['postgres'])} x {share:.0%} (intake's share of a lead's statements) + "
        f"Redis {num(cpu['breakdown_ms'].get('redis', 0.0))} = {num(request)} CPU-ms, so max ~= {cores} x "
        f"1000 / {num(request)} = {num(app_cap, 0)} req/s; floor {cores} x 1000 / {num(floor_request)} = "
        f"{num(floor_cap, 0)} req/s; CPU bounds the ratio at {app_cap / floor_cap:.0%} (target 50%). "
        f"Measured: {one:.0f} vs {floor:.0f} req/s ({one / floor:.0%})"
        + (", far below the CPU bound: CPU is not what stops it here." if one < app_cap / 2 else ".")
    )
    many = production.get("intake_max_many_keys")
    if many is not None and one:
        serial = 1000 / need(work, "intake", "ms")
        text += (
            f" With 8 keys in rotation {many:.0f} req/s ({many / one:.1f}x one key): the per-key lock "
            f"serialises one key's requests; held for the whole intake ({num(need(work, 'intake', 'ms'), 1)} "
            f"ms in-process) it allows <= {num(serial, 0)} req/s per key."
        )
    return text


def intake_latency_row(name: str, raw: dict, cores: int) -> str:
    rate = re.search(r"at (\d+)/s", name).group(1)
    measured = need(raw, "production", "intake_latency", rate)
    own = need(raw, "production", "statements_per_lead", "intake", "ms") / 1000
    floor_p50, p50, p99 = need(measured, "floor_p50"), need(measured, "p50"), need(measured, "p99")
    bound = floor_p50 + own
    text = (
        f"lower bound for p50 = floor p50 {ms(floor_p50)} + intake's own in-process time {ms(own)} = "
        f"{ms(bound)}; the target 2x floor = {ms(2 * floor_p50)} is "
        + (
            "below that bound: out of reach unless intake costs less than the floor's own p50"
            if 2 * floor_p50 < bound
            else "above that bound: reachable in principle"
        )
        + f"; measured p50 {ms(p50)}. p99 {ms(p99)} vs 25 ms (floor p99 {ms(need(measured, 'floor_p99'))})."
    )
    return text


def memory_row(name: str, raw: dict, cores: int) -> str:
    production = need(raw, "production")
    libraries, pss = need(production, "memory_libraries_mb"), need(production, "memory_pss_web")
    text = (
        f"the libraries alone take {libraries:.0f} MB RSS in a fresh interpreter (before any leadrouter "
        f"code or request); target 80 MB PSS; measured PSS {pss:.0f} MB"
    )
    if production.get("memory_floor_web"):
        text += f"; the insert+commit floor's worker {production['memory_floor_web']:.0f} MB RSS"
    return text + (
        ": the libraries alone are over the target." if libraries > 80 else f", {80 - libraries:.0f} MB left."
    )


def embedded_max_row(name: str, raw: dict, cores: int) -> str:
    embedded = need(raw, "embedded")
    own = need(embedded, "statements_per_lead", "intake", "ms")
    bound = 1000 / own
    return (
        f"SQLite has one writer: each intake holds it ~{num(own, 1)} ms (in-process, single-threaded), so "
        f"the write path allows ~1000 / {num(own, 1)} = {num(bound, 0)} req/s; target 300 req/s"
        + (" (the bound is below it)" if bound < 300 else "")
        + f"; measured {need(embedded, 'intake_max'):.0f} req/s, the insert+commit floor "
        f"{need(embedded, 'floor_max'):.0f} req/s."
    )


def voice_row(name: str, raw: dict, cores: int) -> str:
    kind = "embedded" if "(embedded)" in name else "production"
    calls = (raw.get(kind) or {}).get("calls") or {}
    if name in calls:
        voice = calls[name]
    elif "holding" in name:
        raise Missing(f"{kind}/calls")
    else:
        voice = need(raw, kind, "voice")
    return (
        f"p99 {ms(need(voice, 'p99'))} vs the insert+commit floor's p99 {ms(need(voice, 'floor_p99'))} "
        f"at the same rate (p50 {ms(need(voice, 'p50'))} vs {ms(need(voice, 'floor_p50'))}); target 20 ms; "
        f"the webhook's in-process cost: {NOT_MEASURED}."
    )


RULES: list[tuple[Callable[[str], bool], Callable[[str, dict, int], str], tuple[str, ...]]] = [
    (lambda n: n.startswith("CPU per lead at"), cpu_row, ("gunicorn", "Celery")),
    (
        lambda n: n.startswith("lead created -> advisor assigned") and "diagnostic" not in n,
        assign_row,
        ("Celery",),
    ),
    (lambda n: n.startswith("burst:"), burst_row, ("Celery",)),
    (lambda n: n.startswith("intake API, PostgreSQL, one partner key"), intake_max_row, ("gunicorn",)),
    (lambda n: n.startswith("intake latency at"), intake_latency_row, ("gunicorn",)),
    (lambda n: n.startswith("memory PSS"), memory_row, ()),
    (lambda n: n.startswith("intake API on the embedded default"), embedded_max_row, ()),
    (lambda n: n.startswith(("/twilio/voice", "hold step")), voice_row, ("gunicorn",)),
]


def top_frames(profiles: dict, prefixes: tuple[str, ...], top: int = 3) -> str:
    """The hottest leadrouter frames (inclusive) of the profiles whose label starts with a prefix."""
    parts = []
    for label, summary in (profiles or {}).items():
        if label.startswith(prefixes) and summary.get("leadrouter_inclusive"):
            frames = ", ".join(
                f"`{frame}` {share:.0%}" for frame, share in summary["leadrouter_inclusive"][:top]
            )
            parts.append(f"{label}: {frames}")
    return " Profile, " + "; ".join(parts) + "." if parts else ""


def row_bound(name: str, raw: dict, cores: int, profiles: dict) -> str:
    for matches, rule, profile_prefixes in RULES:
        if matches(name):
            try:
                return rule(name, raw, cores) + top_frames(profiles, profile_prefixes)
            except Missing as missing:
                return f"{NOT_MEASURED} ({missing})."
            except Exception as error:  # noqa: BLE001  (one row's bug must not hide the others)
                return f"bounds could not be computed: {type(error).__name__}: {error}"
    return "no bound is computed for this row (bounds.py has no arithmetic for it); see its details."


def bounds_markdown(figures: list, raw: dict, cores: int, profiles: dict | None = None) -> str:
    """One short paragraph per missed (or, in --quick, not judged) row: costs, arithmetic, bound."""
    rows = [figure for figure in figures if figure.verdict in JUDGED]
    if not rows:
        return "No target row was missed."
    lines = [
        f"Each bound is computed from figures measured in this run on its {cores} cores "
        "(bench/harness/bounds.py). Rows not judged in this run are bounded the same way, for what "
        "their single short run is worth.",
        "",
    ]
    for figure in rows:
        lines.append(
            f"- **{figure.name}** ({figure.verdict}): {row_bound(figure.name, raw, cores, profiles or {})}"
        )
    return "\n".join(lines)
