"""An id beyond what the id columns hold is 'not found' everywhere, never a database error (500)."""

from __future__ import annotations

from leadrouter.auth.api_keys import issue_api_key
from leadrouter.database import MAX_ID
from tests.api.conftest import bearer
from tests.factories import make_lead

HUGE = 44099074998050  # what schemathesis sent the report on PostgreSQL


def test_a_lead_page_with_a_huge_id_is_not_found(manager_client):
    assert manager_client.get(f"/leads/{HUGE}").status_code == 404
    assert manager_client.get(f"/reports/leads/{HUGE}/routing").status_code == 404
    assert manager_client.get(f"/leads/{MAX_ID}").status_code == 404  # the largest id is still an id


def test_reassigning_to_a_huge_advisor_id_asks_for_an_advisor(manager_client, session):
    lead = make_lead(state="TX")
    session.commit()
    response = manager_client.post(
        f"/leads/{lead.id}/reassign", data={"advisor_id": str(HUGE), "why": "test"}
    )
    assert response.status_code == 422
    assert "choose an advisor" in response.get_data(as_text=True)


def test_the_report_refuses_a_huge_advisor_id(client, session):
    _, manager_key = issue_api_key("manager", "Reports")
    session.commit()
    response = client.get(
        f"/api/v1/reports/routing?start=2026-11-01&end=2026-11-02&advisor={HUGE}", headers=bearer(manager_key)
    )
    assert response.status_code == 422
    assert "advisor" in response.get_json()["errors"]
    assert client.get(f"/api/v1/leads/{HUGE}", headers=bearer(manager_key)).status_code == 404
