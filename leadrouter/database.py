"""Which database the session talks to, and a rollback that never raises."""

from __future__ import annotations

import logging

from leadrouter.extensions import db

log = logging.getLogger(__name__)

# The largest id the integer id columns hold; PostgreSQL refuses a larger one with an error.
MAX_ID = 2**31 - 1


def dialect_name() -> str:
    """The session's database dialect: "postgresql" or "sqlite"."""
    return db.session.get_bind().dialect.name


def is_postgres() -> bool:
    """Whether the session talks to PostgreSQL (row locks, SKIP LOCKED, advisory locks)."""
    return dialect_name() == "postgresql"


def rollback_quietly() -> None:
    """Undo the session after a database error, even when the connection is already gone."""
    try:
        db.session.rollback()
    except Exception:  # the connection is already gone; nothing left to undo
        log.debug("rollback after a database error failed too", exc_info=True)
