"""GET /metrics: the Prometheus figures exist, move with the work, and stay private when asked."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from leadrouter.assignment import operations
from leadrouter.auth.api_keys import issue_api_key
from leadrouter.models import Call, CallOffer, utcnow
from tests.api.conftest import bearer
from tests.factories import make_advisor, make_lead

NAMES = (
    "leadrouter_http_request_duration_seconds",
    "leadrouter_leads_created_total",
    "leadrouter_assignment_latency_seconds",
    "leadrouter_queue_depth",
    "leadrouter_sla_breaches",
    "leadrouter_call_offers_total",
    "leadrouter_callers_holding",
    "leadrouter_longest_hold_seconds",
)


def scrape(client, **headers) -> dict:
    """Every sample of a scrape, keyed by (sample name, sorted labels)."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.data
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_every_figure_is_exposed(client):
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    for figure in NAMES:
        assert f"# TYPE {figure} " in text, figure
    samples = scrape(client)
    assert (
        value(samples, "leadrouter_http_request_duration_seconds_count", method="GET", endpoint="/healthz")
        >= 1
    )


def test_a_created_lead_moves_the_counter_and_the_queue(client, session):
    _row, raw_key = issue_api_key("partner", "Partner site")
    before = scrape(client)
    body = {"name": "Dana Example", "phone": "(512) 206-0190", "state": "TX"}

    response = client.post("/api/v1/leads", json=body, headers=bearer(raw_key))

    assert response.status_code == 201
    after = scrape(client)
    created = "leadrouter_leads_created_total"
    assert value(after, created, source="api") == value(before, created, source="api") + 1
    assert value(after, "leadrouter_queue_depth") == value(before, "leadrouter_queue_depth") + 1
    timed = "leadrouter_http_request_duration_seconds_count"
    assert value(after, timed, method="POST", endpoint="/api/v1/leads") >= 1


def test_a_merged_touch_or_a_rollback_counts_nothing(client, session):
    before = scrape(client)
    make_lead(phone="+15122060191")
    make_lead(phone="+15122060191")  # the same phone within 24 h merges
    session.commit()
    make_lead(phone="+15122060192")
    session.rollback()

    after = scrape(client)
    created = "leadrouter_leads_created_total"
    assert value(after, created, source="web_form") == value(before, created, source="web_form") + 1


def test_assignment_latency_is_observed_when_the_assignment_commits(client, session):
    make_advisor(regions=["TX"], capacity=5)
    lead = make_lead(phone="+15122060193")
    lead.created_at = utcnow() - timedelta(seconds=3)
    session.commit()
    before = scrape(client)

    decision = operations.route_lead(lead.id)
    session.commit()

    assert decision is not None and decision.advisor_id is not None
    after = scrape(client)
    count = "leadrouter_assignment_latency_seconds_count"
    assert value(after, count) == value(before, count) + 1
    waited = value(after, "leadrouter_assignment_latency_seconds_sum") - value(
        before, "leadrouter_assignment_latency_seconds_sum"
    )
    assert 3 <= waited < 60
    # Only the 2.5 s bucket and below miss it.
    fast = value(after, "leadrouter_assignment_latency_seconds_bucket", le="2.5") - value(
        before, "leadrouter_assignment_latency_seconds_bucket", le="2.5"
    )
    assert fast == 0


def test_sla_breaches_count_open_uncontacted_leads_past_due(client, session):
    before = value(scrape(client), "leadrouter_sla_breaches")
    # Breached against the time promised to the person.
    overdue = make_lead(phone="+15122060194")
    overdue.promised_contact_at = utcnow() - timedelta(minutes=5)
    contacted = make_lead(phone="+15122060195")
    contacted.promised_contact_at = utcnow() - timedelta(minutes=5)
    contacted.first_contact_at = utcnow() - timedelta(minutes=6)
    session.commit()

    assert value(scrape(client), "leadrouter_sla_breaches") == before + 1


def test_callers_holding_and_the_longest_wait_are_read_at_each_scrape(client, session):
    before = scrape(client)
    assert value(before, "leadrouter_callers_holding") == 0
    now = utcnow()
    session.add_all(
        [
            Call(
                call_sid="CAhold1",
                started_at=now - timedelta(minutes=2),
                hold_started_at=now - timedelta(seconds=80),
            ),
            Call(
                call_sid="CAhold2",
                started_at=now - timedelta(minutes=1),
                hold_started_at=now - timedelta(seconds=20),
            ),
            Call(call_sid="CAgone", started_at=now - timedelta(minutes=3), hold_started_at=now, ended_at=now),
        ]
    )
    session.commit()
    after = scrape(client)
    assert value(after, "leadrouter_callers_holding") == 2
    assert 80 <= value(after, "leadrouter_longest_hold_seconds") < 90


def test_call_offers_are_counted_by_outcome_once_when_the_ring_ends(client, session):
    advisor = make_advisor()
    call = Call(call_sid="CAoffers", started_at=utcnow())
    session.add(call)
    session.flush()
    offers = [CallOffer(call_id=call.id, advisor_id=advisor.id, rang_at=utcnow()) for _ in range(3)]
    session.add_all(offers)
    session.commit()
    before = scrape(client)

    def end(offer, outcome):
        offer.ended_at, offer.outcome, offer.ring_seconds = utcnow(), outcome, 20

    end(offers[0], "no-answer")
    end(offers[1], "answered")
    session.commit()
    offers[0].ring_seconds = 21  # a later write to an ended offer is not a second ending
    session.commit()
    end(offers[2], "busy")
    session.flush()
    session.rollback()  # a rolled-back ending counts nothing

    after = scrape(client)
    total = "leadrouter_call_offers_total"
    for outcome, more in (("no-answer", 1), ("answered", 1), ("busy", 0)):
        assert value(after, total, outcome=outcome) == value(before, total, outcome=outcome) + more, outcome


def test_latency_is_labelled_by_url_rule_not_raw_path(client, session):
    client.get("/api/v1/leads/424242")
    client.get("/no-such-page/123")

    samples = scrape(client)
    timed = "leadrouter_http_request_duration_seconds_count"
    assert value(samples, timed, method="GET", endpoint="/api/v1/leads/<int:lead_id>") >= 1
    assert value(samples, timed, method="GET", endpoint="<unmatched>") >= 1
    assert not any("424242" in str(labels) or "no-such-page" in str(labels) for _name, labels in samples)


def test_the_token_is_enforced(client, session, monkeypatch, app):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-secret-0123456789")

    missing = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})

    assert missing.status_code == 401 and wrong.status_code == 401
    assert missing.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert b"leadrouter_" not in missing.data
    scrape(client, Authorization="Bearer scrape-secret-0123456789")


def test_switched_off_it_is_not_found(client, session, monkeypatch, app):
    monkeypatch.setitem(app.config, "METRICS_ENABLED", False)
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize("raw", ["", "0", "yes"])
def test_settings_are_read_from_the_environment(raw):
    from leadrouter.config import load_settings

    settings = load_settings({"METRICS_ENABLED": raw, "METRICS_TOKEN": "t" * 20})
    assert settings["METRICS_ENABLED"] is (raw != "0")
    assert settings["METRICS_TOKEN"] == "t" * 20


def test_multiprocess_mode_adds_up_every_process(tmp_path, database_urls):
    """Two processes count leads; a third, serving /metrics, reports their sum."""
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    count = "from leadrouter.metrics import LEADS_CREATED; LEADS_CREATED.labels('sms').inc()"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, cwd=root, check=True, timeout=60)
    serve = textwrap.dedent(
        f"""
        from tests.conftest import base_config
        from leadrouter import create_app
        app = create_app(base_config({database_urls["sqlite"]!r}, {str(tmp_path)!r}))
        print(app.test_client().get("/metrics").get_data(as_text=True))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", serve],
        env=env,
        cwd=root,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    )
    assert 'leadrouter_leads_created_total{source="sms"} 2.0' in result.stdout
    assert "leadrouter_queue_depth" in result.stdout
