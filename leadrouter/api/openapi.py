"""The OpenAPI 3 document of the JSON API, built from the app's URL map, the views' own
annotations and the marshmallow schemas they use; and a self-contained HTML page that reads
it to people.

Every rule under /api/v1 is in the document by construction: the builder walks
`app.url_map`, so a new route appears even before anyone documents it (and a test fails
until its view carries an `@operation` with a success response). Security, path
parameters and the error responses a view can give follow from the view itself: its
`require_api_key` roles (401, 403), its path arguments (404), a JSON body (400, 413, 415,
422), a query-string schema (422), rate limiting (429 and the X-RateLimit headers).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec_webframeworks.flask import FlaskPlugin
from flask import Flask, current_app, jsonify, render_template
from markupsafe import Markup, escape
from marshmallow import Schema
from werkzeug.routing import IntegerConverter, Rule

from leadrouter.api.schemas.errors import ErrorSchema, ValidationErrorsSchema
from leadrouter.api.schemas.leads import MAX_PAGE_SIZE
from leadrouter.database import MAX_ID

API_PREFIX = "/api/v1"
# The HTML page that reads this document to people is not part of the JSON API.
UNDOCUMENTED_ENDPOINTS = frozenset({"api.docs"})
_JSON = "application/json"
_CSV = "text/csv"

DESCRIPTION = f"""\
JSON API of the helpline: partner sites send leads, managers read leads, manage advisors and
read the routing report.

**Authentication.** Every endpoint takes an API key as `Authorization: Bearer <key>`
(`flask --app leadrouter create-api-key --role partner|manager`). Partner keys may only
send leads; manager keys read leads, manage advisors and read reports. No key or an unknown
key is 401, the wrong kind of key is 403.

**Errors** are JSON, never HTML: `{{"error": "..."}}`, except 422, which names each bad field:
`{{"errors": {{"phone": ["Not a valid phone number: ..."]}}}}` (nested objects nest, list
items are keyed by position).

**Limits.** Bodies over the configured maximum (256 KB by default) are refused with 413.
`POST /leads` is rate limited per API key (120 per minute by default): its answers carry
`X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`; over the limit is 429
with `Retry-After`.

**Idempotency.** Send `Idempotency-Key` (1-255 printable ASCII characters, e.g. a UUID) on
`POST /leads` to retry safely: the same key with the same body answers 200 with the lead the
first request made (header `Idempotent-Replayed: true`); the same key with a different body is
422. Keys are kept per API key.

**Paging.** `GET /leads` returns the newest leads first, at most {MAX_PAGE_SIZE} per page;
follow `next_cursor` for the next page.

**Privacy.** Every read of a lead's personal data through this API is written to the access
log with the API key that made it, and so is every CSV export of the report. The answer to
`POST /leads` carries the lead's id and triage but none of its stored personal data, because
a merge answers with an existing lead. Reports show counts, durations and statuses only.
"""


# --- what a view says about itself ---------------------------------------------------


@dataclass(frozen=True)
class OperationDoc:
    """What `@operation` records on a view; the rest is read from the view and its rule."""

    operation_id: str
    tag: str
    summary: str
    description: str = ""
    query: type[Schema] | None = None
    body: Schema | type[Schema] | None = None
    responses: dict[int, dict] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    parameters: tuple[str, ...] = ()
    rate_limited: bool = False


def operation(
    operation_id: str,
    *,
    tag: str,
    summary: str,
    responses: dict[int, dict],
    description: str = "",
    query: type[Schema] | None = None,
    body: Schema | type[Schema] | None = None,
    errors: Iterable[int] = (),
    parameters: Iterable[str] = (),
    rate_limited: bool = False,
) -> Callable:
    """Document a view of the JSON API: its success responses and what only it can answer.

    `errors` lists the error statuses the builder cannot see from the view (e.g. 409);
    `parameters` names reusable header parameters (e.g. "IdempotencyKey").
    """
    doc = OperationDoc(
        operation_id=operation_id,
        tag=tag,
        summary=summary,
        description=" ".join(description.split()),
        query=query,
        body=body,
        responses=responses,
        errors=tuple(errors),
        parameters=tuple(parameters),
        rate_limited=rate_limited,
    )

    def decorate(view: Callable) -> Callable:
        view.openapi = doc
        return view

    return decorate


def response(
    description: str,
    schema: Schema | type[Schema] | dict | None = None,
    *,
    csv: str | None = None,
    headers: Iterable[str] = (),
) -> dict:
    """A success response: JSON shaped by `schema`, and/or CSV described by `csv`."""
    content: dict[str, Any] = {}
    if schema is not None:
        content[_JSON] = {"schema": schema}
    if csv is not None:
        content[_CSV] = {"schema": {"type": "string", "description": csv}}
    answer: dict[str, Any] = {"description": description}
    if content:
        answer["content"] = content
    if headers:
        answer["headers"] = {name: name for name in headers}
    return answer


# --- shared components -----------------------------------------------------------------

# status: (component name, description, schema, headers)
ERRORS: dict[int, tuple[str, str, type[Schema], tuple[str, ...]]] = {
    400: ("BadRequest", "Malformed request: the body is not JSON, or a header is invalid.", ErrorSchema, ()),
    401: ("Unauthorized", "No API key, or an unknown or revoked one.", ErrorSchema, ("WWW-Authenticate",)),
    403: ("Forbidden", "The API key's role may not use this endpoint.", ErrorSchema, ()),
    404: ("NotFound", "No such record.", ErrorSchema, ()),
    409: ("Conflict", "A request with the same Idempotency-Key is still in progress.", ErrorSchema, ()),
    413: ("PayloadTooLarge", "The body is larger than the configured maximum.", ErrorSchema, ()),
    415: ("UnsupportedMediaType", "The body is not sent as application/json.", ErrorSchema, ()),
    422: (
        "ValidationFailed",
        "Some fields are missing or invalid; each is named with its messages.",
        ValidationErrorsSchema,
        (),
    ),
    429: (
        "TooManyRequests",
        "Rate limit exceeded.",
        ErrorSchema,
        ("Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"),
    ),
}
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
HEADERS = {
    "WWW-Authenticate": {"description": 'Bearer realm="leadrouter"', "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}},
    "X-RateLimit-Limit": {
        "description": "Requests allowed in the current window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Reset": {
        "description": "When the current window ends, in seconds since the Unix epoch.",
        "schema": {"type": "integer"},
    },
    "Location": {"description": "The URL of the record.", "schema": {"type": "string"}},
    "Idempotent-Replayed": {
        "description": "With an Idempotency-Key: `true` when this answer replays an earlier request's.",
        "schema": {"type": "string", "enum": ["true", "false"]},
    },
}
PARAMETERS = {
    "IdempotencyKey": {
        "in": "header",
        "name": "Idempotency-Key",
        "required": False,
        "description": "Makes retries safe: the same key and body answer with the same lead.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
    }
}
_BODY_ERRORS = (400, 413, 415, 422)


def schema_name(schema: Schema | type[Schema]) -> str:
    """Component name of a schema: its class name without "Schema"; a partial one is an "Update"."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    return f"{name}Update" if getattr(schema, "partial", False) is True else name


# --- the builder ------------------------------------------------------------------------


def api_rules(app: Flask) -> list[Rule]:
    """Every URL rule of the JSON API that the document describes, in registration order."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(API_PREFIX + "/") and rule.endpoint not in UNDOCUMENTED_ENDPOINTS
    ]


def rule_methods(rule: Rule) -> list[str]:
    """The HTTP methods a rule answers that the document describes (not HEAD or OPTIONS)."""
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def build_spec(app: Flask) -> dict:
    """Generate the OpenAPI document from the app's URL map, its views and their schemas."""
    spec = APISpec(
        title="leadrouter API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[FlaskPlugin(), MarshmallowPlugin(schema_name_resolver=schema_name)],
        info={"description": DESCRIPTION},
    )
    spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "description": "An API key: `Authorization: Bearer <key>`."},
    )
    for name, header in HEADERS.items():
        spec.components.header(name, header)
    for name, parameter in PARAMETERS.items():
        spec.components.parameter(name, parameter["in"], {k: v for k, v in parameter.items() if k != "in"})
    for name, description, schema, headers in ERRORS.values():
        error = response(description, schema, headers=headers)
        spec.components.response(name, error)
    for rule in api_rules(app):
        view = app.view_functions[rule.endpoint]
        operations = {method.lower(): describe_operation(view, rule) for method in rule_methods(rule)}
        spec.path(view=view, app=app, operations=operations)
    return spec.to_dict()


def describe_operation(view: Callable, rule: Rule) -> dict:
    """One operation: the view's `@operation` notes plus what its rule and decorators imply."""
    doc: OperationDoc | None = getattr(view, "openapi", None)
    roles: tuple[str, ...] = getattr(view, "api_key_roles", ())
    first_line = next(iter((view.__doc__ or "").strip().splitlines()), rule.endpoint)
    result: dict[str, Any] = {
        "operationId": doc.operation_id if doc else rule.endpoint.rpartition(".")[2],
        "tags": [doc.tag if doc else "Undocumented"],
        "summary": doc.summary if doc else first_line,
    }
    if doc and doc.description:
        result["description"] = doc.description
    result["security"] = [{"bearerAuth": []}] if roles else []
    if roles:
        result["x-api-key-roles"] = list(roles)
    parameters: list[Any] = [_path_parameter(name, rule) for name in sorted(rule.arguments)]
    parameters += list(doc.parameters if doc else ())
    if doc and doc.query is not None:
        parameters.append({"in": "query", "schema": doc.query})
    if parameters:
        result["parameters"] = parameters
    if doc and doc.body is not None:
        result["requestBody"] = {"required": True, "content": {_JSON: {"schema": doc.body}}}

    errors = set(doc.errors if doc else ())
    if roles:
        errors |= {401, 403}
    if rule.arguments:
        errors.add(404)
    if doc and doc.body is not None:
        errors.update(_BODY_ERRORS)
    if doc and doc.query is not None:
        errors.add(422)
    if doc and doc.rate_limited:
        errors.add(429)
    responses: dict[Any, Any] = {}
    for status, answer in (doc.responses if doc else {}).items():
        answer = copy.deepcopy(answer)
        if doc.rate_limited:
            answer.setdefault("headers", {}).update({name: name for name in RATE_LIMIT_HEADERS})
        responses[str(status)] = answer
    responses.update({str(status): ERRORS[status][0] for status in sorted(errors)})
    result["responses"] = responses or {"default": {"description": "Not documented yet."}}
    return result


def _path_parameter(name: str, rule: Rule) -> dict:
    converter = rule._converters.get(name)  # werkzeug keeps no public map of a rule's converters
    if isinstance(converter, IntegerConverter):
        schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    else:
        schema = {"type": "string"}
    return {"in": "path", "name": name, "required": True, "schema": schema}


def openapi_document() -> dict:
    """The OpenAPI document, built once per app."""
    cache = current_app.extensions.setdefault("leadrouter_api", {})
    if "openapi" not in cache:
        cache["openapi"] = build_spec(current_app._get_current_object())
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


@operation(
    "getOpenApi",
    tag="Documentation",
    summary="This OpenAPI document",
    responses={200: response("OpenAPI 3 JSON.", {"type": "object"})},
)
def openapi_json():
    """GET /openapi.json."""
    return jsonify(openapi_document())


def docs_page():
    """GET /docs: the API reference as one self-contained HTML page."""
    return render_template("api/docs.html", doc=describe_spec(openapi_document()))
