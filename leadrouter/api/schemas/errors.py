"""The error bodies of the JSON API: `{"error": ...}`, and 422's `{"errors": {field: [...]}}`."""

from __future__ import annotations

from marshmallow import Schema, fields


class ErrorSchema(Schema):
    """Every error but 422: what went wrong, in plain words."""

    error = fields.String(
        required=True,
        metadata={
            "description": "What went wrong, in plain words.",
            "example": "The request body is not valid JSON.",
        },
    )


class ValidationErrorsSchema(Schema):
    """422: each bad field with its messages."""

    errors = fields.Dict(
        required=True,
        keys=fields.String(),
        metadata={
            "description": "Each bad field with its messages; nested objects nest, list items "
            "are keyed by position.",
            "additionalProperties": {
                "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]
            },
            "example": {
                "phone": ["Not a valid phone number: give a US number like (512) 555-0100, ..."],
                "nickname": ["Unknown field."],
            },
        },
    )


def error_messages(messages) -> dict:
    """Marshmallow's error dict with every key a string (list positions are integers)."""
    if isinstance(messages, dict):
        return {str(key): error_messages(value) for key, value in messages.items()}
    if isinstance(messages, list | tuple):
        return [error_messages(value) for value in messages]
    return messages
