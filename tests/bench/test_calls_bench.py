"""The benchmark's live-call step: its hold turns are signed as Twilio signs them, and a build
without the hold loop is reported as such instead of as fast 404s."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs

from twilio.request_validator import RequestValidator

from bench.calls_bench import HOLD_PATH, hold_request, measure_hold_step
from bench.harness.common import PUBLIC_BASE_URL, TWILIO_TOKEN, make_plan
from tests.browser import serve_app


def test_a_hold_turn_is_signed_for_the_hold_url():
    request = hold_request("CA" + "1" * 32, "+15125550142")
    params = {key: values[0] for key, values in parse_qs(request.body.decode()).items()}
    assert request.path == HOLD_PATH and params["CallSid"] == "CA" + "1" * 32
    assert RequestValidator(TWILIO_TOKEN).validate(
        PUBLIC_BASE_URL + HOLD_PATH, params, request.headers["X-Twilio-Signature"]
    )


def test_the_hold_step_is_measured_only_where_the_hold_loop_exists(tmp_path):
    plan = replace(make_plan(True, None), phase_seconds=0.2)
    with serve_app(tmp_path, TWILIO_AUTH_TOKEN=TWILIO_TOKEN, PUBLIC_BASE_URL=PUBLIC_BASE_URL) as (app, url):
        has_hold_loop = any(rule.rule == HOLD_PATH for rule in app.url_map.iter_rules())
        result = measure_hold_step(url, [("CA" + "2" * 32, "+15125550142")], 10, plan)
    if has_hold_loop:
        assert result is not None and result.sent == 2
    else:
        assert result is None  # "hold step: not available", not a latency of 404s
