"""GET /api/v1/leads/<id> and GET /api/v1/leads: the SPEC fields, filters, paging, access log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from leadrouter.assignment import operations
from leadrouter.models import AccessLog, FollowUp, Lead, utcnow
from tests.api.conftest import bearer
from tests.factories import make_advisor, make_lead

SPEC_LEAD_FIELDS = {
    "id",
    "status",
    "source",
    "name",
    "phone",
    "email",
    "for_whom",
    "state",
    "region",
    "zip",
    "city",
    "substances",
    "dsm_criteria",
    "severity",
    "urgency",
    "urgency_score",
    "urgency_reasons",
    "do_not_contact",
    "consent",
    "assigned_advisor",
    "routing",
    "follow_ups",
    "events",
    "created_at",
    "first_contact_at",
}


def get(client, key, url, **params):
    return client.get(url, query_string=params, headers=bearer(key))


def test_a_routed_lead_shows_every_spec_field(client, session, manager_key):
    advisor = make_advisor(name="Ana Advisor", email="ana@example.org", regions=["TX"])
    lead = make_lead(
        name="Dana",
        phone="+15122060100",
        zip="78701",
        city="Austin",
        substances=("heroin",),
        dsm_criteria=("cravings", "tolerance", "withdrawal"),
    )
    operations.route_lead(lead.id)
    session.flush()

    response = get(client, manager_key[0], f"/api/v1/leads/{lead.id}")

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) >= SPEC_LEAD_FIELDS
    assert body["id"] == lead.id and body["status"] == "assigned" and body["phone"] == "+15122060100"
    assert body["severity"] == "mild" and isinstance(body["urgency_reasons"], list)
    assert body["assigned_advisor"] == {"id": advisor.id, "name": "Ana Advisor", "email": "ana@example.org"}
    assert body["routing"]["outcome"] == "assigned" and body["routing"]["advisor_id"] == advisor.id
    assert any(c["advisor_id"] == advisor.id and c["chosen"] for c in body["routing"]["candidates"])
    assert [e["type"] for e in body["events"]][:2] == ["created", "assigned"]
    assert all(set(e) == {"type", "at", "actor", "detail"} for e in body["events"])
    assert body["consent"]["given"] is True and body["consent"]["version"] == "test-1"
    follow_up = session.scalars(select(FollowUp).where(FollowUp.lead_id == lead.id)).first()
    assert [f["id"] for f in body["follow_ups"]] == ([follow_up.id] if follow_up else [])
    assert body["do_not_contact"] is False and body["first_contact_at"] is None


def test_an_unrouted_lead_has_no_advisor_and_no_routing(client, session, manager_key):
    lead = make_lead()
    body = get(client, manager_key[0], f"/api/v1/leads/{lead.id}").get_json()
    assert body["assigned_advisor"] is None and body["routing"] is None
    assert body["follow_ups"] == []


def test_reading_a_lead_writes_the_access_log(client, session, manager_key):
    raw, api_key = manager_key
    lead = make_lead()
    get(client, raw, f"/api/v1/leads/{lead.id}")
    entry = session.scalars(select(AccessLog).where(AccessLog.lead_id == lead.id)).one()
    assert entry.api_key_id == api_key.id and entry.action == "api_view_lead" and entry.ip


def test_an_unknown_lead_is_404_json(client, session, manager_key):
    response = get(client, manager_key[0], "/api/v1/leads/987654")
    assert response.status_code == 404 and "error" in response.get_json()
    assert session.scalars(select(AccessLog)).all() == []


@pytest.mark.parametrize("url", ["/api/v1/leads/1", "/api/v1/leads"])
def test_a_partner_key_cannot_read_leads_403(client, session, partner_key, url):
    response = get(client, partner_key[0], url)
    assert response.status_code == 403 and "manager" in response.get_json()["error"]


@pytest.mark.parametrize("url", ["/api/v1/leads/1", "/api/v1/leads"])
def test_reading_leads_needs_a_key_401(client, session, url):
    response = client.get(url)
    assert response.status_code == 401 and response.is_json


def test_the_list_filters_by_phone_in_any_format(client, session, manager_key):
    wanted = make_lead(phone="+15122060100")
    make_lead(phone="+15122060101")
    response = get(client, manager_key[0], "/api/v1/leads", phone="(512) 206-0100")
    assert response.status_code == 200
    assert [row["id"] for row in response.get_json()["leads"]] == [wanted.id]


def test_the_list_filters_by_status_and_creation_date(client, session, manager_key):
    now = utcnow()
    old = make_lead(occurred_at=now - timedelta(days=10))
    recent = make_lead(occurred_at=now - timedelta(hours=1))
    closed = make_lead(occurred_at=now - timedelta(hours=2))
    closed.set_status("closed")
    session.flush()
    key = manager_key[0]

    def ids(**params):
        response = get(client, key, "/api/v1/leads", **params)
        assert response.status_code == 200, response.get_json()
        return {row["id"] for row in response.get_json()["leads"]}

    since = (now - timedelta(days=2)).date().isoformat()
    assert ids(created_from=since) == {recent.id, closed.id}
    assert ids(created_to=(now - timedelta(days=9)).date().isoformat()) == {old.id}
    assert ids(status="closed") == {closed.id}
    assert ids(status="new", created_from=(now - timedelta(hours=3)).isoformat()) == {recent.id}


def test_the_list_pages_newest_first_with_a_cursor(client, session, manager_key):
    now = utcnow()
    leads = [make_lead(occurred_at=now - timedelta(minutes=minutes)) for minutes in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = get(client, manager_key[0], "/api/v1/leads", **params).get_json()
        seen += [row["id"] for row in page["leads"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [lead.id for lead in leads]


def test_listed_leads_are_access_logged(client, session, manager_key):
    leads = [make_lead() for _ in range(3)]
    get(client, manager_key[0], "/api/v1/leads")
    logged = {
        e.lead_id for e in session.scalars(select(AccessLog).where(AccessLog.action == "api_list_leads"))
    }
    assert logged == {lead.id for lead in leads}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 201}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"phone": "12"}, "phone"),
        ({"status": "lost"}, "status"),
        ({"created_from": "yesterday"}, "created_from"),
        ({"created_to": "2024-02-30"}, "created_to"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_list_parameters_are_422(client, session, manager_key, params, field):
    response = get(client, manager_key[0], "/api/v1/leads", **params)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_the_list_rows_carry_the_summary_fields(client, session, manager_key):
    lead = make_lead(name="Dana")
    row = get(client, manager_key[0], "/api/v1/leads").get_json()["leads"][0]
    assert row["id"] == lead.id and row["name"] == "Dana" and row["assigned_advisor"] is None
    assert {"status", "urgency", "region", "created_at", "phone"} <= set(row)
    assert session.get(Lead, lead.id) is not None


def test_a_follow_up_at_a_time_the_person_asked_for_says_so(client, session, manager_key):
    from zoneinfo import ZoneInfo

    from leadrouter.pipeline import operations as pipeline

    make_advisor(regions=["TX"])
    lead = make_lead(state="TX")
    operations.route_lead(lead.id)
    late = (utcnow() + timedelta(days=1)).astimezone(ZoneInfo(lead.timezone)).replace(hour=22, minute=0)
    pipeline.schedule_follow_up(lead, late, "test", requested_time_note="after her night shift")
    session.flush()
    body = get(client, manager_key[0], f"/api/v1/leads/{lead.id}").get_json()
    asked = [f for f in body["follow_ups"] if f["kind"] == "follow_up"]
    assert [f["requested_time_note"] for f in asked] == ["after her night shift"]
