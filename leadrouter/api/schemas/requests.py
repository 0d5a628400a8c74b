"""Reading a JSON request body, and the fingerprint that makes an Idempotency-Key safe."""

from __future__ import annotations

import hashlib
import json

from flask import request
from marshmallow import (
    Schema,
)
from werkzeug.exceptions import BadRequest, UnsupportedMediaType


def load_json(schema: Schema) -> tuple[object, dict]:
    """Read the request's JSON body and load it with `schema`; return (raw body, loaded data).

    415 for another content type, 400 for an empty or malformed body (413 comes from
    MAX_CONTENT_LENGTH while reading), ValidationError (422) for bad fields.
    """
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as JSON with 'Content-Type: application/json'.")
    raw = request.get_data(cache=False)
    if not raw.strip():
        raise BadRequest("The request body is empty; send a JSON object.")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        # ValueError covers bad UTF-8 too; RecursionError is deeply nested junk.
        raise BadRequest("The request body is not valid JSON.") from None
    return body, schema.load(body)


def body_fingerprint(body: object) -> str:
    """A hash of the JSON body that ignores key order and whitespace (for Idempotency-Key)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()
