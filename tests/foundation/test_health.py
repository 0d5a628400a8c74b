"""Liveness and readiness, including a 503 that names what is down."""

from __future__ import annotations

import socket

import pytest

from leadrouter import create_app
from tests.conftest import TEST_REDIS_URL, base_config


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_says_the_process_is_alive(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_checks_database_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["database"] == "ok"


def test_readyz_names_an_unreachable_broker(app, database_urls, backend, tmp_path):
    broken = create_app(
        base_config(
            database_urls[backend],
            str(tmp_path),
            CELERY_BROKER_URL=f"redis://127.0.0.1:{_closed_port()}/0",
        )
    )
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert set(body["failing"]) == {"broker"}


def test_readyz_names_an_unreachable_database(tmp_path):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/nothing?connect_timeout=1"
    broken = create_app(base_config(url, str(tmp_path)))
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert "database" in response.get_json()["failing"]
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.skipif(not TEST_REDIS_URL, reason="needs TEST_REDIS_URL")
def test_readyz_with_the_redis_broker(database_urls, backend, tmp_path):
    app = create_app(base_config(database_urls[backend], str(tmp_path), CELERY_BROKER_URL=TEST_REDIS_URL))
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.get_json()


def _heartbeat(hostname, queues, seconds_ago):
    from datetime import timedelta

    from leadrouter.extensions import db
    from leadrouter.models import WorkerHeartbeat, utcnow

    seen = utcnow() - timedelta(seconds=seconds_ago)
    db.session.add(
        WorkerHeartbeat(
            hostname=hostname, pid=4242, queues="," + ",".join(queues) + ",", started_at=seen, seen_at=seen
        )
    )
    db.session.flush()


def test_readyz_warns_when_no_worker_was_ever_seen(client):
    response = client.get("/readyz")
    assert response.status_code == 200  # leads are still taken: no reason to leave the load balancer
    body = response.get_json()
    assert body["status"] == "degraded"
    assert "ever been seen" in body["warnings"]["workers"]


def test_readyz_is_ready_with_a_live_routing_worker(client):
    _heartbeat("w1@host", ["default", "notify", "routing"], seconds_ago=2)
    body = client.get("/readyz").get_json()
    assert body["status"] == "ready" and body["workers"] == "ok"


def test_readyz_warns_when_the_routing_worker_went_quiet(client):
    _heartbeat("w1@host", ["routing"], seconds_ago=95)
    body = client.get("/readyz").get_json()
    assert body["status"] == "degraded"
    assert "last seen 95 s ago" in body["warnings"]["workers"]


def test_a_live_worker_on_other_queues_does_not_count(client):
    _heartbeat("w2@host", ["default", "notify"], seconds_ago=1)
    body = client.get("/readyz").get_json()
    assert body["status"] == "degraded"
