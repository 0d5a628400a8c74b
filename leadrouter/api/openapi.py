"""The OpenAPI 3 document of the JSON API, generated from the same marshmallow schemas the
views use, and a self-contained HTML page that reads it to people."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app, jsonify, render_template
from markupsafe import Markup, escape

from leadrouter.api.schemas import (
    MAX_PAGE_SIZE,
    AdvisorListQuerySchema,
    AdvisorListSchema,
    AdvisorSchema,
    LeadInputSchema,
    LeadListQuerySchema,
    LeadListSchema,
    LeadReceiptSchema,
    LeadSchema,
)

API_PREFIX = "/api/v1"
_JSON = "application/json"

DESCRIPTION = f"""\
JSON API of the helpline: partner sites send leads, managers read leads and manage advisors.

**Authentication.** Every endpoint takes an API key as `Authorization: Bearer <key>`
(`flask --app leadrouter create-api-key --role partner|manager`). Partner keys may only
send leads; manager keys read leads and manage advisors. No key or an unknown key is 401,
the wrong kind of key is 403.

**Errors** are JSON, never HTML: `{{"error": "..."}}`, except 422, which names each bad field:
`{{"errors": {{"phone": ["Not a valid phone number: ..."]}}}}` (nested objects nest, list
items are keyed by position).

**Limits.** Bodies over the configured maximum (256 KB by default) are refused with 413.
`POST /leads` is rate limited per API key (120 per minute by default); over the limit is 429
with `Retry-After`.

**Idempotency.** Send `Idempotency-Key` (1-255 printable ASCII characters, e.g. a UUID) on
`POST /leads` to retry safely: the same key with the same body answers 200 with the lead the
first request made (header `Idempotent-Replayed: true`); the same key with a different body is
422. Keys are kept per API key.

**Paging.** `GET /leads` returns the newest leads first, at most {MAX_PAGE_SIZE} per page;
follow `next_cursor` for the next page.

**Privacy.** Every read of a lead's personal data through this API is written to the access
log with the API key that made it. The answer to `POST /leads` carries the lead's id and triage
but none of its stored personal data, because a merge answers with an existing lead.
"""


def _error_response(description: str, *, headers: dict | None = None) -> dict:
    response = {
        "description": description,
        "content": {_JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if headers:
        response["headers"] = headers
    return response


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "description": "What went wrong, in plain words."}},
    "example": {"error": "The request body is not valid JSON."},
}
VALIDATION_ERRORS_SCHEMA = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "object",
            "description": "Each bad field with its messages; nested objects nest, list items "
            "are keyed by position.",
            "additionalProperties": {
                "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]
            },
        }
    },
    "example": {
        "errors": {
            "phone": ["Not a valid phone number: give a US number like (512) 555-0100, ..."],
            "nickname": ["Unknown field."],
        }
    },
}

RESPONSES = {
    "BadRequest": _error_response("Malformed request: the body is not JSON, or a header is invalid."),
    "Unauthorized": _error_response(
        "No API key, or an unknown or revoked one.",
        headers={
            "WWW-Authenticate": {"schema": {"type": "string"}, "description": 'Bearer realm="leadrouter"'}
        },
    ),
    "Forbidden": _error_response("The API key's role may not use this endpoint."),
    "NotFound": _error_response("No such record."),
    "Conflict": _error_response("A request with the same Idempotency-Key is still in progress."),
    "PayloadTooLarge": _error_response("The body is larger than the configured maximum."),
    "UnsupportedMediaType": _error_response("The body is not sent as application/json."),
    "ValidationFailed": {
        "description": "Some fields are missing or invalid; each is named with its messages.",
        "content": {_JSON: {"schema": {"$ref": "#/components/schemas/ValidationErrors"}}},
    },
    "TooManyRequests": _error_response(
        "Rate limit exceeded.",
        headers={"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
    ),
}


def _refs(*names: str) -> dict:
    codes = {
        "BadRequest": "400",
        "Unauthorized": "401",
        "Forbidden": "403",
        "NotFound": "404",
        "Conflict": "409",
        "PayloadTooLarge": "413",
        "UnsupportedMediaType": "415",
        "ValidationFailed": "422",
        "TooManyRequests": "429",
    }
    return {codes[name]: {"$ref": f"#/components/responses/{name}"} for name in names}


def _json(schema) -> dict:
    return {_JSON: {"schema": schema}}


_AUTH = ("Unauthorized", "Forbidden")
_BODY = ("BadRequest", "PayloadTooLarge", "UnsupportedMediaType", "ValidationFailed")
_LEAD_ID = {
    "in": "path",
    "name": "lead_id",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
}
_ADVISOR_ID = {**_LEAD_ID, "name": "advisor_id"}


def _paths() -> dict[str, dict[str, dict]]:
    bearer = [{"bearerAuth": []}]
    return {
        "/leads": {
            "post": {
                "operationId": "createLead",
                "tags": ["Leads"],
                "summary": "Send a lead (partner key)",
                "description": "Stores the lead before anything else happens and routes it to an "
                "advisor in the background. A lead with the same phone as one from the last "
                "24 hours is merged into it (200). Without `consent` the lead is routed, but "
                "nobody calls or texts it. Rate limited per API key.",
                "security": bearer,
                "x-api-key-roles": ["partner"],
                "parameters": ["IdempotencyKey"],
                "requestBody": {"required": True, "content": _json(LeadInputSchema)},
                "responses": {
                    "201": {"description": "A new lead.", "content": _json(LeadReceiptSchema)},
                    "200": {
                        "description": "Merged into this phone's lead from the last 24 hours, or "
                        "a replay of an earlier request with the same Idempotency-Key.",
                        "content": _json(LeadReceiptSchema),
                    },
                    **_refs(*_BODY, *_AUTH, "Conflict", "TooManyRequests"),
                },
            },
            "get": {
                "operationId": "listLeads",
                "tags": ["Leads"],
                "summary": "Find leads (manager key)",
                "description": f"Newest first, at most {MAX_PAGE_SIZE} per page; follow "
                "`next_cursor`. Every lead listed is written to the access log.",
                "security": bearer,
                "x-api-key-roles": ["manager"],
                "parameters": [{"in": "query", "schema": LeadListQuerySchema}],
                "responses": {
                    "200": {"description": "One page of leads.", "content": _json(LeadListSchema)},
                    **_refs(*_AUTH, "ValidationFailed"),
                },
            },
        },
        "/leads/{lead_id}": {
            "get": {
                "operationId": "getLead",
                "tags": ["Leads"],
                "summary": "Read one lead (manager key)",
                "description": "The lead with its triage, owner, routing decision trace, "
                "follow-ups and timeline. The read is written to the access log.",
                "security": bearer,
                "x-api-key-roles": ["manager"],
                "parameters": [_LEAD_ID],
                "responses": {
                    "200": {"description": "The lead.", "content": _json(LeadSchema)},
                    **_refs(*_AUTH, "NotFound"),
                },
            }
        },
        "/advisors": {
            "get": {
                "operationId": "listAdvisors",
                "tags": ["Advisors"],
                "summary": "List advisors (manager key)",
                "security": bearer,
                "x-api-key-roles": ["manager"],
                "parameters": [{"in": "query", "schema": AdvisorListQuerySchema}],
                "responses": {
                    "200": {"description": "Advisors, by id.", "content": _json(AdvisorListSchema)},
                    **_refs(*_AUTH, "ValidationFailed"),
                },
            },
            "post": {
                "operationId": "createAdvisor",
                "tags": ["Advisors"],
                "summary": "Add an advisor (manager key)",
                "description": "Email addresses are unique (422 otherwise). An available "
                "advisor starts taking waiting leads at once.",
                "security": bearer,
                "x-api-key-roles": ["manager"],
                "requestBody": {"required": True, "content": _json(AdvisorSchema)},
                "responses": {
                    "201": {"description": "The new advisor.", "content": _json(AdvisorSchema)},
                    **_refs(*_BODY, *_AUTH),
                },
            },
        },
        "/advisors/{advisor_id}": {
            "get": {
                "operationId": "getAdvisor",
                "tags": ["Advisors"],
                "summary": "Read one advisor (manager key)",
                "security": bearer,
                "x-api-key-roles": ["manager"],
                "parameters": [_ADVISOR_ID],
                "responses": {
                    "200": {"description": "The advisor.", "content": _json(AdvisorSchema)},
                    **_refs(*_AUTH, "NotFound"),
                },
            },
            "patch": {
                "operationId": "updateAdvisor",
                "tags": ["Advisors"],
                "summary": "Change an advisor (manager key)",
                "description": "Send only the fields to change; every field but `id` and "
                "`open_leads` can be changed. Becoming available, more capacity or wider "
                "coverage lets the advisor take waiting leads at once.",
                "security": bearer,
                "x-api-key-roles": ["manager"],
                "parameters": [_ADVISOR_ID],
                "requestBody": {"required": True, "content": _json(AdvisorSchema(partial=True))},
                "responses": {
                    "200": {"description": "The advisor after the change.", "content": _json(AdvisorSchema)},
                    **_refs(*_BODY, *_AUTH, "NotFound"),
                },
            },
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "tags": ["Documentation"],
                "summary": "This OpenAPI document",
                "security": [],
                "responses": {
                    "200": {"description": "OpenAPI 3 JSON.", "content": _json({"type": "object"})}
                },
            }
        },
    }


def build_spec() -> dict:
    """Generate the OpenAPI document from the marshmallow schemas."""
    spec = APISpec(
        title="leadrouter API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": DESCRIPTION},
    )
    spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "description": "An API key: `Authorization: Bearer <key>`."},
    )
    spec.components.schema("Error", ERROR_SCHEMA)
    spec.components.schema("ValidationErrors", VALIDATION_ERRORS_SCHEMA)
    spec.components.schema("LeadInput", schema=LeadInputSchema)
    spec.components.schema("LeadReceipt", schema=LeadReceiptSchema)
    spec.components.schema("Lead", schema=LeadSchema)
    spec.components.schema("LeadList", schema=LeadListSchema)
    spec.components.schema("Advisor", schema=AdvisorSchema)
    spec.components.schema("AdvisorUpdate", schema=AdvisorSchema(partial=True))
    spec.components.schema("AdvisorList", schema=AdvisorListSchema)
    for name, response in RESPONSES.items():
        spec.components.response(name, response)
    spec.components.parameter(
        "IdempotencyKey",
        "header",
        {
            "name": "Idempotency-Key",
            "required": False,
            "description": "Makes retries safe: the same key and body answer with the same lead.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
        },
    )
    for path, operations in _paths().items():
        spec.path(path=f"{API_PREFIX}{path}", operations=operations)
    return spec.to_dict()


def openapi_document() -> dict:
    """The OpenAPI document, built once per app."""
    cache = current_app.extensions.setdefault("leadrouter_api", {})
    if "openapi" not in cache:
        cache["openapi"] = build_spec()
    return cache["openapi"]


# --- the HTML reference page ------------------------------------------------------


def describe_spec(spec: dict) -> dict:
    """Flatten the OpenAPI document into what the docs template shows."""
    schemas = spec["components"]["schemas"]
    responses = spec["components"]["responses"]
    parameters = spec["components"]["parameters"]
    operations = []
    for path, items in spec["paths"].items():
        for method, operation in items.items():
            params = [_resolve(p, parameters, "parameters") for p in operation.get("parameters", [])]
            body = operation.get("requestBody", {}).get("content", {}).get(_JSON, {}).get("schema")
            operations.append(
                {
                    "id": operation.get("operationId", f"{method}-{path}"),
                    "method": method.upper(),
                    "path": path,
                    "tag": (operation.get("tags") or ["Other"])[0],
                    "summary": operation.get("summary", ""),
                    "description": rich_text(operation.get("description", "")),
                    "roles": operation.get("x-api-key-roles", []),
                    "params": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "type": _type_text(p.get("schema", {}), schemas),
                            "notes": _notes(p.get("schema", {})),
                            "description": p.get("description") or p.get("schema", {}).get("description", ""),
                        }
                        for p in params
                    ],
                    "body": _schema_name(body) if body else None,
                    "responses": [
                        _describe_response(code, response, responses)
                        for code, response in sorted(operation["responses"].items())
                    ],
                }
            )
    return {
        "title": spec["info"]["title"],
        "version": spec["info"]["version"],
        "description": rich_text(spec["info"].get("description", "")),
        "operations": operations,
        "schemas": [
            {
                "name": name,
                "description": schema.get("description", ""),
                "fields": _fields(schema, schemas),
                "example": schema.get("example"),
            }
            for name, schema in sorted(schemas.items())
        ],
    }


def rich_text(text: str) -> Markup:
    """Render the spec's light Markdown (paragraphs, **bold**, `code`) as escaped HTML."""
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        html = str(escape(" ".join(paragraph.split())))
        html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html)
        html = re.sub(r"`(.+?)`", r"<code>\1</code>", html)
        paragraphs.append(f"<p>{html}</p>")
    return Markup("\n".join(paragraphs))  # noqa: S704  (built from escaped text and fixed tags)


def _resolve(item: dict, components: dict, kind: str) -> dict:
    ref = item.get("$ref", "")
    prefix = f"#/components/{kind}/"
    return components[ref[len(prefix) :]] if ref.startswith(prefix) else item


def _schema_name(schema: dict) -> str | None:
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else None


def _describe_response(code: str, response: dict, responses: dict) -> dict:
    response = _resolve(response, responses, "responses")
    schema = response.get("content", {}).get(_JSON, {}).get("schema", {})
    return {"code": code, "description": response.get("description", ""), "schema": _schema_name(schema)}


def _fields(schema: dict, schemas: dict) -> list[dict]:
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": _type_text(prop, schemas),
            "ref": _ref_of(prop),
            "required": name in required,
            "notes": _notes(prop),
            "description": prop.get("description", ""),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _ref_of(prop: dict) -> str | None:
    for candidate in (prop, prop.get("items", {}), *prop.get("allOf", []), *prop.get("anyOf", [])):
        name = _schema_name(candidate) if isinstance(candidate, dict) else None
        if name:
            return name
    return None


def _type_text(prop: dict, schemas: dict) -> str:
    ref = _ref_of(prop)
    if prop.get("type") == "array":
        inner = prop.get("items", {})
        return f"array of {_type_text(inner, schemas)}"
    if ref and not prop.get("type"):
        return ref
    kind = prop.get("type", "any")
    if prop.get("format"):
        kind = f"{kind} ({prop['format']})"
    return kind


def _notes(prop: dict) -> list[str]:
    notes: list[Any] = []
    if prop.get("readOnly"):
        notes.append("read-only")
    if prop.get("nullable"):
        notes.append("may be null")
    if "enum" in prop:
        notes.append("one of: " + ", ".join(str(v) for v in prop["enum"]))
    items = prop.get("items", {})
    if "enum" in items:
        notes.append("each one of: " + ", ".join(str(v) for v in items["enum"]))
    for key, label in (
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minimum", "min"),
        ("maximum", "max"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
        ("pattern", "pattern"),
        ("default", "default"),
    ):
        if key in prop:
            notes.append(f"{label} {prop[key]}")
    if "example" in prop:
        notes.append(f"e.g. {prop['example']}")
    return notes


# --- views --------------------------------------------------------------------------


def openapi_json():
    """GET /openapi.json."""
    return jsonify(openapi_document())


def docs_page():
    """GET /docs: the API reference as one self-contained HTML page."""
    return render_template("api/docs.html", doc=describe_spec(openapi_document()))
