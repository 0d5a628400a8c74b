"""Enqueue Celery tasks by name, only after the transaction that made them necessary commits.

If the broker is unreachable the request still succeeds: the lead is already committed,
and the periodic sweep routes whatever was never routed.

A task that works through everything waiting (routing does) can be *coalesced*: while one
of its messages waits in the queue, another adds nothing, so a burst of leads publishes a
handful of messages rather than one each. The task calls `started()` before it reads what
is waiting; anything committed after that publishes a fresh message. The mark is a Redis
key (SET NX) on the Redis broker and a file created with O_EXCL beside the embedded broker's
SQLite file; with any other broker every enqueue publishes.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from flask import current_app, has_request_context
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

from leadrouter.extensions import db

log = logging.getLogger(__name__)
_PENDING = "leadrouter_pending_tasks"


# How long a coalesced message is presumed to be waiting: if it was lost (the broker died),
# the next enqueue after this publishes again; the sweep covers a quiet helpline.
COALESCE_SECONDS = 10
_MARKS = "leadrouter.jobs.waiting_marks"


def enqueue(task_name: str, *args, coalesce: bool = False, **options) -> None:
    """Send the task once the current database transaction has committed.

    With `coalesce`, nothing is sent while an earlier message of the task has not started.
    """
    pending = db.session.info.setdefault(_PENDING, [])
    entry = (task_name, args, options, coalesce)
    if entry not in pending:
        pending.append(entry)


def started(task_name: str) -> None:
    """A coalesced task is running: what is enqueued from now on needs a message of its own."""
    marks = _waiting_marks(current_app)
    if marks is not None:
        marks.clear(task_name)


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    celery_app = current_app.extensions["celery"]
    for task_name, args, options, coalesce in pending:
        if coalesce and not _first_waiting(task_name):
            continue
        if not send_now(celery_app, task_name, args, options) and coalesce:
            # No message is waiting after all: the next enqueue must publish.
            started(task_name)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


def send_now(celery_app, task_name: str, args, options) -> bool:
    """Publish; True if the broker took the message.

    In a request a person is waiting (a caller, a form), so the publish tries a down broker
    once, briefly, and the sweep routes the committed lead later. Elsewhere (a task, beat, a
    command) it uses Celery's own retry policy on the worker's connection.
    """
    in_request = has_request_context()
    publisher = (
        current_app.extensions.get("celery_request_publisher", celery_app) if in_request else celery_app
    )
    try:
        publisher.send_task(task_name, args=list(args), retry=not in_request, **options)
    except Exception as error:  # kombu raises transport-specific errors
        log.warning("could not enqueue %s (%s); the sweep will pick it up", task_name, type(error).__name__)
        return False
    return True


def _first_waiting(task_name: str) -> bool:
    """Mark a message of the task as waiting; False if one already was (nothing to send)."""
    marks = _waiting_marks(current_app)
    return True if marks is None else marks.mark(task_name)


class RedisMarks:
    """Waiting marks as Redis keys on the broker's server (SET NX with an expiry)."""

    def __init__(self, url: str):
        self.client = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def mark(self, task_name: str) -> bool:
        try:
            return bool(self.client.set(self._key(task_name), 1, nx=True, px=int(COALESCE_SECONDS * 1000)))
        except RedisError:
            return True  # publish (or fail to), as without coalescing

    def clear(self, task_name: str) -> None:
        try:
            self.client.delete(self._key(task_name))
        except RedisError as error:
            # The key expires on its own; until then enqueues keep relying on this run.
            log.warning("could not clear the waiting mark of %s (%s)", task_name, type(error).__name__)

    @staticmethod
    def _key(task_name: str) -> str:
        return f"leadrouter:waiting:{task_name}"


class FileMarks:
    """Waiting marks as files beside the embedded broker's SQLite file (web and worker share a disk).

    Creating a file with O_EXCL is the same atomic test-and-set as Redis's SET NX, and far
    cheaper than a message on the SQLite broker.
    """

    def __init__(self, broker_file: Path):
        self.directory, self.prefix = broker_file.parent, f"{broker_file.name}.waiting."

    def mark(self, task_name: str) -> bool:
        path = self._path(task_name)
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            return True
        except FileExistsError:
            pass
        except OSError:
            return True  # publish (or fail to), as without coalescing
        try:
            if time.time() - path.stat().st_mtime < COALESCE_SECONDS:
                return False
            path.unlink(missing_ok=True)  # the message it stood for is presumed lost
        except FileNotFoundError:
            pass  # just cleared by the task: ours is the next message
        except OSError:
            return True
        return self.mark(task_name)

    def clear(self, task_name: str) -> None:
        try:
            self._path(task_name).unlink(missing_ok=True)
        except OSError as error:
            log.warning("could not clear the waiting mark of %s (%s)", task_name, type(error).__name__)

    def _path(self, task_name: str) -> Path:
        return self.directory / f"{self.prefix}{task_name}"


def _waiting_marks(app) -> RedisMarks | FileMarks | None:
    """Where this app's broker keeps waiting marks; None (always publish) on another broker."""
    if _MARKS not in app.extensions:
        broker_url = app.config["CELERY_BROKER_URL"]
        marks = None
        if broker_url.startswith(("redis://", "rediss://")):
            marks = RedisMarks(broker_url)
        elif broker_url.startswith("sqla+sqlite:///"):
            marks = FileMarks(Path(broker_url.removeprefix("sqla+sqlite:///")))
        app.extensions[_MARKS] = marks
    return app.extensions[_MARKS]
