"""Why a lead waits, read from a stored routing trace (pure: no app, no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from leadrouter.routing.engine import AdvisorFacts, LeadFacts, decide
from leadrouter.routing.waiting import why_waiting

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # a Wednesday, 09:00 in Texas


def _advisor(advisor_id: int, **fields) -> AdvisorFacts:
    values = {
        "id": advisor_id,
        "name": f"Advisor {advisor_id}",
        "regions": frozenset({"TX"}),
        "languages": frozenset({"en"}),
        "status": "available",
        "capacity": 5,
        "open_leads": 0,
        "timezone": "America/Chicago",
    }
    values.update(fields)
    return AdvisorFacts(**values)


def test_a_queued_decision_counts_what_stopped_each_advisor():
    team = [
        _advisor(1, status="offline"),
        _advisor(2, status="offline"),
        _advisor(3, open_leads=5),
        _advisor(4, regions=frozenset({"CA"})),
        _advisor(5, status="busy"),
    ]
    decision = decide(LeadFacts(id=1, urgency="normal", region="TX", created_at=NOW), team, NOW)
    assert decision.advisor_id is None

    reason = why_waiting(decision.to_dict(), escalated=False)

    assert reason.kind == "nobody_eligible" and reason.considered == 5
    assert reason.blockers == {"offline": 2, "at_capacity": 1, "not_covering": 1, "busy": 1}
    assert list(reason.blockers)[0] == "offline"  # most first


def test_a_lead_routing_has_not_seen_and_an_escalated_one():
    assert why_waiting(None, escalated=False).kind == "not_routed"
    assert why_waiting({"outcome": "assigned"}, escalated=False).kind == "not_routed"
    escalated = why_waiting(None, escalated=True)
    assert escalated.kind == "escalated" and escalated.considered == 0 and escalated.blockers == {}


def test_an_unknown_reason_is_counted_as_other_not_dropped():
    trace = {
        "outcome": "queued",
        "candidates": [{"eligible": False, "reasons": ["something new"]}, {"eligible": True, "reasons": []}],
        "not_considered": [{"reason": "does not cover FL", "advisor_ids": [7, 8, 9]}],
    }
    reason = why_waiting(trace, escalated=False)
    assert reason.considered == 5 and reason.blockers == {"not_covering": 3, "other": 1}
