"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from kombu import Connection
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from leadrouter.extensions import db
from leadrouter.worker_presence import routing_workers_warning

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Report 503 naming each dependency that cannot be reached."""
    failing = {}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # any driver error means "not ready"
        db.session.rollback()
        failing["database"] = type(error).__name__
    broker_error = check_broker(current_app.config["CELERY_BROKER_URL"])
    if broker_error:
        failing["broker"] = broker_error
    if failing:
        return jsonify(status="unavailable", failing=failing), 503
    # No worker is no reason to stop taking leads (they are committed, and routed once one
    # runs), so this is a warning in a 200, for monitoring, not a 503 for the load balancer.
    try:
        workers_warning = routing_workers_warning(current_app.config["WORKER_HEARTBEAT_SECONDS"])
    except SQLAlchemyError as error:
        db.session.rollback()
        workers_warning = f"could not read the worker heartbeats ({type(error).__name__})"
    if workers_warning:
        return jsonify(status="degraded", database="ok", broker="ok", warnings={"workers": workers_warning})
    return jsonify(status="ready", database="ok", broker="ok", workers="ok")


def check_broker(url: str, timeout: float = 1.0) -> str | None:
    """Return None when the broker answers, else the error's type name."""
    try:
        with Connection(url, connect_timeout=timeout, transport_options={"socket_timeout": timeout}) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            if url.startswith("redis"):
                conn.default_channel.client.ping()
    except Exception as error:  # kombu wraps transport errors in many types
        return type(error).__name__
    return None
