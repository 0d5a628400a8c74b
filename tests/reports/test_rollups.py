"""The report from the workers' rollups equals the report folded from the leads themselves.

A property test: random leads (times, states, SLA, owners), random ownership histories
(reassignments, hand-backs, open and ended periods) and random calls; the rollups are
rebuilt; then random writes happen after the rebuild (status moves, first contacts,
reassignment, new leads, call outcomes), so some hours are stale; the report is compared
field by field with and without the rollups — before the next refresh (stale hours are
folded live), after it, and later in time (pending leads come due). Several filters and
time zones (one with a half-hour offset, whose days do not start on a UTC hour). Runs on
SQLite and, when TEST_DATABASE_URL is set, PostgreSQL.
"""

from __future__ import annotations

import json
import struct
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from leadrouter.extensions import db
from leadrouter.models import Assignment, Call, CallOffer, Lead, ReportHour, ReportPartial
from leadrouter.reports import rollups
from leadrouter.reports.partials import HoldRow, LeadRow, Partial, fold
from leadrouter.reports.queries import ReportFilters, routing_report
from tests.factories import at, make_advisor
from tests.reports.conftest import add_lead

NOW = at("2026-03-10 00:00")
START = at("2026-03-01 00:00")
STATUSES = ("new", "queued", "assigned", "contacted", "assessment", "referred", "admitted", "closed")
OUTCOMES = ("answered", "missed", "abandoned", "voicemail", "in_progress")

seconds = st.integers(min_value=0, max_value=3 * 86400)
lead_strategy = st.fixed_dictionaries(
    {
        "created": st.integers(min_value=-86400, max_value=8 * 86400),
        "source": st.sampled_from(("web_form", "call", "sms", "api")),
        "region": st.sampled_from(("TX", "CA", None)),
        "urgency": st.sampled_from(("critical", "high", "normal", "low")),
        "status": st.sampled_from(STATUSES),
        "closed_reason": st.sampled_from((None, "not_interested", "duplicate")),
        "contact_after": st.one_of(st.none(), seconds, st.floats(min_value=0, max_value=5000)),
        "due_after": st.one_of(st.none(), seconds, st.integers(min_value=9 * 86400, max_value=12 * 86400)),
        "escalated": st.booleans(),
        # Ownership history: (advisor index, gap before it starts, seconds held or None for open).
        "holds": st.lists(
            st.tuples(st.integers(0, 2), st.integers(0, 7200), st.one_of(st.none(), seconds)), max_size=3
        ),
        "micro": st.integers(min_value=0, max_value=999_999),
        "calls": st.lists(st.tuples(st.integers(0, 3 * 86400), st.sampled_from(OUTCOMES)), max_size=2),
    }
)
# What happens after the rebuild, to a lead picked by index.
write_strategy = st.one_of(
    st.tuples(st.just("status"), st.integers(0, 99), st.sampled_from(STATUSES)),
    st.tuples(st.just("contact"), st.integers(0, 99), seconds),
    st.tuples(st.just("reassign"), st.integers(0, 99), st.integers(0, 2)),
    st.tuples(st.just("urgency"), st.integers(0, 99), st.sampled_from(("critical", "high", "normal", "low"))),
    st.tuples(st.just("call"), st.integers(0, 99), st.sampled_from(OUTCOMES)),
    st.tuples(st.just("new"), st.integers(0, 99), lead_strategy),
)
FILTERS = ("all", "TX", "unknown", "high", "call", "advisor", "two")
ZONES = ("UTC", "America/Chicago", "Asia/Kolkata")


@pytest.fixture
def no_margin(monkeypatch):
    """Writes in a test follow each other within microseconds: no commit lag to allow for."""
    monkeypatch.setattr(rollups, "MARGIN", timedelta(0))


def _add(spec: dict, advisors, index: int) -> Lead:
    created = START + timedelta(seconds=spec["created"], microseconds=spec["micro"])
    first_contact = (
        None if spec["contact_after"] is None else created + timedelta(seconds=spec["contact_after"])
    )
    owner = None
    starts = created
    periods = []
    for position, (advisor, gap, held) in enumerate(spec["holds"]):
        starts = starts + timedelta(seconds=gap)
        last = position == len(spec["holds"]) - 1
        ends = None if (held is None and last) else starts + timedelta(seconds=held or 60)
        periods.append((advisors[advisor], starts, ends, "assigned" if position == 0 else "reassigned"))
        if ends is None:
            owner = advisors[advisor].id
        starts = ends or starts
    lead = add_lead(
        created,
        source=spec["source"],
        region=spec["region"],
        state=spec["region"],
        urgency=spec["urgency"],
        status=spec["status"],
        closed_reason=spec["closed_reason"] if spec["status"] == "closed" else None,
        first_contact_at=first_contact,
        sla_due_at=None if spec["due_after"] is None else created + timedelta(seconds=spec["due_after"]),
        escalated_at=created + timedelta(hours=1) if spec["escalated"] else None,
        owner_id=owner,
    )
    for advisor, begins, ends, kind in periods:
        db.session.add(
            Assignment(
                lead_id=lead.id,
                advisor_id=advisor.id,
                kind=kind,
                reason="test",
                started_at=begins,
                ended_at=ends,
            )
        )
    for number, (after, outcome) in enumerate(spec["calls"]):
        _call(lead, created + timedelta(seconds=after), outcome, f"{index}-{number}")
    db.session.flush()
    return lead


def _call(lead: Lead | None, started, outcome: str, tag: str) -> Call:
    # Answered calls waited 0-39 s: some within the 20 s service level, some not.
    answered_at = started + timedelta(seconds=sum(map(ord, tag)) % 40) if outcome == "answered" else None
    call = Call(
        call_sid=f"CA{tag}",
        lead_id=lead.id if lead else None,
        outcome=outcome,
        started_at=started,
        answered_at=answered_at,
    )
    db.session.add(call)
    return call


def _write(write, leads: list[Lead], advisors, tag: str) -> None:
    """One change after the rebuild, through the ORM as the app makes it (updated_at moves)."""
    kind, index, value = write
    if kind == "new":
        leads.append(_add(value, advisors, 1000 + len(leads)))
        return
    if not leads:
        return
    lead = leads[index % len(leads)]
    if kind == "status":
        lead.status, lead.is_open = value, value in ("new", "queued", "assigned", "contacted", "assessment")
        lead.closed_reason = "duplicate" if value == "closed" else None
    elif kind == "contact":
        lead.first_contact_at = lead.created_at + timedelta(seconds=value)
    elif kind == "urgency":
        lead.urgency = value
    elif kind == "reassign":
        advisor = advisors[value]
        current = db.session.scalars(
            db.select(Assignment).where(Assignment.lead_id == lead.id, Assignment.ended_at.is_(None))
        ).first()
        moment = lead.created_at + timedelta(hours=2)
        if current is not None:
            current.ended_at = max(moment, current.started_at)
        db.session.add(
            Assignment(
                lead_id=lead.id, advisor_id=advisor.id, kind="reassigned", reason="test", started_at=moment
            )
        )
        lead.owner_id = advisor.id
    elif kind == "call":
        _call(lead, lead.created_at + timedelta(minutes=5), value, f"w{tag}")
    db.session.flush()


def _filters(name: str, advisors) -> dict:
    return {
        "all": {},
        "TX": {"region": "TX"},
        "unknown": {"region": "unknown"},
        "high": {"urgency": "high"},
        "call": {"source": "call"},
        "advisor": {"advisor_id": advisors[1].id},
        "two": {"region": "TX", "source": "web_form"},
    }[name]


def _same_both_ways(filters: ReportFilters, timezone: str, now) -> None:
    from_rollups = routing_report(filters, timezone, now=now)
    from_leads = routing_report(filters, timezone, now=now, use_rollups=False)
    assert from_rollups == from_leads


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    specs=st.lists(lead_strategy, max_size=20),
    writes=st.lists(write_strategy, max_size=6),
    data=st.data(),
)
def test_rollups_equal_a_direct_aggregation(session, no_margin, specs, writes, data):
    savepoint = session.begin_nested()
    try:
        advisors = [make_advisor(name=name) for name in ("Ana", "Ben", "Cleo")]
        leads = [_add(spec, advisors, index) for index, spec in enumerate(specs)]
        rollups.rebuild(now=NOW)
        for number, write in enumerate(writes):
            _write(write, leads, advisors, str(number))
        report = ReportFilters(
            start=date(2026, 3, 1),
            end=date(2026, 3, data.draw(st.integers(1, 9), label="end day")),
            **_filters(data.draw(st.sampled_from(FILTERS), label="filter"), advisors),
        )
        timezone = data.draw(st.sampled_from(ZONES), label="zone")
        later = NOW + timedelta(hours=data.draw(st.integers(0, 72 * 3), label="hours later"))

        _same_both_ways(report, timezone, NOW)  # the writes not refreshed yet
        _same_both_ways(report, timezone, later)  # pending leads came due since
        rollups.refresh(now=later)
        _same_both_ways(report, timezone, later)
        _same_both_ways(report, timezone, NOW)  # asked about an earlier moment than computed
    finally:
        savepoint.rollback()


def test_a_refreshed_month_is_read_from_the_stored_days(session, no_margin, monkeypatch, week):
    """Trusted whole days come from the span-24 partials: nothing is folded live."""
    rollups.rebuild(now=NOW)
    assert db.session.query(ReportHour).count() == 1 + 3 * 24 + 1  # 2026-02-28 23:00 .. 2026-03-04 00:00
    assert db.session.query(ReportPartial).filter_by(span_hours=24, scope="").count() == 5
    folded = []
    monkeypatch.setattr(rollups, "scan", lambda *args: folded.append(args) or Partial())
    report = routing_report(ReportFilters(date(2026, 3, 1), date(2026, 3, 3)), "UTC", now=NOW)
    assert folded == []
    assert report["leads"] == 5
    assert (report["calls"]["inbound"], report["calls"]["average_speed_of_answer_seconds"]) == (6, 28.5)
    assert report["calls"]["by_region"]["TX"]["abandoned"] == 1


def test_a_write_after_the_refresh_is_in_the_report_at_once(session, no_margin, week):
    rollups.rebuild(now=NOW)
    filters = ReportFilters(date(2026, 3, 1), date(2026, 3, 3))
    assert routing_report(filters, "UTC", now=NOW)["funnel"]["admitted"] == 1
    week.l1.status = "admitted"
    db.session.flush()
    assert routing_report(filters, "UTC", now=NOW)["funnel"]["admitted"] == 2
    assert rollups.refresh(now=NOW) == 1  # only 2026-03-01 10:00 changed
    assert routing_report(filters, "UTC", now=NOW)["funnel"]["admitted"] == 2


def test_a_pending_lead_coming_due_makes_its_hour_stale(session, no_margin, week):
    """L4 is pending with no due time; give L5's twin a future due time and let it pass."""
    twin = add_lead(at("2026-03-03 10:00"), status="assigned", sla_due_at=at("2026-03-03 10:15"))
    rollups.rebuild(now=at("2026-03-03 10:05"))
    hour = db.session.get(ReportHour, at("2026-03-03 10:00"))
    assert hour.stale_at == twin.sla_due_at
    filters = ReportFilters(date(2026, 3, 1), date(2026, 3, 3))
    before = routing_report(filters, "UTC", now=at("2026-03-03 10:05"))["sla"]
    after = routing_report(filters, "UTC", now=at("2026-03-03 10:16"))["sla"]
    assert after["missed"] == before["missed"] + 1 and after["pending"] == before["pending"] - 1
    assert rollups.refresh(now=at("2026-03-03 10:16")) == 1
    assert db.session.get(ReportHour, at("2026-03-03 10:00")).stale_at is None


def test_a_lead_reassigned_to_its_own_advisor_makes_its_hour_changed(session, no_margin):
    """A new assignment that leaves the lead's columns as they were still moves the report.

    Reassigned to the advisor who holds it, the lead keeps its owner_id: only the
    assignment row changes, and the stored hour must not be trusted any more.
    """
    cleo = make_advisor(name="Cleo")
    lead = add_lead(START, status="assigned", owner_id=cleo.id)
    db.session.add(
        Assignment(lead_id=lead.id, advisor_id=cleo.id, kind="assigned", reason="test", started_at=START)
    )
    db.session.flush()
    rollups.rebuild(now=NOW)
    filters = ReportFilters(date(2026, 3, 1), date(2026, 3, 1))
    assert routing_report(filters, "UTC", now=NOW)["reassignments"] == 0
    _write(("reassign", 0, 0), [lead], [cleo], "0")
    assert lead.owner_id == cleo.id
    _same_both_ways(filters, "UTC", NOW)
    assert routing_report(filters, "UTC", now=NOW)["reassignments"] == 1
    assert rollups.refresh(now=NOW) == 1  # 2026-03-01 00:00 changed
    _same_both_ways(filters, "UTC", NOW)


# --- the partials alone (pure) -------------------------------------------------------

lead_row = st.builds(
    LeadRow,
    id=st.integers(1, 10**6),
    created_at=st.just(START),
    source=st.sampled_from(("web_form", "call")),
    region=st.sampled_from(("TX", None)),
    urgency=st.sampled_from(("high", "low")),
    status=st.sampled_from(STATUSES),
    closed_reason=st.sampled_from((None, "duplicate")),
    sla=st.sampled_from(("met", "missed", "pending")),
    escalated=st.booleans(),
    speed=st.one_of(st.none(), st.floats(-5, 10**6)),
    owner_id=st.one_of(st.none(), st.integers(1, 3)),
    is_open=st.booleans(),
    overdue=st.booleans(),
    first_contact_due=st.one_of(st.none(), st.just(NOW)),
)
holds = st.lists(
    st.builds(
        HoldRow,
        st.integers(1, 3),
        st.sampled_from(("assigned", "reassigned")),
        st.floats(0, 10**5),
        st.booleans(),
    ),
    max_size=3,
)


@given(st.lists(st.tuples(lead_row, holds)), st.integers(0, 20), st.one_of(st.none(), st.integers(1, 3)))
def test_folding_in_two_parts_and_merging_is_folding_at_once(leads, cut, only_advisor):
    whole = fold(leads, only_advisor)
    first, second = fold(leads[:cut], only_advisor), fold(leads[cut:], only_advisor)
    merged = Partial.from_bytes(first.to_bytes()).merge(Partial.from_bytes(second.to_bytes()))
    assert merged.counts == whole.counts
    assert merged.quarters == whole.quarters
    assert {u: sorted(v) for u, v in merged.speeds.items() if v} == {
        u: sorted(v) for u, v in whole.speeds.items() if v
    }
    assert sorted(merged.first_assignment) == sorted(whole.first_assignment)
    assert merged.reassignments == whole.reassignments
    assert {a: (p.assigned, p.met, p.missed, sorted(p.speeds)) for a, p in merged.advisors.items()} == {
        a: (p.assigned, p.met, p.missed, sorted(p.speeds)) for a, p in whole.advisors.items()
    }
    assert +merged.open_by_owner == +whole.open_by_owner
    assert +merged.overdue_by_owner == +whole.overdue_by_owner


def test_a_partial_stored_by_the_previous_version_is_refused_by_name():
    previous = Partial().to_bytes()
    (length,) = struct.unpack_from("<I", previous)
    header = json.loads(previous[4 : 4 + length])
    del header["t"]
    head = json.dumps(header).encode()
    with pytest.raises(ValueError, match="rebuild-report-rollups"):
        Partial.from_bytes(struct.pack("<I", len(head)) + head)


def test_a_call_still_ringing_when_its_hour_was_rolled_up_has_every_offer_counted(session, no_margin):
    """Offers count on answered calls only, and answering writes the call row: the hour is
    folded live at once and re-rolled by the next refresh (README, live calls)."""
    ana, ben = make_advisor(name="Ana Roll"), make_advisor(name="Ben Roll")
    lead = add_lead(at("2026-03-01 10:59"), source="call")
    call = Call(
        call_sid="CAroll1", lead_id=lead.id, started_at=at("2026-03-01 10:59") + timedelta(seconds=50)
    )
    db.session.add(call)
    db.session.flush()
    db.session.add(CallOffer(call_id=call.id, advisor_id=ana.id, rang_at=call.started_at))
    db.session.flush()
    rollups.rebuild(now=NOW)  # the hour is over and stored with Ana still ringing
    filters = ReportFilters(date(2026, 3, 1), date(2026, 3, 1))
    calls = routing_report(filters, "UTC", now=NOW)["calls"]
    assert (calls["inbound"], calls["answered"], calls["offers_per_answered_call"]) == (1, 0, None)

    # Ana did not answer; Ben is rung and takes the call, after the hour's end.
    ringing = db.session.scalar(select(CallOffer).where(CallOffer.call_id == call.id))
    ringing.ended_at, ringing.outcome = at("2026-03-01 11:00") + timedelta(seconds=20), "no-answer"
    db.session.add(
        CallOffer(call_id=call.id, advisor_id=ben.id, rang_at=at("2026-03-01 11:00") + timedelta(seconds=20))
    )
    db.session.flush()
    _same_both_ways(filters, "UTC", NOW)
    call.answered_at, call.advisor_id, call.outcome = (
        at("2026-03-01 11:00") + timedelta(seconds=35),
        ben.id,
        "answered",
    )
    db.session.flush()
    _same_both_ways(filters, "UTC", NOW)
    assert routing_report(filters, "UTC", now=NOW)["calls"]["offers_per_answered_call"] == 2
    assert rollups.refresh(now=NOW) == 1  # 2026-03-01 10:00 re-rolled
    _same_both_ways(filters, "UTC", NOW)
    assert routing_report(filters, "UTC", now=NOW)["calls"]["offers_per_answered_call"] == 2
