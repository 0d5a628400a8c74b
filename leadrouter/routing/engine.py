"""The routing engine: lead and advisor facts in, a traced Decision out. Pure; no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from typing import Any

from leadrouter.routing.hours import ShiftHours, describe_shift, on_shift
from leadrouter.routing.policy import (
    RoutingPolicy,
    Rule,
    default_policy,
)
from leadrouter.routing.vocabulary import DEFAULT_TIMEZONE, NATIONAL_POOL, URGENCIES

CONTINUITY = "continuity"
# Continuity keeps every check except coverage: the lead is already theirs.
_CONTINUITY_RULE = Rule(name=CONTINUITY, target="any")
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class LeadFacts:
    """What routing needs to know about a lead."""

    id: int
    urgency: str  # critical|high|normal|low
    region: str | None  # US state code; None routes to the national pool only
    language: str = "en"
    source: str = "web_form"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    queued_since: datetime | None = None
    owner_id: int | None = None  # previous owner: gets the lead back if eligible
    exclude_ids: frozenset[int] = frozenset()
    exclude_reason: str = "current owner overdue"  # shown in the trace for excluded advisors

    @property
    def waiting_since(self) -> datetime:
        """Return when the lead started waiting for an advisor."""
        return self.queued_since or self.created_at


@dataclass(frozen=True)
class AdvisorFacts:
    """What routing needs to know about an advisor, as of now."""

    id: int
    name: str
    regions: frozenset[str]  # {"TX", "OK"} or {"*"}
    languages: frozenset[str]
    capacity: int
    open_leads: int
    status: str  # available|busy|away|offline
    active: bool = True
    timezone: str = DEFAULT_TIMEZONE
    shift_hours: ShiftHours | None = None  # None = no shift limits
    last_assigned_at: datetime | None = None


@dataclass(frozen=True)
class CandidateTrace:
    """Why one advisor was or was not chosen."""

    advisor_id: int
    name: str
    eligible: bool
    chosen: bool
    reasons: tuple[str, ...]
    open_leads: int
    capacity: int
    rule: str | None  # rule under which the advisor was considered
    rank: int | None  # place in the overall order of eligible advisors, 1 = first
    group: str = ""  # who they were considered as, e.g. "TX advisors", "national pool"
    idle_minutes: int | None = None  # since last assignment; None = never assigned

    def to_dict(self) -> dict[str, Any]:
        """Serialise to JSON-compatible data."""
        return {
            "advisor_id": self.advisor_id,
            "name": self.name,
            "eligible": self.eligible,
            "chosen": self.chosen,
            "reasons": list(self.reasons),
            "open_leads": self.open_leads,
            "capacity": self.capacity,
            "rule": self.rule,
            "rank": self.rank,
            "group": self.group,
            "idle_minutes": self.idle_minutes,
        }


@dataclass(frozen=True)
class Decision:
    """Where a lead goes and the full trace of why."""

    lead_id: int
    advisor_id: int | None  # None = queue
    outcome: str  # "assigned" | "queued"
    rule: str | None  # rule that matched, or "continuity"
    reason: str
    candidates: tuple[CandidateTrace, ...]
    decided_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """Serialise the trace stored on the lead and shown to managers.

        Every advisor considered under a rule keeps a full entry in "candidates"; those no
        rule reached (most of a national team, for a lead in one state) are listed by id
        under "not_considered", one entry per reason, which keeps the stored trace small.
        """
        considered = [c.to_dict() for c in self.candidates if not _out_of_scope(c)]
        not_considered: dict[str, list[int]] = {}
        for trace in self.candidates:
            if _out_of_scope(trace):
                not_considered.setdefault(trace.reasons[0], []).append(trace.advisor_id)
        return {
            "lead_id": self.lead_id,
            "advisor_id": self.advisor_id,
            "outcome": self.outcome,
            "rule": self.rule,
            "reason": self.reason,
            "candidates": considered,
            "not_considered": [
                {"reason": reason, "advisor_ids": ids} for reason, ids in not_considered.items()
            ],
            "decided_at": self.decided_at.isoformat(),
            "explanation": self.explain(),
        }

    def explain(self) -> str:
        """Say in plain words who was passed over, who was chosen and why."""
        parts = [
            f"{group} passed over — {_list_reasons(traces)}"
            for group, traces in _group(c for c in self.candidates if _passed_over(c))
        ]
        chosen = next((c for c in self.candidates if c.chosen), None)
        if chosen is not None:
            details = [
                f"{chosen.open_leads}/{chosen.capacity} open",
                _idle_text(chosen.idle_minutes),
                *chosen.reasons[1:],  # overrides applied, e.g. a waived language
            ]
            parts.append(f"{chosen.group}: {chosen.name} chosen, {', '.join(details)}")
        others = [c for c in self.candidates if c.eligible and not c.chosen]
        if others:
            names = ", ".join(f"{c.name} ({c.open_leads}/{c.capacity})" for c in others[:3])
            more = f" and {len(others) - 3} more" if len(others) > 3 else ""
            parts.append(f"also eligible: {names}{more}")
        out_of_scope = [c for c in self.candidates if c.rule is None and not c.chosen]
        if out_of_scope:
            why = "; ".join(dict.fromkeys(c.reasons[0] for c in out_of_scope if c.reasons))
            parts.append(f"{len(out_of_scope)} not considered ({why})")
        if chosen is None:
            parts.append(self.reason)
        text = ". ".join(part[:1].upper() + part[1:] for part in parts)
        return text if text.endswith(".") else text + "."


@dataclass(frozen=True)
class _RuleResult:
    """How every in-scope advisor fared under one rule."""

    rule: Rule
    label: str
    blocking: Mapping[int, tuple[str, ...]]  # advisor id -> why not eligible (empty = eligible)
    notes: Mapping[int, tuple[str, ...]]  # advisor id -> overrides applied
    ranked: tuple[AdvisorFacts, ...]
    language_waived: bool


# --- deciding ---------------------------------------------------------------------


def decide(
    lead: LeadFacts,
    advisors: Sequence[AdvisorFacts],
    now: datetime,
    policy: RoutingPolicy | None = None,
) -> Decision:
    """Choose an advisor for a lead, or queue it, and record why."""
    policy = policy or _default_policy()
    _validate(lead, advisors, now)
    waited = waited_minutes(lead, now)
    results = [
        evaluate_rule(rule, lead, advisors, now)
        for rule in policy.rules
        if rule.matches(lead.urgency, lead.source, waited)
    ]
    owner = _eligible_owner(lead, advisors, now)
    winner = next((r for r in results if r.ranked), None)
    if owner is not None:
        chosen, rule_name = owner, CONTINUITY
    elif winner is not None:
        chosen, rule_name = winner.ranked[0], winner.rule.name
    else:
        chosen, rule_name = None, None
    candidates = _trace(lead, advisors, now, policy, results, chosen, rule_name, waited)
    return Decision(
        lead_id=lead.id,
        advisor_id=None if chosen is None else chosen.id,
        outcome="queued" if chosen is None else "assigned",
        rule=rule_name,
        reason=_summarise(lead, chosen, rule_name, winner, candidates, policy, waited),
        candidates=candidates,
        decided_at=now,
    )


def choose(
    lead: LeadFacts,
    advisors: Sequence[AdvisorFacts],
    now: datetime,
    policy: RoutingPolicy | None = None,
) -> AdvisorFacts | None:
    """The advisor `decide` would choose, without the trace of every advisor considered.

    For a caller's hold turn, which only needs to know whether anyone can take them now: the
    trace of 200 advisors costs more than the choice, and decide() is run when someone can.
    """
    policy = policy or _default_policy()
    _validate(lead, advisors, now)
    owner = _eligible_owner(lead, advisors, now)
    if owner is not None:
        return owner
    waited = waited_minutes(lead, now)
    for rule in policy.rules:
        if rule.matches(lead.urgency, lead.source, waited):
            result = evaluate_rule(rule, lead, advisors, now)
            if result.ranked:
                return result.ranked[0]
    return None


def assign_batch(
    leads: Sequence[LeadFacts],
    advisors: Sequence[AdvisorFacts],
    now: datetime,
    policy: RoutingPolicy | None = None,
) -> list[Decision]:
    """Drain a queue: decide leads in queue_order, counting each assignment against capacity.

    Decisions come back in queue order. Only a rule with ignore_capacity (the critical
    override) can take an advisor past capacity.
    """
    policy = policy or _default_policy()
    roster = {advisor.id: advisor for advisor in advisors}
    decisions = []
    for lead in queue_order(leads):
        decision = decide(lead, list(roster.values()), now, policy)
        if decision.advisor_id is not None:
            advisor = roster[decision.advisor_id]
            roster[advisor.id] = replace(advisor, open_leads=advisor.open_leads + 1, last_assigned_at=now)
        decisions.append(decision)
    return decisions


def queue_order(leads: Sequence[LeadFacts]) -> list[LeadFacts]:
    """Sort leads: most urgent first, then longest waiting, then id."""
    return sorted(
        leads,
        key=lambda lead: (URGENCIES.index(lead.urgency), lead.waiting_since, lead.id),
    )


def waited_minutes(lead: LeadFacts, now: datetime) -> float:
    """Return how long the lead has waited for an advisor, in minutes (never negative)."""
    return max(0.0, (now - lead.waiting_since).total_seconds() / 60)


# --- eligibility ------------------------------------------------------------------


def covers(rule: Rule, advisor: AdvisorFacts, lead: LeadFacts) -> bool:
    """Return whether the advisor is within the rule's target for this lead."""
    if rule.target == "lead_state":
        return lead.region is not None and lead.region in advisor.regions
    if rule.target == "national_pool":
        return NATIONAL_POOL in advisor.regions
    return True


def check_advisor(
    advisor: AdvisorFacts,
    lead: LeadFacts,
    rule: Rule,
    now: datetime,
    *,
    require_language: bool = True,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return (reasons the advisor is not eligible, overrides the rule applied)."""
    blocking: list[str] = []
    notes: list[str] = []
    if advisor.id in lead.exclude_ids:
        blocking.append(f"excluded: {lead.exclude_reason}")
    if not advisor.active:
        blocking.append("inactive")
    if advisor.status != "available":
        blocking.append(advisor.status or "no status")
    if lead.language not in advisor.languages:
        if require_language:
            blocking.append(f"does not speak {lead.language}")
        else:
            notes.append(f"does not speak {lead.language} (waived: nobody available does)")
    shift_problem = _shift_problem(advisor, now)
    if shift_problem and rule.ignore_shift:
        notes.append(f"{shift_problem}, waived for {lead.urgency} lead")
    elif shift_problem:
        blocking.append(shift_problem)
    if advisor.open_leads >= advisor.capacity:
        load = f"{advisor.open_leads}/{advisor.capacity}"
        if rule.ignore_capacity:
            notes.append(f"at capacity ({load}), waived for {lead.urgency} lead")
        else:
            blocking.append(f"at capacity ({load})")
    return tuple(blocking), tuple(notes)


def is_eligible(advisor: AdvisorFacts, lead: LeadFacts, rule: Rule, now: datetime) -> bool:
    """Return whether the advisor may take the lead under this rule."""
    return covers(rule, advisor, lead) and not check_advisor(advisor, lead, rule, now)[0]


def evaluate_rule(
    rule: Rule, lead: LeadFacts, advisors: Sequence[AdvisorFacts], now: datetime
) -> _RuleResult:
    """Check every advisor in the rule's target and rank the eligible ones."""
    in_scope = [a for a in advisors if covers(rule, a, lead)]
    checks = {a.id: check_advisor(a, lead, rule, now) for a in in_scope}
    language_waived = False
    if rule.language_fallback and not any(not blocking for blocking, _ in checks.values()):
        relaxed = {a.id: check_advisor(a, lead, rule, now, require_language=False) for a in in_scope}
        if any(not blocking for blocking, _ in relaxed.values()):
            checks, language_waived = relaxed, True
    eligible = [a for a in in_scope if not checks[a.id][0]]
    ranked = sorted(eligible, key=lambda a: rank_key(a, bool(checks[a.id][1])))
    return _RuleResult(
        rule=rule,
        label=_label(rule, lead),
        blocking={aid: blocking for aid, (blocking, _) in checks.items()},
        notes={aid: notes for aid, (_, notes) in checks.items()},
        ranked=tuple(ranked),
        language_waived=language_waived,
    )


def rank_key(advisor: AdvisorFacts, needs_override: bool = False) -> tuple[Any, ...]:
    """Order eligible advisors: fewest open leads, longest idle (never = longest), id.

    An advisor reachable only through an override (off shift, over capacity) comes after
    those who are eligible without one: overrides are a last resort.
    """
    never = advisor.last_assigned_at is None
    return (
        needs_override,
        advisor.open_leads,
        not never,
        advisor.last_assigned_at or _NEVER,
        advisor.id,
    )


def _eligible_owner(lead: LeadFacts, advisors: Sequence[AdvisorFacts], now: datetime) -> AdvisorFacts | None:
    owner = next((a for a in advisors if a.id == lead.owner_id), None)
    if owner is None or check_advisor(owner, lead, _CONTINUITY_RULE, now)[0]:
        return None
    return owner


def _shift_problem(advisor: AdvisorFacts, now: datetime) -> str | None:
    try:
        if on_shift(advisor.shift_hours, advisor.timezone, now):
            return None
        return f"off shift ({describe_shift(advisor.shift_hours, advisor.timezone, now)})"
    except (ValueError, TypeError, KeyError, AttributeError):
        # One advisor's broken shift data must not stop routing for everyone else.
        return "shift hours or time zone unreadable"


# --- the trace --------------------------------------------------------------------


def _trace(
    lead: LeadFacts,
    advisors: Sequence[AdvisorFacts],
    now: datetime,
    policy: RoutingPolicy,
    results: list[_RuleResult],
    chosen: AdvisorFacts | None,
    rule_name: str | None,
    waited: float,
) -> tuple[CandidateTrace, ...]:
    # The continuity owner jumps the line, so it ranks first.
    ranks: dict[int, int] = {chosen.id: 1} if chosen and rule_name == CONTINUITY else {}
    for result in results:
        for advisor in result.ranked:
            ranks.setdefault(advisor.id, len(ranks) + 1)
    scopes = _scopes(results)
    # Most of a national team is out of scope for the same few reasons: one per set of regions.
    out_of_scope_reasons: dict[frozenset[str], str] = {}
    traces = []
    for advisor in advisors:
        is_chosen = chosen is not None and advisor.id == chosen.id
        scope = scopes.get(advisor.id)
        idle = _idle_minutes(advisor, now)
        if is_chosen and rule_name == CONTINUITY:
            trace = _trace_continuity(advisor, idle)
        elif scope is None:
            reason = out_of_scope_reasons.get(advisor.regions)
            if reason is None:
                reason = out_of_scope_reasons[advisor.regions] = _out_of_scope_reason(
                    advisor, lead, policy, waited
                )
            trace = _trace_out_of_scope(advisor, reason, idle)
        else:
            trace = _trace_in_scope(advisor, scope, is_chosen, ranks.get(advisor.id), rule_name, idle)
        traces.append(trace)
    scope_order = {id(r): i for i, r in enumerate(results)}
    rule_order = {r.rule.name: i for i, r in enumerate(results)}
    return tuple(
        sorted(
            traces,
            key=lambda t: (
                not t.chosen,
                not t.eligible,
                t.rank or 0,
                rule_order.get(t.rule or "", len(scope_order)),
                t.advisor_id,
            ),
        )
    )


def _scopes(results: list[_RuleResult]) -> dict[int, _RuleResult]:
    """The rule each advisor in scope is reported under: the first where eligible, else the first."""
    scopes: dict[int, _RuleResult] = {}
    for result in results:
        for advisor_id, blocking in result.blocking.items():
            current = scopes.get(advisor_id)
            if current is None or (current.blocking[advisor_id] and not blocking):
                scopes[advisor_id] = result
    return scopes


def _trace_in_scope(
    advisor: AdvisorFacts,
    result: _RuleResult,
    is_chosen: bool,
    rank: int | None,
    winning_rule: str | None,
    idle_minutes: int | None,
) -> CandidateTrace:
    blocking = result.blocking[advisor.id]
    eligible = not blocking
    if not eligible:
        reasons = blocking
    elif is_chosen:
        reasons = (f"chosen by {result.rule.name}: first in line",)
    elif winning_rule != result.rule.name:
        reasons = (f"eligible under {result.rule.name}, but {winning_rule} matched first",)
    else:
        reasons = (f"eligible under {result.rule.name}, ranked {rank}",)
    return CandidateTrace(
        advisor_id=advisor.id,
        name=advisor.name,
        eligible=eligible,
        chosen=is_chosen,
        # Overrides only matter for advisors who could take the lead.
        reasons=reasons + (result.notes[advisor.id] if eligible else ()),
        open_leads=advisor.open_leads,
        capacity=advisor.capacity,
        rule=result.rule.name,
        rank=rank if eligible else None,
        group=result.label,
        idle_minutes=idle_minutes,
    )


def _trace_continuity(advisor: AdvisorFacts, idle_minutes: int | None) -> CandidateTrace:
    return CandidateTrace(
        advisor_id=advisor.id,
        name=advisor.name,
        eligible=True,
        chosen=True,
        reasons=("chosen: previous advisor for this lead (continuity)",),
        open_leads=advisor.open_leads,
        capacity=advisor.capacity,
        rule=CONTINUITY,
        rank=1,
        group="previous advisor",
        idle_minutes=idle_minutes,
    )


def _trace_out_of_scope(advisor: AdvisorFacts, reason: str, idle_minutes: int | None) -> CandidateTrace:
    return CandidateTrace(
        advisor_id=advisor.id,
        name=advisor.name,
        eligible=False,
        chosen=False,
        reasons=(reason,),
        open_leads=advisor.open_leads,
        capacity=advisor.capacity,
        rule=None,
        rank=None,
        group="not considered",
        idle_minutes=idle_minutes,
    )


def _out_of_scope_reason(advisor: AdvisorFacts, lead: LeadFacts, policy: RoutingPolicy, waited: float) -> str:
    # Reads only the advisor's regions: _trace reuses the reason for advisors with the same regions.
    for rule in policy.rules:
        waiting_is_all_that_is_missing = covers(rule, advisor, lead) and rule.matches(
            lead.urgency, lead.source, float("inf")
        )
        if waiting_is_all_that_is_missing:
            return (
                f"{_label(rule, lead)} opens after {rule.after_wait_minutes} min wait "
                f"(waited {int(waited)} min)"
            )
    if lead.region is None:
        return "lead state unknown and not in national pool"
    if lead.region in advisor.regions or NATIONAL_POOL in advisor.regions:
        return f"no rule covers {lead.urgency} {lead.source} leads for them"
    return f"does not cover {lead.region}"


def _summarise(
    lead: LeadFacts,
    chosen: AdvisorFacts | None,
    rule_name: str | None,
    winner: _RuleResult | None,
    candidates: tuple[CandidateTrace, ...],
    policy: RoutingPolicy,
    waited: float,
) -> str:
    """Return the one-sentence reason stored with the decision."""
    if chosen is None:
        pending = [c.reasons[0] for c in candidates if c.rule is None and "opens after" in c.reasons[0]]
        hint = f"; {pending[0]}" if pending else ""
        return f"No eligible advisor among {len(candidates)}: lead queued{hint}."
    load = f"{chosen.open_leads}/{chosen.capacity} open"
    if rule_name == CONTINUITY:
        return f"Returned to previous advisor {chosen.name} ({load})."
    waived = ""
    if winner is not None and winner.language_waived:
        waived = f"; nobody available speaks {lead.language}, so language was waived"
    return f"Assigned to {chosen.name} by {rule_name} ({load}){waived}."


def _label(rule: Rule, lead: LeadFacts) -> str:
    if rule.target == "lead_state":
        return f"{lead.region} advisors"
    return rule.name.replace("_", " ")


def _idle_minutes(advisor: AdvisorFacts, now: datetime) -> int | None:
    if advisor.last_assigned_at is None:
        return None
    return max(0, int((now - advisor.last_assigned_at).total_seconds() // 60))


def _idle_text(minutes: int | None) -> str:
    return "never assigned before" if minutes is None else f"idle {minutes} min"


def _out_of_scope(trace: CandidateTrace) -> bool:
    """No rule reached the advisor for this lead; the trace holds one generic reason."""
    return trace.rule is None and not trace.chosen and bool(trace.reasons)


def _passed_over(trace: CandidateTrace) -> bool:
    return not trace.eligible and trace.rule is not None


def _group(traces: Iterable[CandidateTrace]) -> list[tuple[str, list[CandidateTrace]]]:
    groups: dict[str, list[CandidateTrace]] = {}
    for trace in traces:
        groups.setdefault(trace.group, []).append(trace)
    return list(groups.items())


def _list_reasons(traces: list[CandidateTrace]) -> str:
    return "; ".join(f"{t.name}: {', '.join(t.reasons)}" for t in traces)


def _validate(lead: LeadFacts, advisors: Sequence[AdvisorFacts], now: datetime) -> None:
    if lead.urgency not in URGENCIES:
        raise ValueError(f"unknown urgency {lead.urgency!r}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    ids = [a.id for a in advisors]
    if len(ids) != len(set(ids)):
        raise ValueError("advisor ids must be unique")


@cache
def _default_policy() -> RoutingPolicy:
    return default_policy()
