"""Test fixtures: every database test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.

The schema is built once per backend by the real Alembic migrations; each test runs in a
transaction that is rolled back, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import socket

import pytest
from flask import g
from sqlalchemy import text
from sqlalchemy.orm import Session

from leadrouter import create_app
from leadrouter.extensions import db

# The `stack` fixture: real worker processes on their own database and broker.
pytest_plugins = ["tests.worker_stack"]

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
BACKENDS = ["sqlite"] + (["postgres"] if TEST_DATABASE_URL else [])
TWILIO_TEST_TOKEN = "12345678901234567890123456789012"
PUBLIC_BASE_URL = "https://helpline.example.org"


def base_config(database_url: str, instance_path: str, **overrides) -> dict:
    """The settings every test app starts from."""
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "CELERY_BROKER_URL": "memory://",
        "INSTANCE_PATH": instance_path,
        "SECRET_KEY": "test-secret-key-0123456789",
        "TWILIO_AUTH_TOKEN": TWILIO_TEST_TOKEN,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "HELPLINE_NUMBER": "+18005550100",
        "WTF_CSRF_ENABLED": False,
        # As deployed behind one HTTPS proxy (the proxy tests rely on it).
        "TRUSTED_PROXIES": 1,
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    return config


def reset_postgres_schema(url: str) -> None:
    """Give the test run an empty public schema on the test PostgreSQL database."""
    from sqlalchemy import create_engine

    from leadrouter.config import normalize_database_url

    engine = create_engine(normalize_database_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def migrate_to_head(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory) -> dict:
    """One migrated database per backend, for the whole test session."""
    from leadrouter.config import normalize_database_url

    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"}
    if TEST_DATABASE_URL:
        reset_postgres_schema(TEST_DATABASE_URL)
        urls["postgres"] = normalize_database_url(TEST_DATABASE_URL)
    instance = str(tmp_path_factory.mktemp("instance"))
    for url in urls.values():
        migrate_to_head(create_app(base_config(url, instance)))
    return urls


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def app(backend, database_urls, tmp_path_factory):
    app = create_app(base_config(database_urls[backend], str(tmp_path_factory.mktemp("instance"))))

    @app.before_request
    def _forget_the_previous_requests_user():
        # Requests in a test share the test's app context, so `g` (where Flask-Login caches
        # the user) outlives a request; in production every request has a fresh one.
        g.pop("_login_user", None)

    return app


class BoundSession(Session):
    """A plain Session that honours `bind` (Flask-SQLAlchemy's picks an engine per model)."""

    def __init__(self, db=None, **options):
        super().__init__(**options)


@pytest.fixture
def session(app):
    """A database session inside a transaction that is rolled back after the test."""
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {
                "class_": BoundSession,
                "bind": connection,
                "join_transaction_mode": "create_savepoint",
            }
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app, session):
    return app.test_client()


@pytest.fixture(autouse=True)
def _no_real_network(monkeypatch):
    """Fail any test that tries to reach a host other than this machine (Twilio included)."""
    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if (
            isinstance(host, str)
            and host not in ("127.0.0.1", "::1", "localhost")
            and not host.startswith("/")
        ):
            raise RuntimeError(f"test tried to reach the network: {host}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
