"""Broker transports: the embedded SQLite one tuned for several processes, Redis hardened for restarts.

The embedded broker is kombu's SQLAlchemy transport, tuned for one SQLite file shared by processes.

kombu's transport opens the SQLite file with SQLite's defaults: a rollback journal, so a
reader and a writer block each other, a full fsync on every commit, and a worker that
looks for new tasks once a second. Every publish is a commit, so with several web
processes publishing and a worker polling, each waits on the others (SQLite's busy
handler sleeps 1, 2, 5 … up to 100 ms between tries) and a lead waits up to a second to be
picked up. This transport opens the file the way leadrouter opens its own database (WAL,
synchronous=NORMAL, a busy timeout) and polls every POLLING_INTERVAL seconds.

Why it replaces kombu's ``sqla`` alias rather than being named in the URL: kombu reads
the transport off the URL (``sqla+sqlite:///…``), Celery lets the CELERY_BROKER_URL
environment variable (our setting's name too) override any URL we compute, and every
transport option is handed to ``create_engine``, so none of those can carry the tuning.
Importing this module (leadrouter.extensions does, in every process) makes ``sqla`` mean
this subclass; other databases behind ``sqla+…`` get kombu's behaviour unchanged.

``redis`` is kombu's Redis transport with one fix (RedisChannel.close): without it a worker
died of an AttributeError when Redis went away while it held an unacknowledged task.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis
from kombu.transport import sqlalchemy as kombu_sqlalchemy
from redis import exceptions as redis_errors
from sqlalchemy import create_engine, make_url

log = logging.getLogger(__name__)

# Ten looks a second per queue: a few cheap indexed reads, and a lead waits ~50 ms on average.
POLLING_INTERVAL = 0.1


def _is_sqlite(url: str | None) -> bool:
    return (url or "").startswith("sqlite:")


class _TunedSQLiteConnection(sqlite3.Connection):
    """A SQLite connection in WAL mode with a busy timeout and group-friendly commits."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA journal_mode=WAL")
        self.execute("PRAGMA synchronous=NORMAL")
        self.execute("PRAGMA busy_timeout=10000")


@functools.cache
def _database_path(url: str) -> str:
    return make_url(url).database or ""


def _file_identity(url: str) -> tuple[int, int] | None:
    """The (device, inode) of the SQLite file behind the URL, or None if there is no such file."""
    try:
        status = os.stat(_database_path(url))
    except OSError:
        return None
    return status.st_dev, status.st_ino


class Channel(kombu_sqlalchemy.Channel):
    """kombu's SQLAlchemy channel, following an embedded broker file that was removed or replaced.

    An open SQLite connection keeps using a deleted file for ever: without this, a worker whose
    broker file was removed (by hand, or by a clean-up script) would poll the old inode while
    the web publishes to a new file, and no lead would be routed until a restart. kombu commits
    after every operation, so dropping the pooled connections is enough to move every session
    to the file now at the path; the tables are created there first.
    """

    # The (device, inode) of the file each cached engine uses, by URL (kombu caches engines per process).
    _engine_files: dict[str, tuple[int, int] | None] = {}

    def _engine_from_config(self):
        url = self.connection.client.hostname
        if not _is_sqlite(url):
            return super()._engine_from_config()
        return create_engine(url, connect_args={"factory": _TunedSQLiteConnection})

    @property
    def session(self):
        url = self.connection.client.hostname
        if _is_sqlite(url) and url in self._engines:
            self._follow_the_file(url)
        return super().session

    def _follow_the_file(self, url: str) -> None:
        current = _file_identity(url)
        if current is not None and current == Channel._engine_files.get(url):
            return
        with kombu_sqlalchemy._MUTEX:
            opened = Channel._engine_files.get(url)
            current = _file_identity(url)
            if current is not None and current == opened:
                return
            engine = self._engines[url][0]
            if opened is not None:
                log.warning(
                    "the embedded broker file was removed or replaced; reopening %s", engine.url.database
                )
                engine.dispose()
            kombu_sqlalchemy.metadata.create_all(engine)
            Channel._engine_files[url] = _file_identity(url)


class Transport(kombu_sqlalchemy.Transport):
    Channel = Channel

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        if _is_sqlite(client.hostname) and "polling_interval" not in client.transport_options:
            self.polling_interval = POLLING_INTERVAL


class RedisChannel(kombu_redis.Channel):
    """kombu's Redis channel, failing with a connection error once its connection was collected.

    When Redis goes away, Celery's consumer calls ``connection.collect()``, which detaches the
    transport from the channels it leaves behind (``transport.client = None``, or the
    channel's ``connection`` set to None). Two things still reach those channels: the
    ``connection.close()`` that follows (its "restore unacknowledged messages" step) and the
    late acknowledgement of a task that finished meanwhile. Both then built a Redis client
    from the detached transport, and the AttributeError ('NoneType' object has no attribute
    'hostname' / 'client') killed the worker for good, since Celery only recovers from
    connection errors. Here they get a connection error: the ack is logged as not made, and
    Redis keeps the message for redelivery after the visibility timeout (or lost it in a
    restart, and the sweep routes its lead; routing is idempotent either way).
    """

    def close(self):
        if not self.closed and self._detached():
            self._qos = None  # nothing can be restored through a detached transport
        super().close()

    def _connparams(self, asynchronous=False):
        if self._detached():
            raise redis_errors.ConnectionError("the broker connection was closed after a connection loss")
        return super()._connparams(asynchronous=asynchronous)

    def _detached(self) -> bool:
        return self.connection is None or self.connection.client is None


class RedisTransport(kombu_redis.Transport):
    Channel = RedisChannel


TRANSPORT_ALIASES["sqla"] = "leadrouter.broker:Transport"
TRANSPORT_ALIASES["redis"] = TRANSPORT_ALIASES["rediss"] = "leadrouter.broker:RedisTransport"
