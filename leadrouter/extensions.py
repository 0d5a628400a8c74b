"""Extension objects, created unbound and attached to the app in create_app()."""

from __future__ import annotations

import fcntl
import sqlite3

import click
from celery import Celery, Task
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from kombu import Queue
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

import leadrouter.broker  # noqa: F401  (makes sqla+sqlite:// the tuned embedded broker)
from leadrouter.rate_limits import STRATEGY as RATE_LIMIT_STRATEGY

# Stable constraint names so Alembic can alter and drop them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class LazyMigrate:
    """Flask-Migrate, imported the first time something uses it.

    It imports alembic (and with it mako and pygments): about 12 MB in every gunicorn
    and Celery process, when only `flask db ...`, the embedded launcher and the tests
    migrate. `app.extensions["migrate"]` and the `db` command group load it on first use.
    """

    def init_app(self, app: Flask, db: SQLAlchemy, directory: str) -> None:
        app.extensions["migrate"] = _PendingMigrate(app, db, directory)
        app.cli.add_command(_MigrationCommands(name="db", help="Perform database migrations."))


class _PendingMigrate:
    """Stands in `app.extensions["migrate"]` until an attribute is read, then loads Flask-Migrate."""

    def __init__(self, app: Flask, db: SQLAlchemy, directory: str) -> None:
        self._app, self._db, self._directory = app, db, directory

    def __getattr__(self, name: str):
        from flask_migrate import Migrate

        # Replaces this stand-in in app.extensions (and the `db` command) with the real ones.
        Migrate().init_app(self._app, self._db, directory=self._directory)
        return getattr(self._app.extensions["migrate"], name)


class _MigrationCommands(click.Group):
    """`flask db ...`: Flask-Migrate's command group, imported when it is run."""

    def make_context(self, info_name, args, parent=None, **extra):
        from flask_migrate.cli import db as migration_commands

        return migration_commands.make_context(info_name, args, parent=parent, **extra)


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = LazyMigrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(
    key_func=get_remote_address, default_limits=[], headers_enabled=True, strategy=RATE_LIMIT_STRATEGY
)


def tune_sqlite_engine(engine: Engine) -> None:
    """Make our own SQLite engine safe for several processes (not kombu's broker engine)."""
    if engine.dialect.name != "sqlite":
        return
    event.listen(engine, "connect", _tune_sqlite)
    event.listen(engine, "begin", _begin_sqlite_immediately)


def _tune_sqlite(dbapi_connection, _record):
    """WAL and a busy timeout let the web, worker and beat processes share one SQLite file."""
    # Take transaction control away from pysqlite so SQLAlchemy's BEGIN and SAVEPOINT work.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite_immediately(connection):
    """Take SQLite's write lock up front: one writer at a time, waiting instead of failing.

    A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when
    another process wrote in between; the busy timeout cannot help it. The writer queue
    (WriterQueuedConnection) is joined first, so the lock is free when BEGIN asks for it.
    """
    raw = connection.connection.dbapi_connection
    if isinstance(raw, WriterQueuedConnection):
        raw.join_writer_queue()
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class WriterQueuedConnection(sqlite3.Connection):
    """A SQLite connection whose transactions queue on a file lock (flock) shared by processes.

    SQLite lets one writer in at a time; one that finds the file locked sleeps in SQLite's
    busy handler (1, 2, 5, 10 … 100 ms) and tries again, so under load the waits, not the
    work, make the tail: the embedded intake's p99 was tens of milliseconds for a 2 ms
    transaction. Here every transaction first takes an exclusive flock on
    `<database>.writer-lock`; the kernel wakes the next waiter as soon as the holder's
    COMMIT or ROLLBACK has finished. The lock belongs to this connection's open file, so a
    crashed process releases it, and threads (each with its own connection) queue too.
    """

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        path = str(database)
        in_memory = path in ("", ":memory:") or path.startswith("file:")
        self._writer_lock = None if in_memory else open(f"{path}.writer-lock", "a")  # noqa: SIM115
        self._in_queue = False

    def join_writer_queue(self) -> None:
        if self._writer_lock is not None and not self._in_queue:
            fcntl.flock(self._writer_lock, fcntl.LOCK_EX)
            self._in_queue = True

    def _leave_writer_queue(self) -> None:
        if self._in_queue:
            self._in_queue = False
            fcntl.flock(self._writer_lock, fcntl.LOCK_UN)

    def commit(self):
        try:
            super().commit()
        finally:
            self._leave_writer_queue()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self._leave_writer_queue()

    def close(self):
        try:
            super().close()
        finally:
            self._leave_writer_queue()
            if self._writer_lock is not None:
                self._writer_lock.close()


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app whose tasks run inside the Flask app context (Flask docs pattern)."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_settings(app.config))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    # Publishes made while a person waits go through a twin that tries the broker once (jobs.send_now).
    request_publisher = Celery(f"{app.name}-requests", set_as_current=False)
    request_publisher.config_from_object(celery_settings(app.config, fail_fast=True))
    app.extensions["celery_request_publisher"] = request_publisher
    return celery_app


# Every queue the app publishes to. A plain `celery -A workers worker` consumes all of them;
# `--queues` only splits the work across machines.
ROUTING_QUEUE = "routing"
TASK_QUEUES = ("default", ROUTING_QUEUE, "notify")

# A publish made while a person waits (a form, a partner's request, a caller on the line) tries
# the broker once, briefly: the lead is already committed and the sweep routes it later. Only
# the request path's own publisher gets these options; the worker and beat keep reconnecting
# for ever (with them, a worker gave up after one reconnect try when Redis restarted).
FAIL_FAST_TRANSPORT_OPTIONS = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}


def celery_settings(config, *, fail_fast: bool = False) -> dict:
    """Celery settings derived from the Flask config; `fail_fast` for the request path's publisher."""
    broker_url = config["CELERY_BROKER_URL"]
    transport_options: dict = {}
    # The embedded SQLite broker is tuned by its own transport (leadrouter/broker.py).
    if broker_url.startswith("redis"):
        transport_options = {
            # Longer than the slowest task (Twilio retries back off up to ~10 min) so an
            # unacknowledged routing task is not redelivered while it is still running.
            "visibility_timeout": 3600,
            "socket_connect_timeout": 1,
            # Longer than kombu's 1 s BRPOP wait, so an idle worker is not disturbed, but a
            # broker that vanished without closing the socket cannot hang a publish.
            "socket_timeout": 5,
        }
    if fail_fast:
        transport_options = {**transport_options, **FAIL_FAST_TRANSPORT_OPTIONS}
    return {
        "broker_url": broker_url,
        "broker_transport_options": transport_options,
        "broker_connection_timeout": 2,
        "broker_connection_retry_on_startup": True,
        # The worker and beat reconnect for ever (Celery backs off up to 30 s between tries).
        "broker_connection_retry": True,
        "broker_connection_max_retries": None,
        "broker_channel_error_retry": True,
        "task_ignore_result": True,
        "result_backend": None,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # A task that runs while the broker connection drops finishes its (idempotent) work; its
        # unacknowledged message is redelivered, or lost with the broker and found by the sweep.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": "default",
        "task_queues": tuple(Queue(name) for name in TASK_QUEUES),
        "task_routes": {"routing.*": {"queue": ROUTING_QUEUE}, "notify.*": {"queue": "notify"}},
        "task_always_eager": config.get("CELERY_TASK_ALWAYS_EAGER", False),
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "worker_hijack_root_logger": False,
    }
