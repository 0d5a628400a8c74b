"""The OpenAPI document (generated from the URL map, the views and their schemas), the HTML
reference, and a schemathesis run over every operation that finds no 500s."""

from __future__ import annotations

import os
import re
from collections import Counter

import pytest
import schemathesis
from flask import jsonify
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate as validate_openapi
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from leadrouter import create_app
from leadrouter.api import ROUTES
from leadrouter.api.auth import require_api_key
from leadrouter.api.openapi import api_rules, build_spec, rule_methods
from tests.api.conftest import bearer
from tests.conftest import base_config
from tests.factories import make_advisor, make_lead

SPEC_URL = "/api/v1/openapi.json"
FUZZ_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "40"))
# The wrong key only ever meets the role check: a few examples show it is a documented 403.
WRONG_KEY_EXAMPLES = max(1, FUZZ_EXAMPLES // 8)


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


def _full_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def routes_missing_from(app, spec) -> list[str]:
    """Every METHOD /path of the app under /api/v1 that the document leaves out (the HTML page aside)."""
    return [
        f"{method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/docs"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        if method.lower() not in spec["paths"].get(_full_path(rule.rule), {})
    ]


def operations_without_a_success_response(spec) -> list[str]:
    """Operations that document no 2xx answer with a body."""
    return [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if not any(
            code.startswith("2") and answer.get("content") for code, answer in operation["responses"].items()
        )
    ]


def test_every_api_route_is_in_the_document_with_a_documented_response(app, spec):
    assert routes_missing_from(app, spec) == []
    assert operations_without_a_success_response(spec) == []
    assert "get" in spec["paths"]["/api/v1/reports/routing"]


def test_a_new_route_is_in_the_document_and_fails_until_documented(backend, database_urls, tmp_path):
    fresh = create_app(base_config(database_urls[backend], str(tmp_path / "instance")))

    @require_api_key("manager")
    def new_thing():
        """GET /new-thing: something a future engineer adds."""
        return jsonify(ok=True)

    fresh.add_url_rule("/api/v1/new-thing/<int:thing_id>", "api.new_thing", new_thing)
    with fresh.app_context():
        spec = build_spec(fresh)
    assert routes_missing_from(fresh, spec) == []
    operation = spec["paths"]["/api/v1/new-thing/{thing_id}"]["get"]
    # What the view itself says is there already: the key it needs, its path id, their errors...
    assert operation["security"] == [{"bearerAuth": []}]
    assert operation["parameters"][0]["name"] == "thing_id"
    assert {"401", "403", "404"} <= set(operation["responses"])
    # ...but until it is documented with @operation, the check above fails.
    assert operations_without_a_success_response(spec) == ["GET /api/v1/new-thing/{thing_id}"]


def test_every_api_route_is_served_from_the_api_package(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            assert app.view_functions[rule.endpoint].__module__.startswith("leadrouter.api."), rule.rule


def test_the_document_is_valid_openapi(spec):
    validate_openapi(spec)


def test_the_routing_report_is_documented_as_json_and_csv(spec):
    operation = spec["paths"]["/api/v1/reports/routing"]["get"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert operation["x-api-key-roles"] == ["manager"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert parameters["start"]["required"] and parameters["end"]["required"]
    assert parameters["start"]["schema"]["format"] == "date"
    assert parameters["format"]["schema"]["enum"] == ["json", "csv"]
    content = operation["responses"]["200"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/RoutingReport"}
    assert content["text/csv"]["schema"]["type"] == "string"
    assert {"401", "403", "422"} <= set(operation["responses"])
    report = spec["components"]["schemas"]["RoutingReport"]["properties"]
    for key in ("leads", "by_source", "by_region", "by_urgency", "speed_to_lead_seconds", "sla_met_pct"):
        assert key in report
    advisor = spec["components"]["schemas"]["AdvisorFigures"]["properties"]
    assert {"id", "name", "assigned", "contacted", "open"} <= set(advisor)


def test_errors_have_an_error_schema(spec):
    responses = spec["components"]["responses"]
    for name in ("BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict", "PayloadTooLarge"):
        assert responses[name]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
    validation = responses["ValidationFailed"]["content"]["application/json"]["schema"]
    assert validation == {"$ref": "#/components/schemas/ValidationErrors"}
    assert set(responses["Unauthorized"]["headers"]) == {"WWW-Authenticate"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for code, answer in operation["responses"].items():
                if code >= "400":
                    assert answer["$ref"].startswith("#/components/responses/"), (method, path, code)


def test_intake_documents_its_rate_limit_headers(spec):
    operation = spec["paths"]["/api/v1/leads"]["post"]
    limit_headers = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}
    for code in ("200", "201"):
        assert limit_headers <= set(operation["responses"][code]["headers"])
    too_many = spec["components"]["responses"]["TooManyRequests"]
    assert {"Retry-After", *limit_headers} <= set(too_many["headers"])
    assert operation["responses"]["429"] == {"$ref": "#/components/responses/TooManyRequests"}
    assert spec["components"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    # Only the rate-limited operation promises them.
    assert "headers" not in spec["paths"]["/api/v1/advisors"]["get"]["responses"]["200"]


@pytest.fixture
def fuzz_keys(session, partner_key, manager_key):
    """Rows for the fuzzer to hit: an advisor and a lead with ids 1.. exist."""
    make_advisor(status="available", regions=["TX"])
    make_lead()
    return {"partner": partner_key[0], "manager": manager_key[0]}


def test_schemathesis_finds_no_server_errors(app, client, fuzz_keys):
    """Every operation in the document, with each kind of key: no 5xx, every answer as documented."""
    schema = schemathesis.openapi.from_wsgi(SPEC_URL, app)
    tried = set()
    answers: Counter = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        roles = operation.definition.raw.get("x-api-key-roles", [])
        for role, key in fuzz_keys.items():
            headers = bearer(key)
            if not roles or role in roles:
                for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
                    answers += fuzz(operation, mode, headers)
                if operation.label == "GET /api/v1/reports/routing":
                    # The generator rarely pairs valid dates with format=csv: ask for CSV outright.
                    answers += fuzz(
                        operation, schemathesis.GenerationMode.POSITIVE, headers, query={"format": "csv"}
                    )
            else:
                answers += fuzz(operation, schemathesis.GenerationMode.POSITIVE, headers, WRONG_KEY_EXAMPLES)
        tried.add(operation.label)
    # Every operation of the URL map but the document itself, which schemathesis leaves out.
    assert tried == {
        f"{method} {_openapi_path(rule.rule.removeprefix('/api/v1'))}"
        for rule in api_rules(app)
        for method in rule_methods(rule)
        if rule.endpoint != "api.openapi"
    }
    # The fuzzing reached the report's answers, not only its errors: JSON, CSV, the wrong key's 403.
    report = "GET /api/v1/reports/routing"
    assert answers[(report, 200, "application/json")] and answers[(report, 200, "text/csv")]
    assert answers[(report, 403, "application/json")]


def fuzz(operation, mode, headers: dict, examples: int = FUZZ_EXAMPLES, query: dict | None = None) -> Counter:
    """Send generated requests to one operation: no 5xx, and every answer is as documented.

    Returns how often it answered each (operation, status, media type).
    """
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    answers: Counter = Counter()

    @given(case=operation.as_strategy(generation_mode=mode))
    # CI replays the same examples every run (a red build must be reproducible); a developer's
    # run explores new ones.
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=bool(os.environ.get("CI")),
    )
    def exercise(case):
        if query:
            case.query = {**(case.query or {}), **query}
        response = case.call(headers=headers)
        case.validate_response(response, checks=checks, headers=headers)
        media_type = response.headers.get("content-type", [""])[0].partition(";")[0]
        answers[(operation.label, response.status_code, media_type)] += 1

    exercise()
    return answers
