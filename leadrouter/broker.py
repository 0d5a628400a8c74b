"""The embedded broker: kombu's SQLAlchemy transport, tuned for one SQLite file shared by processes.

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
"""

from __future__ import annotations

import sqlite3

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as kombu_sqlalchemy
from sqlalchemy import create_engine

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


class Channel(kombu_sqlalchemy.Channel):
    def _engine_from_config(self):
        url = self.connection.client.hostname
        if not _is_sqlite(url):
            return super()._engine_from_config()
        return create_engine(url, connect_args={"factory": _TunedSQLiteConnection})


class Transport(kombu_sqlalchemy.Transport):
    Channel = Channel

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        if _is_sqlite(client.hostname) and "polling_interval" not in client.transport_options:
            self.polling_interval = POLLING_INTERVAL


TRANSPORT_ALIASES["sqla"] = "leadrouter.broker:Transport"
