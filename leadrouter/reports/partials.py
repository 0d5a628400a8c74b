"""A mergeable summary of some leads: the routing report's numbers before percentages.

The routing report folds every lead of its range into one `Partial`. The same fold over
the leads of a single UTC hour gives that hour's partial, which the workers store (see
rollups.py); adding the partials of a range's hours gives exactly the partial of the
whole range, because every field is a count, a sum, or a list of exact durations whose
percentiles are taken only at the end. Nothing is approximated.

A partial also says how long it stays true: `stale_at` is the earliest SLA due time of a
lead it counted as pending (not contacted, not yet due). Once that moment has passed the
lead is missed and the partial must be computed again; before it, nothing in it depends
on the clock.

Calls are counted beside the leads: each call that started in the hours, as a `CallTally`
(routing/call_tally.py) per UTC quarter hour (for the report's hours of the day) and per
region of its lead (for its regions), so the call figures add up as exactly as the rest.

Plain Python, no Flask or database: easy to test and to read.
"""

from __future__ import annotations

import json
import struct
import sys
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from leadrouter.routing.call_tally import CallTally
from leadrouter.routing.calls import CallRecord

QUARTER_HOUR_SECONDS = 900  # every real time zone's offset is a whole number of quarter hours
SCOPE_ALL = ""
UNKNOWN_REGION = "unknown"
UNSPECIFIED_REASON = "unspecified"


def durations() -> array:
    """Exact durations in seconds, as 8-byte floats (compact, and stored byte for byte)."""
    return array("d")


@dataclass(frozen=True)
class LeadRow:
    """What the report reads of one lead, its SLA state already decided for `now`."""

    id: int
    created_at: datetime
    source: str
    region: str | None
    urgency: str
    status: str
    closed_reason: str | None
    sla: str  # 'met', 'missed' or 'pending'
    escalated: bool
    speed: float | None  # created -> first contact, seconds; None when not contacted
    owner_id: int | None
    is_open: bool
    overdue: bool  # not contacted and past its due time
    first_contact_due: datetime | None  # the promised time (older leads: the SLA)


@dataclass(frozen=True)
class HoldRow:
    """One assignment of the lead: who, which kind, how long after creation, and whether
    that advisor held the lead at its first contact."""

    advisor_id: int
    kind: str
    latency: float  # created -> this assignment's start, seconds
    held_at_first_contact: bool


@dataclass
class AdvisorPart:
    assigned: int = 0  # leads they held at some point
    met: int = 0  # leads contacted in time while theirs
    missed: int = 0  # leads contacted late while theirs
    speeds: array = field(default_factory=durations)  # speed to lead of leads contacted while theirs


@dataclass
class Partial:
    """Counts and exact durations of a set of leads; `merge` adds another set's."""

    # "<what>:<value>" -> leads, one family per breakdown: source, region, urgency, status,
    # closed (reason), sla, and "escalated:".
    counts: Counter = field(default_factory=Counter)
    quarters: Counter = field(default_factory=Counter)  # UTC quarter hour since the epoch -> leads
    speeds: dict[str, array] = field(default_factory=lambda: defaultdict(durations))  # by urgency
    first_assignment: array = field(default_factory=durations)
    reassignments: int = 0
    advisors: dict[int, AdvisorPart] = field(default_factory=lambda: defaultdict(AdvisorPart))
    open_by_owner: Counter = field(default_factory=Counter)
    overdue_by_owner: Counter = field(default_factory=Counter)
    # Inbound calls that started in the hours: by UTC quarter hour, and by their lead's region.
    call_quarters: dict[int, CallTally] = field(default_factory=lambda: defaultdict(CallTally))
    call_regions: dict[str, CallTally] = field(default_factory=lambda: defaultdict(CallTally))
    stale_at: datetime | None = None

    def add_lead(self, lead: LeadRow, holds: Sequence[HoldRow], only_advisor: int | None = None) -> None:
        """Count one lead with its assignments. `only_advisor` keeps per-advisor figures
        of that advisor alone (a partial for one advisor's report)."""

        def tracked(advisor_id: int | None) -> bool:
            return advisor_id is not None and only_advisor in (None, advisor_id)

        counts = self.counts
        counts["source:" + lead.source] += 1
        counts["region:" + (lead.region or UNKNOWN_REGION)] += 1
        counts["urgency:" + lead.urgency] += 1
        counts["status:" + lead.status] += 1
        if lead.status == "closed":
            counts["closed:" + (lead.closed_reason or UNSPECIFIED_REASON)] += 1
        counts["sla:" + lead.sla] += 1
        if lead.escalated:
            counts["escalated:"] += 1
        self.quarters[int(lead.created_at.timestamp()) // QUARTER_HOUR_SECONDS] += 1
        if tracked(lead.owner_id):
            self.open_by_owner[lead.owner_id] += int(lead.is_open)
            self.overdue_by_owner[lead.owner_id] += int(lead.overdue)
        if lead.sla == "pending" and lead.first_contact_due is not None and lead.speed is None:
            due = lead.first_contact_due
            self.stale_at = due if self.stale_at is None else min(self.stale_at, due)
        holder = None
        for hold in holds:
            if hold.kind == "reassigned":
                self.reassignments += 1
            if hold.held_at_first_contact and (holder is None or hold.advisor_id > holder):
                holder = hold.advisor_id  # overlapping periods: the highest id, deterministically
        if holds:
            self.first_assignment.append(max(0.0, min(float(hold.latency) for hold in holds)))
            for advisor_id in {hold.advisor_id for hold in holds}:
                if tracked(advisor_id):
                    self.advisors[advisor_id].assigned += 1
        if lead.speed is not None:
            speed = lead.speed if lead.speed > 0 else 0.0
            self.speeds[lead.urgency].append(speed)
            if tracked(holder):
                part = self.advisors[holder]
                part.speeds.append(speed)
                part.met += lead.sla == "met"
                part.missed += lead.sla == "missed"

    def add_call(self, call: CallRecord, region: str | None) -> None:
        """Count one inbound call (it started at `call.reached_line_at`) on a lead in `region`."""
        quarter = int(call.reached_line_at.timestamp()) // QUARTER_HOUR_SECONDS
        self.call_quarters[quarter].add(call)
        self.call_regions[region or UNKNOWN_REGION].add(call)

    def calls(self) -> CallTally:
        """Every call counted, in one tally."""
        total = CallTally()
        for tally in self.call_quarters.values():
            total.merge(tally)
        return total

    def merge(self, other: Partial) -> Partial:
        """Add another partial's leads and calls to this one; `other` is spent (its call tallies
        may now be this partial's)."""
        self.counts.update(other.counts)
        self.quarters.update(other.quarters)
        for urgency, values in other.speeds.items():
            self.speeds[urgency].extend(values)
        self.first_assignment.extend(other.first_assignment)
        self.reassignments += other.reassignments
        for advisor_id, theirs in other.advisors.items():
            mine = self.advisors[advisor_id]
            mine.assigned += theirs.assigned
            mine.met += theirs.met
            mine.missed += theirs.missed
            mine.speeds.extend(theirs.speeds)
        self.open_by_owner.update(other.open_by_owner)
        self.overdue_by_owner.update(other.overdue_by_owner)
        _merge_tallies(self.call_quarters, other.call_quarters)
        _merge_tallies(self.call_regions, other.call_regions)
        if other.stale_at is not None:
            self.stale_at = other.stale_at if self.stale_at is None else min(self.stale_at, other.stale_at)
        return self

    def count(self, what: str) -> Counter:
        """One breakdown, e.g. count("source") -> {"web_form": 3, "call": 1}."""
        prefix = what + ":"
        return Counter({key[len(prefix) :]: n for key, n in self.counts.items() if key.startswith(prefix)})

    # --- storage: a JSON header, then the durations as raw 8-byte floats ------------

    def to_bytes(self) -> bytes:
        """The partial as bytes: counts in JSON, durations sorted and byte for byte (exact)."""
        urgencies = [urgency for urgency, values in self.speeds.items() if values]
        advisor_ids = list(self.advisors)
        owners = set(self.open_by_owner) | set(self.overdue_by_owner)
        calls = self.calls()
        header = {
            "c": self.counts,
            "q": [[quarter, n] for quarter, n in self.quarters.items()],
            "r": self.reassignments,
            "s": [[urgency, len(self.speeds[urgency])] for urgency in urgencies],
            "f": len(self.first_assignment),
            "a": [
                [advisor_id, part.assigned, part.met, part.missed, len(part.speeds)]
                for advisor_id, part in self.advisors.items()
            ],
            "o": [[owner, self.open_by_owner[owner], self.overdue_by_owner[owner]] for owner in owners],
            # Calls by outcome, as the previous format had them: a process of the previous
            # version reading this partial during a rolling upgrade still finds its numbers.
            "k": {"answered": calls.answered, "abandoned": calls.abandoned, "voicemail": calls.voicemail},
            "t": {
                "q": [[quarter, tally.to_list()] for quarter, tally in self.call_quarters.items()],
                "r": [[region, tally.to_list()] for region, tally in self.call_regions.items()],
            },
        }
        head = json.dumps(header, separators=(",", ":")).encode()
        # Sorted runs make the merged lists quick to sort again (timsort merges runs).
        runs = [self.speeds[u] for u in urgencies] + [self.first_assignment]
        runs += [self.advisors[advisor_id].speeds for advisor_id in advisor_ids]
        packed = array("d")
        for run in runs:
            packed.extend(sorted(run))
        if sys.byteorder == "big":
            packed.byteswap()
        return struct.pack("<I", len(head)) + head + packed.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Partial:
        (length,) = struct.unpack_from("<I", data)
        header = json.loads(data[4 : 4 + length])
        if "t" not in header:
            raise ValueError(
                "a report partial stored by an older version (no call figures): "
                "run `flask --app leadrouter rebuild-report-rollups`"
            )
        packed = array("d")
        packed.frombytes(data[4 + length :])
        if sys.byteorder == "big":
            packed.byteswap()
        position = 0

        def take(n: int) -> array:
            nonlocal position
            position += n
            return packed[position - n : position]

        partial = cls()
        partial.counts.update(header["c"])
        partial.quarters.update(dict(header["q"]))
        partial.reassignments = header["r"]
        for quarter, values in header["t"]["q"]:
            partial.call_quarters[quarter] = CallTally.from_list(values)
        for region, values in header["t"]["r"]:
            partial.call_regions[region] = CallTally.from_list(values)
        for urgency, n in header["s"]:
            partial.speeds[urgency] = take(n)
        partial.first_assignment = take(header["f"])
        for advisor_id, assigned, met, missed, n in header["a"]:
            partial.advisors[advisor_id] = AdvisorPart(assigned, met, missed, take(n))
        for owner, open_leads, overdue in header["o"]:
            if open_leads:
                partial.open_by_owner[owner] = open_leads
            if overdue:
                partial.overdue_by_owner[owner] = overdue
        return partial


def _merge_tallies(mine: dict, theirs: dict) -> None:
    # A month's report merges thousands of tallies, most of them quarters it has none of yet:
    # taking the other's tally object then is a dict insert instead of an addition.
    for key, tally in theirs.items():
        existing = mine.get(key)
        if existing is None:
            mine[key] = tally
        else:
            existing.merge(tally)


def fold(leads: Iterable[tuple[LeadRow, Sequence[HoldRow]]], only_advisor: int | None = None) -> Partial:
    """One partial of every lead given."""
    partial = Partial()
    for lead, holds in leads:
        partial.add_lead(lead, holds, only_advisor)
    return partial


def scopes_of(lead: LeadRow, holds: Sequence[HoldRow]) -> list[tuple[str, int | None]]:
    """The stored partials a lead belongs to: (scope, advisor it is limited to).

    One partial for all leads, and one per value of each report filter: region, source,
    urgency, and each advisor who held the lead. A report with one filter reads that
    filter's partials; a report with two or more reads the leads themselves.
    """
    advisor_ids = sorted({hold.advisor_id for hold in holds})
    scopes = lead_scopes(lead.region, lead.source, lead.urgency, advisor_ids)
    return [(scope, None) for scope in scopes[:4]] + list(zip(scopes[4:], advisor_ids, strict=True))


def lead_scopes(region: str | None, source: str, urgency: str, advisor_ids: Iterable[int]) -> list[str]:
    """Every scope of a lead with these values, held by these advisors (in this order)."""
    return [
        SCOPE_ALL,
        f"region:{region or UNKNOWN_REGION}",
        f"source:{source}",
        f"urgency:{urgency}",
        *(f"advisor:{advisor_id}" for advisor_id in advisor_ids),
    ]


def scope_for(
    region: str | None, source: str | None, urgency: str | None, advisor_id: int | None
) -> str | None:
    """The stored partial that answers a report with these filters; None when none does."""
    given = [
        (name, value)
        for name, value in (
            ("region", region),
            ("source", source),
            ("urgency", urgency),
            ("advisor", advisor_id),
        )
        if value is not None
    ]
    if not given:
        return SCOPE_ALL
    if len(given) == 1:
        name, value = given[0]
        return f"{name}:{value}"
    return None


def hour_of(moment: datetime) -> datetime:
    """The start of the moment's UTC hour."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
