"""Why an open lead waits for an advisor, read from its stored routing trace. Pure; no I/O."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# What stopped each advisor, by the start of the engine's reason; the first match wins.
BLOCKERS = (
    ("excluded:", "excluded"),
    ("inactive", "inactive"),
    ("offline", "offline"),
    ("busy", "busy"),
    ("away", "away"),
    ("no status", "offline"),
    ("does not speak", "language"),
    ("off shift", "off_shift"),
    ("shift hours", "off_shift"),
    ("at capacity", "at_capacity"),
    ("does not cover", "not_covering"),
    ("lead state unknown", "not_covering"),
    ("no rule covers", "not_covering"),
)


@dataclass(frozen=True)
class WaitReason:
    """`kind` is 'not_routed' (routing has not seen it), 'escalated' or 'nobody_eligible'."""

    kind: str
    considered: int = 0
    blockers: dict[str, int] = field(default_factory=dict)  # blocker -> advisors, most first


def why_waiting(trace: dict | None, *, escalated: bool) -> WaitReason:
    """Summarise a queued decision's trace: how many advisors, and what stopped them."""
    if escalated:
        return WaitReason("escalated", *_blockers(trace))
    if not trace or trace.get("outcome") != "queued":
        return WaitReason("not_routed")
    return WaitReason("nobody_eligible", *_blockers(trace))


def _blockers(trace: dict | None) -> tuple[int, dict[str, int]]:
    if not trace:
        return 0, {}
    counts: Counter = Counter()
    considered = 0
    for candidate in trace.get("candidates") or ():
        considered += 1
        if not candidate.get("eligible"):
            counts[_blocker(candidate.get("reasons") or ())] += 1
    for group in trace.get("not_considered") or ():
        ids = group.get("advisor_ids") or ()
        considered += len(ids)
        counts[_blocker((group.get("reason") or "",))] += len(ids)
    return considered, dict(counts.most_common())


def _blocker(reasons) -> str:
    for reason in reasons:
        for prefix, blocker in BLOCKERS:
            if reason.startswith(prefix):
                return blocker
    return "other"
