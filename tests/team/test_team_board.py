"""The manager's team board, advisor editing, routing settings with an audit trail, forecast."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from leadrouter.assignment import operations
from leadrouter.assignment.policy_store import load_policy
from leadrouter.models import AuditEntry, Call, utcnow
from tests.factories import make_advisor, make_lead


def test_advisors_cannot_open_the_team_pages(advisor_client):
    for path in ("/team", "/team/rows", "/team/settings", "/team/forecast"):
        assert advisor_client.get(path).status_code == 403


def test_the_board_shows_load_and_the_oldest_overdue_lead(manager_client, session):
    ana = make_advisor(name="Ana Board", capacity=4)
    make_advisor(name="Ben Idle", status="offline")
    leads = [make_lead() for _ in range(2)]
    for lead in leads:
        operations.route_lead(lead.id)
    # Overdue against the time promised to each person.
    leads[1].promised_contact_at = utcnow() - timedelta(minutes=30)
    leads[0].promised_contact_at = utcnow() - timedelta(minutes=5)
    session.commit()
    page = manager_client.get("/team").get_data(as_text=True)
    assert "Ana Board" in page and "Ben Idle" in page
    assert "2/4" in page
    assert f"#{leads[1].id}" in page  # the longer overdue of the two
    assert ana.open_leads == 2


def test_editing_an_advisor_validates_and_audits(manager_client, session):
    advisor = make_advisor(name="Cleo Edit", regions=["TX"], capacity=3, status="offline")
    session.commit()
    bad = manager_client.post(
        f"/team/advisors/{advisor.id}",
        data={
            "regions": "TX, ZZ",
            "languages": "en",
            "capacity": "3",
            "status": "offline",
            "timezone": "America/Chicago",
            "active": "on",
        },
    )
    assert bad.status_code == 422 and "regions" in bad.get_data(as_text=True)
    session.expire_all()
    assert advisor.regions == ["TX"]
    good = manager_client.post(
        f"/team/advisors/{advisor.id}",
        data={
            "regions": "TX, OK",
            "languages": "en, es",
            "capacity": "6",
            "status": "available",
            "timezone": "America/Chicago",
            "shift_limited": "on",
            "shift_mon_from": "08:00",
            "shift_mon_to": "17:00",
            "active": "on",
        },
    )
    assert good.status_code == 303
    session.expire_all()
    assert advisor.regions == ["TX", "OK"] and advisor.capacity == 6 and advisor.status == "available"
    assert advisor.shift_hours == {"mon": [["08:00", "17:00"]]}
    assert session.scalar(select(AuditEntry).where(AuditEntry.target == f"advisor:{advisor.id}"))


def test_routing_settings_are_saved_with_an_audit_trail(manager_client, manager_user, session):
    response = manager_client.post(
        "/team/settings",
        data={
            "sla_critical": "3",
            "sla_high": "10",
            "sla_normal": "45",
            "sla_low": "",
            "pool_overflow_minutes": "5",
            "max_reassignments": "3",
        },
    )
    assert response.status_code == 303
    policy = load_policy()
    assert policy.sla_minutes["critical"] == 3 and policy.sla_minutes["low"] is None
    assert policy.pool_overflow_minutes == 5 and policy.max_reassignments == 3
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "routing_policy.updated"))
    assert entry.actor == f"user:{manager_user.id}"
    assert entry.detail["after"]["sla_minutes"]["high"] == 10
    bad = manager_client.post(
        "/team/settings", data={"sla_critical": "-1", "pool_overflow_minutes": "0", "max_reassignments": "2"}
    )
    assert bad.status_code == 422
    assert load_policy().sla_minutes["critical"] == 3


def test_the_forecast_turns_past_calls_into_advisors_needed(manager_client, session):
    make_advisor(name="Always On")
    now = utcnow()
    for weeks_ago in range(1, 5):
        for minute in range(0, 60, 6):  # ten calls in this hour, each of the last four weeks
            created = now - timedelta(weeks=weeks_ago) + timedelta(minutes=minute - now.minute)
            lead = make_lead(source="call", phone=None, occurred_at=created)
            session.add(
                Call(
                    call_sid=f"CA{lead.id}x{weeks_ago}",
                    lead_id=lead.id,
                    outcome="answered",
                    duration_seconds=600,
                    started_at=created,
                )
            )
    session.commit()
    page = manager_client.get("/team/forecast?share=80&within=20").get_data(as_text=True)
    assert "10.0" in page  # calls expected in this hour
    assert "Advisors needed" in page
