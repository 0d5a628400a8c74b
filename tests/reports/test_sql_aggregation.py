"""PostgreSQL computes the report in the database; the numbers must equal the portable Python path.

A property test: random leads (times, states, SLA, owners) and random ownership histories
(reassignments, hand-backs to the same advisor, open and ended periods), then every field
of the report, for several filters and time zones, from both paths. PostgreSQL only: on
SQLite there is one path.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrouter.extensions import db
from leadrouter.models import Assignment
from leadrouter.reports import queries
from leadrouter.reports.queries import ReportFilters, routing_report
from tests.conftest import TEST_DATABASE_URL
from tests.factories import at, make_advisor
from tests.reports.conftest import add_lead

NOW = at("2026-03-10 00:00")
START = at("2026-03-01 00:00")
STATUSES = ("new", "queued", "assigned", "contacted", "assessment", "referred", "admitted", "closed")

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
        "due_after": st.one_of(st.none(), seconds),
        "escalated": st.booleans(),
        # Ownership history: (advisor index, gap before it starts, seconds held or None for open).
        "holds": st.lists(
            st.tuples(st.integers(0, 2), st.integers(0, 7200), st.one_of(st.none(), seconds)), max_size=3
        ),
        "micro": st.integers(min_value=0, max_value=999_999),
    }
)


@pytest.fixture(scope="session", params=["postgres"] if TEST_DATABASE_URL else [])
def backend(request) -> str:
    """This module runs on PostgreSQL only (no SQLite variant to skip)."""
    return request.param


@pytest.fixture
def postgres_only(backend):
    assert backend == "postgres"


def _add(spec: dict, advisors) -> None:
    created = START + timedelta(seconds=spec["created"], microseconds=spec["micro"])
    first_contact = (
        None if spec["contact_after"] is None else created + timedelta(seconds=spec["contact_after"])
    )
    owner = None
    starts = created
    periods = []
    for index, (advisor, gap, held) in enumerate(spec["holds"]):
        starts = starts + timedelta(seconds=gap)
        last = index == len(spec["holds"]) - 1
        ends = None if (held is None and last) else starts + timedelta(seconds=held or 60)
        periods.append((advisors[advisor], starts, ends, "assigned" if index == 0 else "reassigned"))
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
    db.session.flush()


def _both_paths(filters: ReportFilters, timezone: str, monkeypatch) -> tuple[dict, dict]:
    in_database = routing_report(filters, timezone, now=NOW)
    with monkeypatch.context() as patch:
        patch.setattr(queries, "_aggregate_in_postgres", queries._aggregate_in_python)
        in_python = routing_report(filters, timezone, now=NOW)
    return in_database, in_python


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(leads=st.lists(lead_strategy, max_size=25), data=st.data())
def test_the_database_aggregation_equals_the_python_one(postgres_only, session, monkeypatch, leads, data):
    savepoint = session.begin_nested()
    try:
        advisors = [make_advisor(name=name) for name in ("Ana", "Ben", "Cleo")]
        for spec in leads:
            _add(spec, advisors)
        filters = data.draw(
            st.sampled_from(
                [
                    {},
                    {"region": "TX"},
                    {"region": "unknown"},
                    {"urgency": "high"},
                    {"source": "call"},
                    {"advisor_id": advisors[1].id},
                ]
            )
        )
        timezone = data.draw(st.sampled_from(("UTC", "America/Chicago", "Asia/Kolkata")))
        report = ReportFilters(start=date(2026, 3, 1), end=date(2026, 3, 7), **filters)
        in_database, in_python = _both_paths(report, timezone, monkeypatch)
        in_database.pop("generated_at"), in_python.pop("generated_at")
        assert in_database == in_python
    finally:
        savepoint.rollback()


def test_the_hand_computed_week_from_both_paths(postgres_only, week, monkeypatch):
    in_database, in_python = _both_paths(
        ReportFilters(date(2026, 3, 1), date(2026, 3, 3)), "UTC", monkeypatch
    )
    assert in_database == in_python
