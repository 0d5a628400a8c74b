"""GET /api/v1/reports/routing: manager keys only, 422 naming each bad field, JSON and CSV."""

from __future__ import annotations

import csv
import io

import pytest
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from sqlalchemy import select

from leadrouter.models import AccessLog
from tests.reports.conftest import bearer

URL = "/api/v1/reports/routing"
WEEK = {"start": "2026-03-01", "end": "2026-03-03"}


def test_without_a_key_is_401(client):
    response = client.get(URL, query_string=WEEK)
    assert response.status_code == 401
    assert "error" in response.get_json()
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")


def test_a_bad_key_is_401(client):
    assert client.get(URL, query_string=WEEK, headers=bearer("lr_nope_nope")).status_code == 401


def test_a_partner_key_is_403(client, partner_key):
    response = client.get(URL, query_string=WEEK, headers=bearer(partner_key[0]))
    assert response.status_code == 403
    assert "error" in response.get_json()


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"start": "2026-03-01"}, "end", "Missing data"),
        ({"start": "03/01/2026", "end": "2026-03-03"}, "start", "date"),
        ({"start": "2026-02-30", "end": "2026-03-03"}, "start", "date"),
        ({"start": "2026-03-04", "end": "2026-03-03"}, "end", "on or after start"),
        ({"start": "2025-01-01", "end": "2026-01-02"}, "end", "366 days"),
        ({**WEEK, "region": "ZZ"}, "region", "Must be one of"),
        ({**WEEK, "source": "fax"}, "source", "Must be one of"),
        ({**WEEK, "urgency": "extreme"}, "urgency", "Must be one of"),
        ({**WEEK, "advisor": "ana"}, "advisor", "integer"),
        ({**WEEK, "advisor": "999999"}, "advisor", "no advisor"),
        ({**WEEK, "format": "xlsx"}, "format", "Must be one of"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, manager_key, query, field, message):
    response = client.get(URL, query_string=query, headers=bearer(manager_key[0]))
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert list(errors) == [field]
    assert message.lower() in " ".join(errors[field]).lower()


def test_a_full_year_is_allowed(client, manager_key):
    response = client.get(
        URL, query_string={"start": "2024-01-01", "end": "2024-12-31"}, headers=bearer(manager_key[0])
    )
    assert response.status_code == 200  # 2024 is a leap year: 366 days


def test_the_report_as_json(client, manager_key, week):
    response = client.get(URL, query_string={**WEEK, "region": "tx"}, headers=bearer(manager_key[0]))
    assert response.status_code == 200
    body = response.get_json()
    assert body["leads"] == 3
    assert body["filters"]["region"] == "TX"
    for key in ("by_source", "by_region", "by_urgency", "speed_to_lead_seconds", "sla_met_pct", "advisors"):
        assert key in body
    assert set(body["speed_to_lead_seconds"]) >= {"p50", "p90"}
    assert {"id", "name", "assigned", "contacted", "open"} <= set(body["advisors"][0])
    # Reports are counts and durations: nothing personal about any lead.
    text = response.get_data(as_text=True)
    assert "Private Person" not in text and "+15125550199" not in text and "PRIVATE MESSAGE" not in text


def test_the_report_as_csv_is_streamed_and_access_logged(client, session, manager_key, week):
    raw, api_key = manager_key
    response = client.get(URL, query_string={**WEEK, "format": "csv"}, headers=bearer(raw))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [int(row["id"]) for row in rows] == [week.l1.id, week.l2.id, week.l3.id, week.l4.id, week.l5.id]
    log = session.scalars(select(AccessLog).where(AccessLog.action == "export_report")).all()
    assert len(log) == 1
    assert log[0].api_key_id == api_key.id
    assert log[0].detail["start"] == "2026-03-01" and log[0].detail["via"] == "api"


def test_the_calls_as_csv_over_the_api_are_access_logged(client, session, manager_key, week):
    raw, _api_key = manager_key
    response = client.get(URL, query_string={**WEEK, "format": "csv", "rows": "calls"}, headers=bearer(raw))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "routing-report-calls-2026-03-01" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 6 and {"seconds_to_answer", "advisors_rung"} <= set(rows[0])
    log = session.scalars(select(AccessLog).where(AccessLog.action == "export_report")).one()
    assert log.detail["export"] == "routing_report_calls_csv"
    bad = client.get(URL, query_string={**WEEK, "format": "csv", "rows": "people"}, headers=bearer(raw))
    assert bad.status_code == 422 and "rows" in bad.get_json()["errors"]


def test_the_json_report_is_not_an_export(client, session, manager_key, week):
    client.get(URL, query_string=WEEK, headers=bearer(manager_key[0]))
    assert session.scalars(select(AccessLog).where(AccessLog.action == "export_report")).all() == []


def test_the_json_report_is_what_the_openapi_document_says(client, manager_key, week):
    spec = client.get("/api/v1/openapi.json").get_json()
    documented = spec["paths"][URL]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    registry = Registry().with_resource("urn:spec", Resource.from_contents(spec, DRAFT4))
    validator = OAS30Validator({"$ref": "urn:spec" + documented["$ref"]}, registry=registry)
    for query in (WEEK, {**WEEK, "region": "tx", "advisor": str(week.ana.id)}):
        report = client.get(URL, query_string=query, headers=bearer(manager_key[0])).get_json()
        assert report["leads"] and report["advisors"]
        validator.validate(report)
    # The check has teeth: a field the schema does not know, or a count that is not a number, fails.
    with pytest.raises(ValidationError):
        validator.validate({**report, "surprise": 1})
    with pytest.raises(ValidationError):
        validator.validate({**report, "by_source": {"api": "three"}})
