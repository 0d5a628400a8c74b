"""A controlled clock, an outbox that runs the real Celery tasks in-process, and a recorded Twilio."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import leadrouter.jobs
import leadrouter.models.base
from tests.dashboard.conftest import advisor_client, advisor_user, manager_client, manager_user  # noqa: F401
from tests.recording_http import RecordingHttpClient

ON_CALL_NUMBER = "+15125550911"


class Clock:
    """The one time every part of the app reads (models.base.utcnow), moved by the test."""

    def __init__(self, start: datetime):
        self.now = start

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(datetime(2026, 12, 2, 13, 0, tzinfo=UTC))  # a Wednesday, 07:00 in Texas

    class ControlledDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return clock.now if tz is None else clock.now.astimezone(tz)

    monkeypatch.setattr(leadrouter.models.base, "datetime", ControlledDatetime)
    return clock


class Outbox:
    """Task messages published after each commit, run in-process by name as a worker would."""

    def __init__(self, celery_app):
        self.celery_app = celery_app
        self.messages: list[tuple[str, tuple]] = []
        self.ran: list[str] = []

    def publish(self, _celery_app, task_name, args, _options) -> bool:
        self.messages.append((task_name, tuple(args)))
        return True

    def run_all(self, limit: int = 2000) -> None:
        """Deliver every message, and those their tasks publish, until none is left."""
        for _ in range(limit):
            if not self.messages:
                return
            task_name, args = self.messages.pop(0)
            self.ran.append(task_name)
            self.celery_app.tasks[task_name].run(*args)
        raise AssertionError("tasks kept publishing tasks")


@pytest.fixture
def outbox(app, monkeypatch):
    import workers.tasks.reports  # noqa: F401  (registers the tasks with the app's Celery)
    import workers.tasks.routing  # noqa: F401

    outbox = Outbox(app.extensions["celery"])
    monkeypatch.setattr(leadrouter.jobs, "send_now", outbox.publish)
    return outbox


@pytest.fixture
def twilio_http(app, monkeypatch):
    recorder = RecordingHttpClient()
    app.extensions["twilio_http_client"] = recorder
    monkeypatch.setitem(app.config, "ON_CALL_NUMBER", ON_CALL_NUMBER)
    yield recorder
    app.extensions.pop("twilio_http_client", None)
