"""The OpenAPI document, the HTML reference, and a schemathesis run that finds no 500s."""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from leadrouter.api import ROUTES
from tests.api.conftest import bearer
from tests.factories import make_advisor, make_lead

SPEC_URL = "/api/v1/openapi.json"
FUZZ_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "40"))


@pytest.fixture
def spec(client):
    response = client.get(SPEC_URL)
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def _openapi_path(rule: str) -> str:
    return "/api/v1" + re.sub(r"<[^:>]+:([^>]+)>", r"{\1}", rule)


def test_the_document_is_openapi_3_with_a_bearer_scheme(spec):
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key: `Authorization: Bearer <key>`.",
    }
    assert spec["components"]["schemas"]["Error"]["required"] == ["error"]
    assert spec["components"]["schemas"]["ValidationErrors"]["required"] == ["errors"]


def test_every_json_endpoint_is_described(spec):
    for rule, _, _, methods in ROUTES:
        if rule == "/docs":
            continue
        path = _openapi_path(rule)
        assert path in spec["paths"], path
        for method in methods:
            assert method.lower() in spec["paths"][path], (method, path)


def test_protected_operations_document_auth_and_error_responses(spec):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path.endswith("openapi.json"):
                continue
            assert operation["security"] == [{"bearerAuth": []}]
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415", "422"} <= set(operation["responses"]), (method, path)


def test_intake_documents_every_spec_status_code(spec):
    operation = spec["paths"]["/api/v1/leads"]["post"]
    assert {"200", "201", "400", "401", "403", "413", "415", "422", "429"} <= set(operation["responses"])
    assert operation["parameters"] == [{"$ref": "#/components/parameters/IdempotencyKey"}]


def test_schemas_come_from_the_marshmallow_schemas(spec):
    schemas = spec["components"]["schemas"]
    lead_input = schemas["LeadInput"]
    assert lead_input["required"] == ["name"]
    assert lead_input["additionalProperties"] is False
    assert lead_input["properties"]["message"]["maxLength"] == 5000
    assert lead_input["properties"]["language"]["enum"] == ["en", "es"]
    assert "withdrawal" in lead_input["properties"]["dsm_criteria"]["items"]["enum"]
    assert "fentanyl" in lead_input["properties"]["substances"]["items"]["enum"]
    assert {"assigned_advisor", "routing", "events", "follow_ups"} <= set(schemas["Lead"]["properties"])
    assert schemas["Advisor"]["properties"]["open_leads"]["readOnly"] is True
    assert "required" not in schemas["AdvisorUpdate"]


def test_the_docs_page_is_self_contained_html(client, spec):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<h1>leadrouter API</h1>" in page
    for path, operations in spec["paths"].items():
        assert path in page
        for operation in operations.values():
            assert operation["summary"] in page
    for schema_name in spec["components"]["schemas"]:
        assert f'id="schema-{schema_name}"' in page
    # No CDN: nothing is loaded from anywhere else.
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"(https?:)?//", page)
    assert "<script" not in page
    # Text from the spec is escaped, not injected.
    assert "&lt;key&gt;" in page


def test_the_docs_page_shows_field_rules(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "max length 5000" in page
    assert "one of: available, busy, offline" in page


@pytest.fixture
def fuzz_keys(session, partner_key, manager_key):
    """Rows for the fuzzer to hit: an advisor and a lead with ids 1.. exist."""
    make_advisor(status="available", regions=["TX"])
    make_lead()
    return {"partner": partner_key[0], "manager": manager_key[0]}


def test_schemathesis_finds_no_server_errors(app, client, fuzz_keys):
    schema = schemathesis.openapi.from_wsgi(SPEC_URL, app)
    tried = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        intake = (operation.method.upper(), operation.path) == ("POST", "/api/v1/leads")
        headers = bearer(fuzz_keys["partner" if intake else "manager"])
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            fuzz(operation, mode, headers)
        tried.add(operation.label)
    # Every operation but the document itself, which schemathesis leaves out.
    assert tried == {
        f"{method.upper()} {_openapi_path(rule)}"
        for rule, _, _, methods in ROUTES
        for method in methods
        if rule not in ("/docs", "/openapi.json")
    }


def fuzz(operation, mode, headers: dict) -> None:
    """Send generated requests to one operation: no 5xx, and every answer is as documented."""
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=FUZZ_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def exercise(case):
        response = case.call(headers=headers)
        case.validate_response(response, checks=checks, headers=headers)

    exercise()
