"""The intake floor: the least a web request that stores something can do on this stack.

    gunicorn --workers 2 --threads 4 bench.floor_app:app      (DATABASE_URL as for leadrouter)

POST /floor parses the JSON body, inserts one row and commits, on the same database,
driver, pool and gunicorn configuration as leadrouter. The benchmark serves it exactly
like the real app and reports intake throughput as a fraction of this one.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from flask import Flask, Response, request
from sqlalchemy import create_engine, event, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leadrouter.config import normalize_database_url  # noqa: E402


def create_floor_app() -> Flask:
    """A one-view Flask app that inserts one row per request and commits."""
    instance = Path(os.environ.get("LEADROUTER_INSTANCE_PATH") or "instance").resolve()
    url = normalize_database_url(
        os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'leadrouter.sqlite'}"
    )
    engine = create_engine(url, pool_pre_ping=False)
    if engine.dialect.name == "sqlite":
        # The same settings leadrouter's own SQLite engine runs with (extensions.py).
        @event.listens_for(engine, "connect")
        def _tune(dbapi_connection, _record):
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            for pragma in ("journal_mode=WAL", "busy_timeout=10000", "synchronous=NORMAL"):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _immediate(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        ddl = "CREATE TABLE IF NOT EXISTS bench_floor (id INTEGER PRIMARY KEY, body TEXT, created_at TEXT)"
        now = "CURRENT_TIMESTAMP"
    else:
        ddl = "CREATE TABLE IF NOT EXISTS bench_floor (id BIGSERIAL PRIMARY KEY, body TEXT, created_at TIMESTAMPTZ)"  # noqa: E501
        now = "now()"
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Both gunicorn workers start at once; concurrent CREATE TABLE IF NOT EXISTS can collide.
            connection.execute(text("SELECT pg_advisory_xact_lock(8675309)"))
        connection.execute(text(ddl))
    # Under gunicorn --preload this ran in the master: no pooled connection may cross the fork.
    engine.dispose()
    insert = text(f"INSERT INTO bench_floor (body, created_at) VALUES (:body, {now})")  # noqa: S608

    app = Flask(__name__)

    @app.post("/floor")
    def floor():
        payload = request.get_json()
        with engine.begin() as connection:
            connection.execute(insert, {"body": json.dumps(payload)})
        return Response('{"ok": true}', status=201, mimetype="application/json")

    return app


app = create_floor_app()
