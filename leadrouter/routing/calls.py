"""Live calls, decided: whom to ring next, who holds and in what order, and the call figures. Pure; no I/O.

A caller is offered to advisors in the routing engine's own order (same rules: state, pool,
language, capacity, load). An advisor who let this call ring out is not rung again for it
within RING_AGAIN_AFTER. When nobody can be rung, the caller holds if someone who could take
the call is on duty (just busy), and is sent to voicemail / a call back at once if nobody is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from leadrouter.routing.engine import AdvisorFacts, Decision, LeadFacts, choose, covers, decide, evaluate_rule
from leadrouter.routing.hours import on_shift, shift_starts_on, to_local
from leadrouter.routing.policy import RoutingPolicy, default_policy
from leadrouter.routing.vocabulary import NATIONAL_POOL, URGENCIES

RING_AGAIN_AFTER = timedelta(minutes=1)
# Two offers in a row left unanswered: the advisor is presumed away from the phone.
MISSES_BEFORE_AWAY = 2
SERVICE_LEVEL_SECONDS = 20
# Statuses of an advisor who is working (reachable soon) as opposed to gone for the day.
ON_DUTY_STATUSES = frozenset({"available", "busy"})
# A caller on hold hears the 911 / 988 notice again at least this often (wall clock).
NOTICE_EVERY = timedelta(seconds=60)
# About how long the hold message (with the place in line and the wait) takes to say.
HOLD_MESSAGE_SECONDS = 15
# The longest an advisor's phone may ring for a caller (DIAL_TIMEOUT_SECONDS above it is refused).
LONGEST_RING_SECONDS = 90
# An advisor stays busy for routing while a call rings them or they talk on it; these bound
# how long a row whose callbacks never came can hold them: the longest ring, then the whisper
# and the key that accepts it.
RING_HOLDS_FOR = timedelta(seconds=LONGEST_RING_SECONDS + 60)
# Also the bound on started_at that lets the live-call reads use ix_calls_started.
LIVE_CALL_HOLDS_FOR = timedelta(hours=4)
# Slack for the hold message and a slow webhook, on top of two hold turns (caller_gone_after).
HOLD_GONE_MARGIN = timedelta(seconds=60)
# How far ahead "the line is staffed again at ..." looks for a shift start.
STAFFED_SEARCH_DAYS = 8


def caller_gone_after(max_wait_seconds: int, hold_announce_seconds: int) -> timedelta:
    """How long after the call started a caller still in the hold loop is taken to have gone.

    A caller leaves the line for a call back at their max wait, at a hold turn; a turn comes
    at least every HOLD_ANNOUNCE_SECONDS plus the message. A call still "holding" past two
    turns and a margin after the max wait lost its status callback: the caller has hung up.
    One bound for the line itself, the team board and /metrics.
    """
    return timedelta(seconds=max_wait_seconds + 2 * hold_announce_seconds) + HOLD_GONE_MARGIN


@dataclass(frozen=True)
class MissedOffer:
    """An advisor rang for this call and did not take it (no answer, busy, failed, whisper refused)."""

    advisor_id: int
    ended_at: datetime


@dataclass(frozen=True)
class Ring:
    """Ring these advisors now: one, or up to the ring-all size at once for an emergency."""

    advisor_ids: tuple[int, ...]
    decision: Decision


@dataclass(frozen=True)
class Hold:
    """Someone who could take the call is on duty but busy: the caller waits in line."""

    on_duty: int


@dataclass(frozen=True)
class NobodyOnDuty:
    """Nobody who could take the call is working now: voicemail or a call back, at once."""


CallStep = Ring | Hold | NobodyOnDuty


def recently_missed(missed: Iterable[MissedOffer], now: datetime) -> frozenset[int]:
    """Advisors who must not be rung again for this call yet."""
    return frozenset(offer.advisor_id for offer in missed if now - offer.ended_at < RING_AGAIN_AFTER)


def next_call_step(
    caller: LeadFacts,
    advisors: Sequence[AdvisorFacts],
    now: datetime,
    *,
    missed: Iterable[MissedOffer] = (),
    ring_all_size: int = 1,
    policy: RoutingPolicy | None = None,
    taken: frozenset[int] = frozenset(),
) -> CallStep:
    """Decide what happens to a caller now: ring someone, hold, or go to voicemail.

    `ring_all_size` above 1 (an emergency) rings that many eligible advisors at once, the
    engine's choice first; the first to accept takes the call. `taken` are advisors kept
    for a caller ahead in line or just claimed by another caller.
    """
    policy = policy or default_policy()
    skipped = recently_missed(missed, now)
    reasons = [
        reason
        for reason, ids in (
            ("did not answer this call a moment ago", skipped),
            ("kept for or taken by another caller", taken),
        )
        if ids
    ]
    hunting = replace(
        caller,
        exclude_ids=caller.exclude_ids | skipped | taken,
        exclude_reason=" or ".join(reasons) or caller.exclude_reason,
    )
    # Most turns of a busy line find nobody free: say so without tracing every advisor.
    free = choose(hunting, advisors, now, policy) is not None
    decision = decide(hunting, advisors, now, policy) if free else None
    if decision is not None and decision.advisor_id is not None:
        others = _next_in_line(hunting, advisors, now, policy, exclude=decision.advisor_id)
        return Ring(
            advisor_ids=(decision.advisor_id, *others[: max(0, ring_all_size - 1)]), decision=decision
        )
    on_duty = [advisor for advisor in advisors if could_take_call(advisor, caller, now)]
    return Hold(on_duty=len(on_duty)) if on_duty else NobodyOnDuty()


def could_take_call(advisor: AdvisorFacts, caller: LeadFacts, now: datetime) -> bool:
    """Working now and covering the caller (state or national pool, language), busy or not."""
    if not (advisor.active and advisor.status in ON_DUTY_STATUSES and caller.language in advisor.languages):
        return False
    if caller.region not in advisor.regions and NATIONAL_POOL not in advisor.regions:
        return False
    try:
        return on_shift(advisor.shift_hours, advisor.timezone, now)
    except (ValueError, TypeError, KeyError, AttributeError):
        return False  # unreadable shift data: not counted as on duty (routing says why)


def hold_order(holding: Sequence[LeadFacts]) -> list[LeadFacts]:
    """Callers on hold, first served first: most urgent, then longest waiting, then id."""
    return sorted(
        holding, key=lambda caller: (URGENCIES.index(caller.urgency), caller.waiting_since, caller.id)
    )


def first_hold_turn(hold_started_at: datetime | None, now: datetime, turn_seconds: int) -> bool:
    """The turn that says we call back if the call drops (unless 9): the first, or its request again.

    A caller's real next turn comes only after the whole message and the <Gather>'s wait of
    `turn_seconds`; a request sooner than that repeats the first (a retried webhook), whose
    answer is the one Twilio plays, so it must say the same.
    """
    return hold_started_at is None or now - hold_started_at < timedelta(seconds=turn_seconds)


def place_in_line(caller_id: int, holding: Sequence[LeadFacts]) -> int | None:
    """1 for the next caller to be served; None if the caller is not holding."""
    for place, caller in enumerate(hold_order(holding), start=1):
        if caller.id == caller_id:
            return place
    return None


def expected_wait_seconds(place: int, on_duty: int, average_talk_seconds: float | None) -> int | None:
    """A fair estimate of the wait for the caller at `place`, or None when it cannot be known.

    Each of the `on_duty` advisors frees up on average every `average_talk_seconds`; the
    caller is served once `place` advisors have freed up.
    """
    if not on_duty or not average_talk_seconds or place < 1:
        return None
    return round(place * average_talk_seconds / on_duty)


def notice_due(notice_said_at: datetime | None, now: datetime, turn_seconds: int) -> bool:
    """Say the 911 / 988 notice on this hold turn unless the next turn still comes within a minute of it.

    A turn lasts the hold message plus `turn_seconds` of waiting for a key.
    """
    if notice_said_at is None:
        return True
    next_turn = timedelta(seconds=HOLD_MESSAGE_SECONDS + turn_seconds)
    return (now - notice_said_at) + next_turn >= NOTICE_EVERY


def waited_too_long(started_at: datetime, now: datetime, max_wait_seconds: int) -> bool:
    """The caller has been on the line for the longest we keep anyone waiting (from the call's start)."""
    return (now - started_at).total_seconds() >= max_wait_seconds


def serves(advisor: AdvisorFacts, caller: LeadFacts) -> bool:
    """The advisor speaks the caller's language and covers their state (or is the national pool)."""
    if caller.language not in advisor.languages:
        return False
    return NATIONAL_POOL in advisor.regions or caller.region in advisor.regions


def first_in_line_for(
    advisor: AdvisorFacts,
    callers: Sequence[LeadFacts],
    now: datetime | None = None,
    policy: RoutingPolicy | None = None,
) -> LeadFacts | None:
    """The caller this advisor should take next: the first in hold order who can take them.

    A caller she missed within the minute (in the caller's `exclude_ids`) or whom the engine
    would not give her to cannot take her, so does not keep her from the callers behind.
    """
    return next((caller for caller in hold_order(callers) if can_take(advisor, caller, now, policy)), None)


def can_take(
    advisor: AdvisorFacts, caller: LeadFacts, now: datetime | None = None, policy: RoutingPolicy | None = None
) -> bool:
    """She may be rung for this caller: serves them, not excluded, and (given `now`) the engine agrees."""
    if not serves(advisor, caller) or advisor.id in caller.exclude_ids:
        return False
    if now is None:
        return True
    if caller.owner_id == advisor.id:
        # The caller's own lead is already in her count: it takes no new slot.
        advisor = replace(advisor, open_leads=max(0, advisor.open_leads - 1))
    return decide(caller, [advisor], now, policy or default_policy()).advisor_id == advisor.id


def next_staffed_at(advisors: Sequence[AdvisorFacts], caller: LeadFacts, now: datetime) -> datetime | None:
    """When the next shift of an advisor who could take this caller begins; None if none is known.

    Advisors without shift hours say nothing about when they work, so they are left out.
    """
    starts: list[datetime] = []
    for advisor in advisors:
        if not advisor.active or not advisor.shift_hours or not serves(advisor, caller):
            continue
        try:
            starts.extend(_shift_starts_after(advisor, now))
        except (ValueError, TypeError, KeyError, AttributeError):
            continue  # unreadable shift data says nothing about when the line is staffed
    return min(starts, default=None)


def _shift_starts_after(advisor: AdvisorFacts, now: datetime) -> list[datetime]:
    today = to_local(now, advisor.timezone).date()
    for offset in range(STAFFED_SEARCH_DAYS):
        day = today + timedelta(days=offset)
        starts = [
            moment for moment in shift_starts_on(advisor.shift_hours, advisor.timezone, day) if moment > now
        ]
        if starts:
            return starts
    return []


def should_set_away(outcomes_newest_first: Sequence[str]) -> bool:
    """Two offers in a row not answered (the newest first): the advisor is set away.

    A ring still going, or canceled (the caller hung up, or someone else took the call
    first), says nothing about the advisor and is left out.
    """
    decided = [outcome for outcome in outcomes_newest_first if outcome not in ("ringing", "canceled")]
    recent = decided[:MISSES_BEFORE_AWAY]
    return len(recent) == MISSES_BEFORE_AWAY and all(outcome != "answered" for outcome in recent)


def _next_in_line(
    caller: LeadFacts, advisors: Sequence[AdvisorFacts], now: datetime, policy: RoutingPolicy, exclude: int
) -> list[int]:
    """The other eligible advisors in the engine's order, best first (for ringing several)."""
    ordered: list[int] = []
    for rule in policy.rules:
        if not rule.matches(caller.urgency, caller.source, 0):
            continue
        for advisor in evaluate_rule(rule, caller, advisors, now).ranked:
            if advisor.id != exclude and advisor.id not in ordered and covers(rule, advisor, caller):
                ordered.append(advisor.id)
    return ordered


@dataclass(frozen=True)
class CallRecord:
    """One inbound call, as the figures need it."""

    reached_line_at: datetime  # when the caller was put in line (after the greeting)
    answered_at: datetime | None
    outcome: str  # answered | abandoned | voicemail | callback
    offers: int  # advisors rung for it, ring-all counting each advisor


@dataclass(frozen=True)
class CallFigures:
    """The figures every call-centre manager reads first, for a set of calls."""

    inbound: int
    answered: int
    abandoned: int
    voicemail: int
    service_level_20s: float | None  # share answered within 20 s of reaching the line, 0-1
    average_speed_of_answer_seconds: float | None
    abandonment_rate: float | None  # 0-1
    offers_per_answered_call: float | None

    def to_dict(self) -> dict:
        """Serialise to JSON-compatible data (figures rounded for reading)."""
        return {
            "inbound": self.inbound,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "voicemail": self.voicemail,
            "service_level_20s": _rounded(self.service_level_20s, 3),
            "average_speed_of_answer_seconds": _rounded(self.average_speed_of_answer_seconds, 1),
            "abandonment_rate": _rounded(self.abandonment_rate, 3),
            "offers_per_answered_call": _rounded(self.offers_per_answered_call, 2),
        }


def seconds_to_answer(reached_line_at: datetime, answered_at: datetime) -> float:
    """How long the caller waited in line before an advisor answered (never below zero)."""
    return max(0.0, (answered_at - reached_line_at).total_seconds())


def answered_within_service_level(seconds: float) -> bool:
    """The one rule the report's figure and the calls CSV both use: at most 20 s, to the microsecond.

    The CSV shows the wait in whole seconds rounded up (`whole_seconds_to_answer`), so a call it
    shows as 20 s counts and one it shows as 21 s does not.
    """
    return seconds <= SERVICE_LEVEL_SECONDS


def whole_seconds_to_answer(seconds: float) -> int:
    # Rounded up, not to nearest: 20.4 s shown as "20" would read as inside a level it missed.
    return math.ceil(seconds)


def call_figures(calls: Iterable[CallRecord]) -> CallFigures:
    """Fold calls into the figures: service level over the calls that reached the line."""
    inbound = answered = abandoned = voicemail = within_level = offers = 0
    speed_total = 0.0
    for call in calls:
        inbound += 1
        if call.outcome == "abandoned":
            abandoned += 1
        elif call.outcome in ("voicemail", "callback"):
            voicemail += 1
        if call.answered_at is not None:
            answered += 1
            # Only the answered calls' offers: a call nobody answered has no answered call to
            # divide its offers by, and with them the figure could read below one (impossible).
            offers += call.offers
            speed = seconds_to_answer(call.reached_line_at, call.answered_at)
            speed_total += speed
            within_level += answered_within_service_level(speed)
    return CallFigures(
        inbound=inbound,
        answered=answered,
        abandoned=abandoned,
        voicemail=voicemail,
        service_level_20s=within_level / inbound if inbound else None,
        average_speed_of_answer_seconds=speed_total / answered if answered else None,
        abandonment_rate=abandoned / inbound if inbound else None,
        offers_per_answered_call=offers / answered if answered else None,
    )


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# --- offers --------------------------------------------------------------------------------

# How an offer ended, from <Dial>'s DialCallStatus (anything unknown counts as not answered).
MISSED_DIAL_STATUSES = frozenset({"no-answer", "busy", "failed", "canceled"})


def offer_outcome(dial_status: str | None, accepted: bool) -> str:
    """How one offer ended: answered only when the advisor accepted the whisper."""
    status = (dial_status or "").strip().lower()
    if status in ("completed", "answered"):
        return "answered" if accepted else "not-accepted"
    return status if status in MISSED_DIAL_STATUSES else "no-answer"


def missed_offer_reason(
    advisor_name: str, outcome: str, seconds: int | None, offered_to: str | None, *, then: str = "callback"
) -> str:
    """The line the lead's timeline shows for an offer not taken, and what happened next."""
    what = {
        "busy": "was busy",
        "failed": "could not be reached",
        "canceled": "was not reached before the ringing stopped",
        "not-accepted": "did not accept the call",
    }.get(outcome, "did not answer")
    after = f" after {seconds} s" if seconds is not None and outcome in ("no-answer", "not-accepted") else ""
    if offered_to:
        next_step = f"offered to {offered_to}"
    else:
        next_step = {
            "hold": "the caller waits in line for the next advisor free",
            "on_call": "the caller was put through to the on-call line",
        }.get(then, "nobody else could take it")
    return f"{advisor_name} {what}{after}; {next_step}"
