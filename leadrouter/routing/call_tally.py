"""The call figures as mergeable counts, so they can be stored per hour and added up. Pure; no I/O.

`routing.calls.call_figures` folds a list of calls at once; a report over a month reads
the stored hours instead (reports/rollups.py), so it needs the same figures as sums that
add exactly: a `CallTally` of some calls merged with the tally of others is the tally of
them all, and `figures()` gives what `call_figures` would give for them all. Durations are
summed in whole microseconds so that the order of the additions never changes a result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from leadrouter.routing.calls import CallFigures, CallRecord, answered_within_service_level

# What a call the line sent to voicemail or a call back may be recorded as: `missed` is how
# calls sent to voicemail without leaving a message were recorded before holding existed.
VOICEMAIL_OUTCOMES = frozenset({"voicemail", "callback", "missed"})
_MICROSECONDS = 1_000_000


@dataclass(slots=True)
class CallTally:
    """Counts and sums of some inbound calls; `merge` adds another tally's."""

    inbound: int = 0
    answered: int = 0
    abandoned: int = 0
    voicemail: int = 0
    answered_within_level: int = 0
    offers: int = 0  # advisors rung for the answered calls (ring-all counting each)
    answer_microseconds: int = 0  # sum over answered calls of reaching the line -> answered

    @classmethod
    def of(cls, calls: Iterable[CallRecord]) -> CallTally:
        tally = cls()
        for call in calls:
            tally.add(call)
        return tally

    def add(self, call: CallRecord) -> None:
        self.inbound += 1
        if call.outcome == "abandoned":
            self.abandoned += 1
        elif call.outcome in VOICEMAIL_OUTCOMES:
            self.voicemail += 1
        if call.answered_at is not None:
            waited = max(0, _microseconds(call.answered_at - call.reached_line_at))
            self.answered += 1
            self.offers += call.offers
            self.answer_microseconds += waited
            self.answered_within_level += answered_within_service_level(waited / _MICROSECONDS)

    def merge(self, other: CallTally) -> CallTally:
        # Spelled out: a month's report merges thousands of these (dataclasses.astuple copies).
        self.inbound += other.inbound
        self.answered += other.answered
        self.abandoned += other.abandoned
        self.voicemail += other.voicemail
        self.answered_within_level += other.answered_within_level
        self.offers += other.offers
        self.answer_microseconds += other.answer_microseconds
        return self

    def figures(self) -> CallFigures:
        """The figures of these calls; rates are None (not zero) when there is nothing to divide by."""
        inbound, answered = self.inbound, self.answered
        return CallFigures(
            inbound=inbound,
            answered=answered,
            abandoned=self.abandoned,
            voicemail=self.voicemail,
            service_level_20s=self.answered_within_level / inbound if inbound else None,
            average_speed_of_answer_seconds=(
                self.answer_microseconds / _MICROSECONDS / answered if answered else None
            ),
            abandonment_rate=self.abandoned / inbound if inbound else None,
            offers_per_answered_call=self.offers / answered if answered else None,
        )

    def to_list(self) -> list[int]:
        """The tally as a list of integers, for storage (in the order of the fields)."""
        return [
            self.inbound,
            self.answered,
            self.abandoned,
            self.voicemail,
            self.answered_within_level,
            self.offers,
            self.answer_microseconds,
        ]

    @classmethod
    def from_list(cls, values: Sequence[int]) -> CallTally:
        return cls(*values)


def _microseconds(delta) -> int:
    return (delta.days * 86400 + delta.seconds) * _MICROSECONDS + delta.microseconds
