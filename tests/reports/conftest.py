"""Fixtures for the report tests: a hand-built week of leads, API keys and signed-in clients."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from leadrouter.auth.api_keys import issue_api_key
from leadrouter.extensions import db
from leadrouter.models import Assignment, Call, CallOffer, Lead
from tests.dashboard.conftest import (  # noqa: F401  (fixtures shared with the dashboard tests)
    PASSWORD,
    advisor_client,
    advisor_user,
    manager_client,
    manager_user,
    sign_in,
)
from tests.factories import at, make_advisor


def add_lead(created_at: datetime, **fields) -> Lead:
    """A lead row with exactly the given times and states (no intake side effects)."""
    values = {
        "source": "web_form",
        "name": "Private Person",
        "phone": "+15125550199",
        "email": "private.person@example.org",
        "message": "PRIVATE MESSAGE about heroin",
        "region": "TX",
        "state": "TX",
        "urgency": "normal",
        "status": "new",
        "is_open": True,
        "created_at": created_at,
    }
    values.update(fields)
    values["is_open"] = values["status"] in ("new", "queued", "assigned", "contacted", "assessment")
    lead = Lead(**values)
    db.session.add(lead)
    db.session.flush()
    return lead


def hold(lead: Lead, advisor, started: str, ended: str | None = None, kind: str = "assigned") -> Assignment:
    assignment = Assignment(
        lead_id=lead.id,
        advisor_id=advisor.id,
        kind=kind,
        reason="test",
        started_at=at(started),
        ended_at=at(ended) if ended else None,
    )
    db.session.add(assignment)
    db.session.flush()
    return assignment


def add_call(
    started: str,
    outcome: str,
    lead: Lead | None = None,
    *,
    answered_after: int | None = None,
    rung: Sequence = (),
    direction: str = "inbound",
) -> Call:
    """A call that reached the line at `started`, answered `answered_after` seconds later, with
    one offer per advisor `rung`."""
    call = Call(
        call_sid=f"CA{started.replace(' ', '').replace(':', '').replace('-', '')}{outcome}",
        lead_id=lead.id if lead else None,
        direction=direction,
        outcome=outcome,
        started_at=at(started),
        answered_at=None if answered_after is None else at(started) + timedelta(seconds=answered_after),
    )
    db.session.add(call)
    db.session.flush()
    for advisor in rung:
        db.session.add(CallOffer(call_id=call.id, advisor_id=advisor.id, rang_at=call.started_at))
    db.session.flush()
    return call


class Week:
    """The fixture data: five leads in 2026-03-01..03 (UTC), two just outside, three advisors."""

    def __init__(self):
        self.ana = make_advisor(name="Ana Torres")
        self.ben = make_advisor(name="Ben Carter")
        self.cleo = make_advisor(name="Cleo Park")
        ana, ben, cleo = self.ana, self.ben, self.cleo
        # Critical web lead, contacted after 3 min (due 5): met.
        self.l1 = add_lead(
            at("2026-03-01 10:00"),
            urgency="critical",
            status="contacted",
            owner_id=ana.id,
            sla_due_at=at("2026-03-01 10:05"),
            first_contact_at=at("2026-03-01 10:03"),
        )
        hold(self.l1, ana, "2026-03-01 10:00")
        # High call lead at 23:59, contacted after 30 min (due 15): missed; closed.
        self.l2 = add_lead(
            at("2026-03-01 23:59"),
            source="call",
            region="CA",
            state="CA",
            urgency="high",
            status="closed",
            closed_reason="not_interested",
            owner_id=ben.id,
            sla_due_at=at("2026-03-02 00:14"),
            first_contact_at=at("2026-03-02 00:29"),
        )
        hold(self.l2, ben, "2026-03-02 00:00", "2026-03-02 01:00")
        # Normal API lead reassigned twice, never contacted, escalated: missed.
        self.l3 = add_lead(
            at("2026-03-02 12:00"),
            source="api",
            status="assigned",
            owner_id=cleo.id,
            sla_due_at=at("2026-03-02 15:01"),
            reassignment_count=2,
            escalated_at=at("2026-03-02 15:02"),
        )
        hold(self.l3, ana, "2026-03-02 12:02", "2026-03-02 13:01")
        hold(self.l3, ben, "2026-03-02 13:01", "2026-03-02 14:01", kind="reassigned")
        hold(self.l3, cleo, "2026-03-02 14:01", kind="reassigned")
        # Low SMS lead with no state, never routed: pending.
        self.l4 = add_lead(at("2026-03-03 08:00"), source="sms", region=None, state=None, urgency="low")
        # High web lead contacted after 10 min (due 15): met; admitted.
        self.l5 = add_lead(
            at("2026-03-03 09:00"),
            urgency="high",
            status="admitted",
            owner_id=ana.id,
            sla_due_at=at("2026-03-03 09:15"),
            first_contact_at=at("2026-03-03 09:10"),
        )
        hold(self.l5, ana, "2026-03-03 09:00", "2026-03-05 09:00")
        # Just outside the range on both sides.
        self.before = add_lead(at("2026-02-28 23:59"), source="voicemail", urgency="critical")
        self.after = add_lead(at("2026-03-04 00:00"), source="voicemail", urgency="critical")
        hold(self.before, cleo, "2026-03-01 00:30")
        # Calls in range: L1 (TX) answered after 45 s, three advisors rung; two on L2 (CA), one
        # answered after 12 s and one sent to voicemail after two advisors rang out; a caller
        # on L3 (TX) who hung up; a voicemail and a call stuck in progress without a lead.
        # Outside it: one after the range and an advisor's own outbound call.
        add_call("2026-03-01 10:00", "answered", self.l1, answered_after=45, rung=(ben, cleo, ana))
        add_call("2026-03-01 23:59", "answered", self.l2, answered_after=12, rung=(ben,))
        add_call("2026-03-02 00:10", "missed", self.l2, rung=(ben, ana))
        add_call("2026-03-02 12:30", "abandoned", self.l3, rung=(ana,))
        add_call("2026-03-03 05:00", "voicemail", rung=(cleo,))
        add_call("2026-03-05 10:00", "answered", self.after, answered_after=5, rung=(cleo,))
        add_call("2026-03-02 10:00", "in_progress")
        add_call("2026-03-02 12:40", "answered", self.l3, answered_after=3, direction="outbound")


# Fix the minutes so the hand-computed seconds are exact: L1 assigned 30 s, L2 60 s, L5 10 s after creation.
def _exact_assignments(week: Week) -> None:
    rows = {
        a.lead_id: a for a in db.session.scalars(db.select(Assignment).where(Assignment.kind == "assigned"))
    }
    rows[week.l1.id].started_at = at("2026-03-01 10:00").replace(second=30)
    rows[week.l5.id].started_at = at("2026-03-03 09:00").replace(second=10)
    db.session.flush()


@pytest.fixture
def week(session) -> Week:
    data = Week()
    _exact_assignments(data)
    return data


@pytest.fixture
def manager_key(session):
    api_key, raw = issue_api_key("manager", "Manager tools")
    return raw, api_key


@pytest.fixture
def partner_key(session):
    api_key, raw = issue_api_key("partner", "Partner site")
    return raw, api_key


def bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}
