"""Enqueue Celery tasks by name, only after the transaction that made them necessary commits.

If the broker is unreachable the request still succeeds: the lead is already committed,
and the periodic sweep routes whatever was never routed.
"""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from leadrouter.extensions import db

log = logging.getLogger(__name__)
_PENDING = "leadrouter_pending_tasks"


def enqueue(task_name: str, *args, **options) -> None:
    """Send the task once the current database transaction has committed."""
    pending = db.session.info.setdefault(_PENDING, [])
    if (task_name, args, options) not in pending:
        pending.append((task_name, args, options))


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    celery_app = current_app.extensions["celery"]
    for task_name, args, options in pending:
        send_now(celery_app, task_name, args, options)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


def send_now(celery_app, task_name: str, args, options) -> bool:
    """Publish without retrying: a down broker must not stall the caller or the form."""
    try:
        celery_app.send_task(task_name, args=list(args), retry=False, **options)
    except Exception as error:  # kombu raises transport-specific errors
        log.warning("could not enqueue %s (%s); the sweep will pick it up", task_name, type(error).__name__)
        return False
    return True
