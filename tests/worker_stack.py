"""A real Celery worker process on a real broker and a committed database, for end-to-end tests.

The rolled-back test session cannot be seen by another process, so these tests get a
database of their own: a temporary SQLite file, or a throwaway schema on PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from leadrouter import create_app
from leadrouter.config import normalize_database_url
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, base_config, migrate_to_head

ROOT = Path(__file__).resolve().parent.parent
STACKS = ["sqlite"] + (["postgres+redis"] if TEST_DATABASE_URL and TEST_REDIS_URL else [])


@contextmanager
def isolated_database(kind: str, tmp_path: Path):
    """Yield a migrated database URL that nothing else uses, and remove it afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'worker.sqlite'}"
        return
    schema = f"worker_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_database_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in TEST_DATABASE_URL else "?"
    try:
        yield normalize_database_url(f"{TEST_DATABASE_URL}{separator}options=-csearch_path%3D{schema}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class WorkerStack:
    """An app, its database and broker, and the worker processes serving them."""

    def __init__(self, kind: str, tmp_path: Path, database_url: str):
        self.kind = kind
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.broker_url = (
            TEST_REDIS_URL if kind == "postgres+redis" else f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
        )
        self.app = create_app(base_config(database_url, str(tmp_path), CELERY_BROKER_URL=self.broker_url))
        migrate_to_head(self.app)
        self.workers: list[subprocess.Popen] = []
        if kind == "postgres+redis":
            # TEST_REDIS_URL names a database the tests own: start from an empty broker, with
            # no messages left unacknowledged by a worker an earlier test killed.
            self._redis().flushdb()

    def start_worker(
        self, *extra_args: str, log_name: str | None = None, queues: str | None = "routing,notify,default"
    ) -> subprocess.Popen:
        """Start `celery -A workers worker`; `queues=None` starts it plain, as the README says
        (every queue, gossip and mingle on), only with a unique hostname."""
        env = dict(
            os.environ,
            DATABASE_URL=self.database_url,
            CELERY_BROKER_URL=self.broker_url,
            LEADROUTER_INSTANCE_PATH=str(self.tmp_path),
            SECRET_KEY="test-secret-key-0123456789",
            WORKER_HEARTBEAT_SECONDS="1",
        )
        log_path = self.tmp_path / (log_name or f"worker{len(self.workers)}.log")
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers",
            "worker",
            *(["--queues", queues] if queues else []),
            "--loglevel",
            "INFO",
            # A plain worker keeps Celery's gossip and mingle, as a user's does.
            *(["--without-gossip", "--without-mingle"] if queues else []),
            "--hostname",
            f"w{len(self.workers)}-{uuid.uuid4().hex[:6]}@%h",
            *extra_args,
        ]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(process)
        return process

    def _redis(self):
        return self.app.extensions["celery"].connection_for_write().channel().client

    def pending_messages(self) -> int:
        """Messages still waiting in the broker (delivered-but-unacknowledged ones included)."""
        if self.kind == "postgres+redis":
            client = self._redis()
            unacked = client.hlen("unacked")
            return sum(client.llen(queue) for queue in ("routing", "notify", "default")) + unacked
        engine = create_engine(self.broker_url.removeprefix("sqla+"))
        with engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM kombu_message WHERE visible")).scalar()
        engine.dispose()
        return count

    def purge(self) -> None:
        """Lose every message in the broker, as a broker that died without persistence would."""
        if self.kind == "postgres+redis":
            self._redis().delete("routing", "notify", "default", "unacked", "unacked_index")
            return
        engine = create_engine(self.broker_url.removeprefix("sqla+"))
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM kombu_message"))
        engine.dispose()

    def log(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.tmp_path.glob("worker*.log")))

    def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self.kind == "postgres+redis":
            self._redis().flushdb()
        with self.app.app_context():
            from leadrouter.extensions import db

            db.engine.dispose()


@pytest.fixture(params=STACKS)
def stack(request, tmp_path):
    with isolated_database(request.param, tmp_path) as url:
        stack = WorkerStack(request.param, tmp_path, url)
        try:
            yield stack
        finally:
            stack.stop()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, stack: WorkerStack | None = None):
    """Poll until predicate() is truthy; fail with the worker log if it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    details = stack.log()[-4000:] if stack else ""
    raise AssertionError(f"condition not met within {timeout}s\n{details}")
