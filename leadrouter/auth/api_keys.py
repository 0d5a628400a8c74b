"""API keys: shown once, stored as a SHA-256 hash, looked up by hash."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import make_transient_to_detached

from leadrouter.extensions import db
from leadrouter.models import ApiKey, utcnow

API_KEY_ROLES = ("partner", "manager")
LAST_USED_RESOLUTION = timedelta(minutes=1)
# How long a process trusts a key it has verified without asking the database again: a
# key revoked (or a role changed) in the database is refused by every process within this.
CACHE_SECONDS = 30.0
_CACHE = "leadrouter_api_keys"


class _CachedKey(NamedTuple):
    expires: float  # time.monotonic()
    id: int
    name: str
    role: str
    prefix: str
    key_hash: str
    created_at: datetime
    last_used_at: datetime | None


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
    """Return the live key matching the raw value, or None.

    A key found live is remembered by this process for CACHE_SECONDS, so most requests
    skip the lookup: revoking a key takes effect everywhere within that time. A key
    served from memory is returned detached from the session (its columns are loaded).
    """
    if not raw_key or len(raw_key) > 200:
        return None
    key_hash = hash_api_key(raw_key)
    cache: dict[str, _CachedKey] = current_app.extensions.setdefault(_CACHE, {})
    cached = cache.get(key_hash)
    if cached is None or cached.expires <= time.monotonic():
        return _load_api_key(key_hash, cache)
    now = utcnow()
    if _stale(cached.last_used_at, now):
        # Conditional: another process may have written it within the minute.
        db.session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == cached.id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        cached = cache[key_hash] = cached._replace(last_used_at=now)
    key = ApiKey(**{column: getattr(cached, column) for column in _CachedKey._fields[1:]}, revoked_at=None)
    make_transient_to_detached(key)
    return key


def _load_api_key(key_hash: str, cache: dict[str, _CachedKey]) -> ApiKey | None:
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))
    if key is None or key.revoked_at is not None:
        cache.pop(key_hash, None)
        return None
    now = utcnow()
    if _stale(key.last_used_at, now):
        key.last_used_at = now
    cache[key_hash] = _CachedKey(
        time.monotonic() + CACHE_SECONDS,
        *(getattr(key, column) for column in _CachedKey._fields[1:]),
    )
    return key


def _stale(last_used_at: datetime | None, now: datetime) -> bool:
    # At most once a minute: writing it on every request row-locks the key, which would
    # serialise all of one partner's requests behind each other's commits.
    return last_used_at is None or now - last_used_at > LAST_USED_RESOLUTION
