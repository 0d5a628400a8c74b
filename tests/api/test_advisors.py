"""GET|POST /api/v1/advisors and GET|PATCH /api/v1/advisors/<id> (manager key)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from leadrouter.models import Advisor, AuditEntry
from tests.api.conftest import bearer
from tests.factories import make_advisor

URL = "/api/v1/advisors"
SPEC_ADVISOR_FIELDS = {
    "id",
    "name",
    "email",
    "phone",
    "regions",
    "languages",
    "capacity",
    "status",
    "timezone",
    "shift_hours",
    "open_leads",
}


def advisor_body(**fields) -> dict:
    body = {"name": "Ana Advisor", "email": "Ana@Example.org", "phone": "(512) 206-0142"}
    body.update(fields)
    return body


def advisor_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Advisor))


def test_creating_an_advisor_is_201_with_defaults(client, session, manager_key):
    response = client.post(URL, json=advisor_body(), headers=bearer(manager_key[0]))

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) >= SPEC_ADVISOR_FIELDS
    assert response.headers["Location"].endswith(f"{URL}/{body['id']}")
    assert body["email"] == "ana@example.org" and body["phone"] == "+15122060142"
    assert body["regions"] == ["*"] and body["languages"] == ["en"]
    assert body["status"] == "offline" and body["open_leads"] == 0 and body["shift_hours"] is None
    assert body["timezone"] == "America/New_York" and body["capacity"] == 10
    advisor = session.get(Advisor, body["id"])
    assert advisor.email == "ana@example.org"
    audit = session.scalars(select(AuditEntry).where(AuditEntry.target == f"advisor:{advisor.id}")).one()
    assert audit.action == "advisor.created" and audit.actor.startswith("api_key:")


def test_every_advisor_field_can_be_given(client, session, manager_key):
    shifts = {"mon": [["08:00", "17:00"]], "fri": [["22:00", "06:00"]], "sat": []}
    body = advisor_body(
        regions=["tx", "OK"],
        languages=["EN", "es"],
        capacity=4,
        status="busy",
        timezone="America/Chicago",
        shift_hours=shifts,
        active=True,
    )
    response = client.post(URL, json=body, headers=bearer(manager_key[0]))
    assert response.status_code == 201, response.get_json()
    advisor = session.get(Advisor, response.get_json()["id"])
    assert advisor.regions == ["TX", "OK"] and advisor.languages == ["en", "es"]
    assert (advisor.capacity, advisor.status, advisor.timezone) == (4, "busy", "America/Chicago")
    assert advisor.shift_hours == shifts


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "name", "blank"),
        ({"email": "ana"}, "email", "Not a valid email"),
        ({"phone": "911"}, "phone", "Not a valid phone number"),
        ({"regions": []}, "regions", "at least one"),
        ({"regions": ["TX", "XX"]}, "regions", "USPS"),
        ({"regions": ["TX", "tx"]}, "regions", "repeat"),
        ({"regions": "TX"}, "regions", "Not a valid list"),
        ({"languages": ["english"]}, "languages", "ISO 639-1"),
        ({"languages": ["qq"]}, "languages", "ISO 639-1"),
        ({"capacity": -1}, "capacity", "greater than or equal to 0"),
        ({"capacity": "5"}, "capacity", "Not a valid integer"),
        ({"capacity": 2.5}, "capacity", "Not a valid integer"),
        ({"capacity": 10**12}, "capacity", "less than or equal to 1000"),
        ({"status": "away"}, "status", "available, busy, offline"),
        ({"timezone": "Mars/Olympus"}, "timezone", "IANA"),
        ({"timezone": "../../etc/passwd"}, "timezone", "IANA"),
        ({"shift_hours": {"monday": [["08:00", "17:00"]]}}, "shift_hours", "Unknown day"),
        ({"shift_hours": {"mon": [["8am", "5pm"]]}}, "shift_hours", "HH:MM"),
        ({"shift_hours": {"mon": [["08:00"]]}}, "shift_hours", "two times"),
        ({"shift_hours": {"mon": [["09:00", "09:00"]]}}, "shift_hours", "same time"),
        ({"shift_hours": {"mon": [["24:00", "09:00"]]}}, "shift_hours", "24:00"),
        ({"shift_hours": {"mon": "08:00-17:00"}}, "shift_hours", "list"),
        ({"shift_hours": ["mon"]}, "shift_hours", "object"),
        ({"id": 7}, "id", "Read-only"),
        ({"open_leads": 3}, "open_leads", "Read-only"),
        ({"team": "night"}, "team", "Unknown field"),
    ],
)
def test_bad_advisor_fields_are_422_and_store_nothing(client, session, manager_key, fields, field, message):
    before = advisor_count(session)
    response = client.post(URL, json=advisor_body(**fields), headers=bearer(manager_key[0]))
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert field in errors and message in str(errors[field]), errors
    assert advisor_count(session) == before


def test_name_and_email_are_required(client, session, manager_key):
    response = client.post(URL, json={"phone": "5122060142"}, headers=bearer(manager_key[0]))
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"name", "email"}


def test_an_email_already_in_use_is_422_whatever_its_case(client, session, manager_key):
    existing = make_advisor(email="ana@example.org")
    before = advisor_count(session)
    response = client.post(URL, json=advisor_body(email="ANA@example.org"), headers=bearer(manager_key[0]))
    assert response.status_code == 422
    assert f"Advisor {existing.id} already has this email" in response.get_json()["errors"]["email"][0]
    assert advisor_count(session) == before


def test_listing_advisors_and_finding_one_by_email(client, session, manager_key):
    ana = make_advisor(email="ana@example.org", regions=["TX"], status="available")
    bo = make_advisor(email="bo@example.org", regions=["*"], status="offline")
    make_advisor(email="cy@example.org", regions=["CA"], status="available")
    key = manager_key[0]

    def ids(**params):
        response = client.get(URL, query_string=params, headers=bearer(key))
        assert response.status_code == 200
        return [row["id"] for row in response.get_json()["advisors"]]

    assert set(ids()) >= {ana.id, bo.id}
    assert ids(email="Bo@Example.org") == [bo.id]
    assert set(ids(region="tx")) == {ana.id, bo.id}
    assert ana.id in ids(status="available") and bo.id not in ids(status="available")


def test_reading_one_advisor(client, session, manager_key):
    advisor = make_advisor(shift_hours={"mon": [["08:00", "17:00"]]})
    response = client.get(f"{URL}/{advisor.id}", headers=bearer(manager_key[0]))
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == advisor.id and body["shift_hours"] == {"mon": [["08:00", "17:00"]]}
    assert client.get(f"{URL}/99999", headers=bearer(manager_key[0])).status_code == 404


@pytest.mark.parametrize(
    ("method", "url"), [("get", URL), ("post", URL), ("get", f"{URL}/1"), ("patch", f"{URL}/1")]
)
def test_advisors_need_a_manager_key(client, session, partner_key, method, url):
    assert getattr(client, method)(url, json={}).status_code == 401
    response = getattr(client, method)(url, json={}, headers=bearer(partner_key[0]))
    assert response.status_code == 403


def test_patch_changes_only_the_fields_sent(client, session, manager_key):
    advisor = make_advisor(name="Ana", regions=["TX"], capacity=5)
    response = client.patch(
        f"{URL}/{advisor.id}",
        json={"regions": ["*"], "timezone": "America/Denver", "shift_hours": None},
        headers=bearer(manager_key[0]),
    )
    assert response.status_code == 200, response.get_json()
    assert advisor.regions == ["*"] and advisor.timezone == "America/Denver"
    assert advisor.name == "Ana" and advisor.capacity == 5
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "advisor.updated")).one()
    assert audit.detail["fields"] == ["regions", "timezone"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"open_leads": 0}, "open_leads"),
        ({"id": 5}, "id"),
        ({"capacity": -2}, "capacity"),
        ({"email": None}, "email"),
    ],
)
def test_patch_refuses_read_only_and_bad_fields(client, session, manager_key, fields, field):
    advisor = make_advisor(capacity=5)
    response = client.patch(f"{URL}/{advisor.id}", json=fields, headers=bearer(manager_key[0]))
    assert response.status_code == 422 and field in response.get_json()["errors"]
    session.refresh(advisor)
    assert advisor.capacity == 5 and advisor.open_leads == 0


def test_patch_to_an_email_another_advisor_has_is_422(client, session, manager_key):
    make_advisor(email="ana@example.org")
    bo = make_advisor(email="bo@example.org")
    response = client.patch(
        f"{URL}/{bo.id}", json={"email": "ana@example.org"}, headers=bearer(manager_key[0])
    )
    assert response.status_code == 422 and "email" in response.get_json()["errors"]
    same = client.patch(f"{URL}/{bo.id}", json={"email": "BO@example.org"}, headers=bearer(manager_key[0]))
    assert same.status_code == 200


def test_patch_of_an_unknown_advisor_is_404(client, session, manager_key):
    response = client.patch(f"{URL}/99999", json={"status": "busy"}, headers=bearer(manager_key[0]))
    assert response.status_code == 404 and response.is_json


@pytest.mark.parametrize(
    ("start", "change", "drains"),
    [
        ({"status": "offline"}, {"status": "available"}, True),
        ({"status": "busy"}, {"status": "available"}, True),
        ({"status": "available", "capacity": 2}, {"capacity": 5}, True),
        ({"status": "available", "regions": ["TX"]}, {"regions": ["TX", "OK"]}, True),
        ({"status": "available", "capacity": 5}, {"capacity": 2}, False),
        ({"status": "available"}, {"status": "busy"}, False),
        ({"status": "offline", "capacity": 2}, {"capacity": 5}, False),
        ({"status": "available"}, {"name": "New Name"}, False),
        ({"status": "available"}, {"status": "available"}, False),
    ],
)
def test_an_advisor_who_can_take_more_drains_the_queue(
    client, session, manager_key, enqueued, start, change, drains
):
    advisor = make_advisor(**start)
    response = client.patch(f"{URL}/{advisor.id}", json=change, headers=bearer(manager_key[0]))
    assert response.status_code == 200
    assert ("routing.drain_queue" in enqueued) is drains


def test_a_new_available_advisor_drains_the_queue(client, session, manager_key, enqueued):
    client.post(URL, json=advisor_body(status="available"), headers=bearer(manager_key[0]))
    assert enqueued == ["routing.drain_queue"]


def test_a_drain_assigns_a_waiting_lead_to_the_advisor_made_available(client, session, manager_key):
    from leadrouter.assignment import operations
    from tests.factories import make_lead

    advisor = make_advisor(status="offline", regions=["TX"])
    lead = make_lead(state="TX")
    assert operations.route_lead(lead.id).outcome == "queued"

    client.patch(f"{URL}/{advisor.id}", json={"status": "available"}, headers=bearer(manager_key[0]))
    # What the drain task does, in-process: the advisor is eligible again.
    operations.route_lead(lead.id, trigger="drain")
    assert lead.owner_id == advisor.id
