"""Keyset-pagination cursors: the sort key of a page's last row, as an opaque URL-safe token."""

from __future__ import annotations

import base64
import json
from datetime import datetime


def encode_cursor(*key: int | str | datetime) -> str:
    """The token for a position in a keyset order (datetimes as ISO 8601)."""
    values = [value.isoformat() if isinstance(value, datetime) else value for value in key]
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *types: type) -> tuple:
    """The position a token encodes, each part read as the given type; ValueError for junk."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as error:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise ValueError("not a cursor") from error
    if not isinstance(values, list) or len(values) != len(types):
        raise ValueError("not a cursor")
    return tuple(_read(value, kind) for value, kind in zip(values, types, strict=True))


def _read(value, kind: type):
    if kind is datetime:
        if not isinstance(value, str):
            raise ValueError("not a cursor")
        return datetime.fromisoformat(value)
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError("not a cursor")
    if not isinstance(value, kind):
        raise ValueError("not a cursor")
    return value
