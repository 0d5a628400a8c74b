"""API keys: shown once, stored as a SHA-256 hash, looked up by hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from leadrouter.extensions import db
from leadrouter.models import ApiKey, utcnow

API_KEY_ROLES = ("partner", "manager")
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def issue_api_key(role: str, name: str) -> tuple[ApiKey, str]:
    """Create a key row and return it with the raw key, which is never stored."""
    if role not in API_KEY_ROLES:
        raise ValueError(f"role must be one of {', '.join(API_KEY_ROLES)}")
    prefix = secrets.token_hex(4)
    raw_key = f"lr_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(name=name, role=role, prefix=prefix, key_hash=hash_api_key(raw_key))
    db.session.add(api_key)
    db.session.flush()
    return api_key, raw_key


def find_api_key(raw_key: str) -> ApiKey | None:
    """Return the live key matching the raw value, or None."""
    if not raw_key or len(raw_key) > 200:
        return None
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_api_key(raw_key)))
    if key is None or key.revoked_at is not None:
        return None
    now = utcnow()
    # At most once a minute: writing it on every request row-locks the key, which would
    # serialise all of one partner's requests behind each other's commits.
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now
    return key
