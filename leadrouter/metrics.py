"""Prometheus metrics at GET /metrics, so production watches the figures the benchmark measures.

- ``leadrouter_http_request_duration_seconds{method,endpoint}``: request latency by URL rule
  (``/api/v1/leads/<int:lead_id>``, never the raw path, so ids cannot explode the label set).
- ``leadrouter_leads_created_total{source}``: leads committed, by channel.
- ``leadrouter_assignment_latency_seconds``: lead created -> first advisor assigned, observed
  when the assignment commits (in the Celery worker that routed it).
- ``leadrouter_call_offers_total{outcome}``: advisors rung for a live call, counted when the
  ring ends, by how it ended (answered, no-answer, busy, failed, canceled, not-accepted).
- ``leadrouter_queue_depth``, ``leadrouter_sla_breaches``, ``leadrouter_callers_holding`` and
  ``leadrouter_longest_hold_seconds``: computed from the database on each scrape (waiting
  leads; open, uncontacted leads past their first-contact deadline; callers in the hold loop
  now, and how long the first of them has waited).

Counters are moved by session events after the commit, so a rolled-back request counts
nothing and no operation needs to know about metrics.

With several processes (gunicorn workers, Celery children) set ``PROMETHEUS_MULTIPROC_DIR``
to an empty directory shared by every process of the host, before they start: each process
writes its samples there and a scrape of any worker adds them all up, the worker's
assignment latency included. Without it each process reports only its own counters.
"""

from __future__ import annotations

import hmac
import os
import time

from flask import Flask, Response, abort, current_app, request, request_started
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from leadrouter.extensions import db
from leadrouter.models import Assignment, CallOffer, Lead, utcnow
from leadrouter.team.queries import line_now

# Metrics live in their own registry so a scrape shows only leadrouter's figures (plus,
# in single-process mode, the process collector), whichever other libraries register.
REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_LATENCY = Histogram(
    "leadrouter_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and URL rule.",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
LEADS_CREATED = Counter(
    "leadrouter_leads_created",
    "Leads created (a repeat touch merged into a recent lead is not counted), by source.",
    ["source"],
    registry=REGISTRY,
)
ASSIGNMENT_LATENCY = Histogram(
    "leadrouter_assignment_latency_seconds",
    "Lead created -> first advisor assigned.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0, 1800.0),
    registry=REGISTRY,
)
CALL_OFFERS = Counter(
    "leadrouter_call_offers",
    "Advisors rung for a live call, counted when the ring ends, by how it ended.",
    ["outcome"],
    registry=REGISTRY,
)

UNMATCHED = "<unmatched>"
_STARTED = "leadrouter.metrics.started"
_PENDING = "leadrouter_pending_metrics"


def init_metrics(app: Flask) -> None:
    """Time every request and serve GET /metrics (when METRICS_ENABLED; behind METRICS_TOKEN if set)."""
    request_started.connect(_start_timer, app)
    app.after_request(_observe_request)
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])


def _start_timer(_sender, **_extra) -> None:
    request.environ[_STARTED] = time.perf_counter()


def _observe_request(response):
    started = request.environ.get(_STARTED)
    if started is not None:
        rule = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        REQUEST_LATENCY.labels(request.method, rule).observe(time.perf_counter() - started)
    return response


def metrics_view():
    """GET /metrics: the Prometheus text format; 404 when switched off, 401 without the token."""
    config = current_app.config
    if not config.get("METRICS_ENABLED", True):
        abort(404)
    token = config.get("METRICS_TOKEN")
    if token and not _presents_token(token):
        raise Unauthorized(
            "Send the metrics token as 'Authorization: Bearer <token>'.",
            www_authenticate=WWWAuthenticate("bearer", {"realm": "metrics"}),
        )
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(_DatabaseGauges())
    body = generate_latest(registry)
    response = Response(body, content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def _presents_token(token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class _Forward:
    """Expose another registry's metrics inside the per-scrape registry."""

    def __init__(self, source: CollectorRegistry):
        self._source = source

    def collect(self):
        return self._source.collect()


class _DatabaseGauges:
    """Gauges read from the database at scrape time, through their indexes."""

    def collect(self):
        now = utcnow()
        waiting = db.session.scalar(
            select(func.count(Lead.id)).where(Lead.status.in_(("new", "queued")), Lead.owner_id.is_(None))
        )
        breaches = db.session.scalar(
            select(func.count(Lead.id)).where(
                Lead.is_open.is_(True), Lead.first_contact_at.is_(None), Lead.first_contact_due < now
            )
        )
        yield GaugeMetricFamily(
            "leadrouter_queue_depth",
            "Open leads waiting for an advisor (new or queued, unowned).",
            waiting or 0,
        )
        yield GaugeMetricFamily(
            "leadrouter_sla_breaches",
            "Open leads not yet contacted whose first-contact deadline has passed.",
            breaches or 0,
        )
        line = line_now(now)
        yield GaugeMetricFamily(
            "leadrouter_callers_holding",
            "Callers in the hold loop now, waiting for an advisor.",
            line.holding,
        )
        yield GaugeMetricFamily(
            "leadrouter_longest_hold_seconds",
            "How long the caller holding longest has waited (0 when nobody holds).",
            line.longest_wait_seconds or 0.0,
        )


# --- counting what a transaction did, once it commits ---------------------------------


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _flush_context) -> None:
    pending = None
    for instance in session.dirty | session.new:
        if isinstance(instance, CallOffer) and _ring_ended(instance):
            pending = pending if pending is not None else session.info.setdefault(_PENDING, [])
            pending.append(("offer", instance.outcome))
    for instance in session.new:
        if isinstance(instance, Lead):
            pending = pending if pending is not None else session.info.setdefault(_PENDING, [])
            pending.append(("lead", instance.source))
        elif isinstance(instance, Assignment) and instance.kind == "assigned":
            lead = session.identity_map.get(identity_key(Lead, instance.lead_id))
            if lead is None or lead.created_at is None or instance.started_at is None:
                continue
            pending = pending if pending is not None else session.info.setdefault(_PENDING, [])
            waited = (instance.started_at - lead.created_at).total_seconds()
            pending.append(("assigned", max(0.0, waited)))


def _ring_ended(offer: CallOffer) -> bool:
    """This flush wrote the offer's end (once: a replayed callback finds it ended and writes nothing)."""
    ended = inspect(offer).attrs.ended_at.history
    return offer.ended_at is not None and bool(ended.added) and not any(ended.deleted)


@event.listens_for(Session, "after_commit")
def _count(session: Session) -> None:
    for kind, value in session.info.pop(_PENDING, ()):
        if kind == "lead":
            LEADS_CREATED.labels(value).inc()
        elif kind == "offer":
            CALL_OFFERS.labels(value).inc()
        else:
            ASSIGNMENT_LATENCY.observe(value)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
