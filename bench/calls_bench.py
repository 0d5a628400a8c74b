"""The live-call step of the benchmark (issue #14): /twilio/voice and the hold step at 50 calls/s
with 100 callers holding, each next to the insert-and-commit floor of the same run.

A caller's path must stay quick while others wait in line. Run on a pass's own stack after
`Pass.with_workers` (which stops the web server, so this starts it again and stops it after):

1. 100 callers are put in line: 100 calls answered by POST /twilio/voice, then marked holding
   in the database (calls.hold_started_at), with every advisor busy so that each hold turn
   finds nobody free and the caller stays in line (advisors are set back afterwards).
2. POST /twilio/voice, signed, at the plan's voice rate (50/s) for one phase, while they hold.
3. The hold step: POST /twilio/voice/hold (form CallSid, signed), as each caller's <Redirect>
   sends it, at the same rate, cycling over the 100 holding callers. Where that route does not
   exist (it answers 404), the step is reported as "hold step: not available" instead.

Target (issue #14): p99 <= 20 ms and none over 1 s, for both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode

from bench.harness.common import HELPLINE, PUBLIC_BASE_URL, TWILIO_TOKEN, ms, say, verdict
from bench.harness.load import LoadResult, Request, constant_rate, open_loop

HOLDING_CALLERS = 100
HOLD_PATH = "/twilio/voice/hold"
TARGET = "p99 <= 20 ms; none over 1 s"


def measure_calls(bench_pass) -> None:
    """Add the live-call figures to a pass (production or embedded)."""
    plan, stack = bench_pass.plan, bench_pass.stack
    rate = plan.voice_rate
    where = "PostgreSQL" if bench_pass.kind == "production" else "embedded"
    floor = f"insert+commit floor {bench_pass.raw.get('floor_low', '-')}"
    say(f"\n[{bench_pass.kind}] live calls: {HOLDING_CALLERS} callers holding; /twilio/voice, the hold step")
    stack.start_web()
    statuses: dict[int, str] = {}
    try:
        holding = put_callers_in_line(bench_pass, HOLDING_CALLERS, statuses)
        voice = _run(stack.base_url, bench_pass.traffic.voice(int(rate * plan.phase_seconds)), rate, plan)
        say("    /twilio/voice while they hold: " + voice.summary())
        in_line = f"{len(holding)} holding"
        _figure(bench_pass, f"/twilio/voice signed ({where}), {rate} calls/s, {in_line}", voice, floor)
        hold = measure_hold_step(stack.base_url, holding, rate, plan)
        if hold is None:
            say("    hold step: not available (POST /twilio/voice/hold answers 404 on this build)")
            bench_pass.figure(
                f"hold step POST {HOLD_PATH} ({where}), {rate}/s, {in_line}",
                "hold step: not available",
                floor,
                "-",
                TARGET,
                "not measured",
                f"POST {HOLD_PATH} answers 404: the hold loop is not built on this branch",
            )
        else:
            say("    hold step: " + hold.summary())
            _figure(
                bench_pass,
                f"hold step POST {HOLD_PATH} ({where}), {rate}/s, {in_line}",
                hold,
                floor,
            )
    finally:
        release_advisors(bench_pass, statuses)
        stack.stop_web()


def put_callers_in_line(bench_pass, count: int, statuses: dict[int, str]) -> list[tuple[str, str]]:
    """Answer `count` calls, then keep them holding with every advisor busy; their (CallSid, From)."""
    from sqlalchemy import select, update

    from leadrouter.extensions import db
    from leadrouter.models import Advisor, Call

    requests = bench_pass.traffic.voice(count)
    arrival = open_loop(
        bench_pass.stack.base_url, constant_rate(requests, 50), label_rate=50, seconds=count / 50
    )
    callers = {parse_qs(request.body.decode())["CallSid"][0]: request.key for request in requests}
    sids = list(callers)
    with bench_pass.db.app.app_context():
        statuses.update(dict(db.session.execute(select(Advisor.id, Advisor.status)).all()))
        db.session.execute(update(Advisor).values(status="busy"))
        db.session.execute(
            update(Call).where(Call.call_sid.in_(sids)).values(hold_started_at=datetime.now(UTC))
        )
        db.session.commit()
        holding = db.session.scalars(select(Call.call_sid).where(Call.call_sid.in_(sids))).all()
    say(f"    {len(holding)} callers in line ({arrival.ok}/{arrival.sent} calls answered)")
    return [(sid, callers[sid]) for sid in holding]


def release_advisors(bench_pass, statuses: dict[int, str]) -> None:
    """Give every advisor back the status they had before the step."""
    if not statuses:
        return
    from sqlalchemy import update

    from leadrouter.extensions import db
    from leadrouter.models import Advisor

    with bench_pass.db.app.app_context():
        for status in set(statuses.values()):
            ids = [advisor_id for advisor_id, was in statuses.items() if was == status]
            db.session.execute(update(Advisor).where(Advisor.id.in_(ids)).values(status=status))
        db.session.commit()


def measure_hold_step(base_url: str, callers: list[tuple[str, str]], rate: int, plan) -> LoadResult | None:
    """The hold step at `rate`, cycling over the holding callers; None when the route is not there."""
    if not callers:
        return None
    probe = open_loop(base_url, [(0.0, hold_request(*callers[0]))], label_rate=1, seconds=1)
    if probe.errors.get("404"):
        return None
    count = int(rate * plan.phase_seconds)
    requests = [hold_request(*callers[index % len(callers)]) for index in range(count)]
    return _run(base_url, requests, rate, plan)


def hold_request(call_sid: str, caller: str) -> Request:
    """One turn of a caller's hold loop, signed as Twilio signs its <Redirect>."""
    from twilio.request_validator import RequestValidator

    params = {
        "CallSid": call_sid,
        "AccountSid": "AC" + "0" * 32,
        "From": caller,
        "Caller": caller,
        "To": HELPLINE,
        "Called": HELPLINE,
        "CallStatus": "in-progress",
        "Direction": "inbound",
    }
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(
            PUBLIC_BASE_URL + HOLD_PATH, params
        ),
    }
    return Request(HOLD_PATH, urlencode(params).encode(), headers, key=call_sid)


def _run(base_url: str, requests: list[Request], rate: int, plan) -> LoadResult:
    return open_loop(base_url, constant_rate(requests, rate), label_rate=rate, seconds=plan.phase_seconds)


def _figure(bench_pass, name: str, result: LoadResult, floor: str) -> None:
    ok = result.pct(0.99) <= 0.020 and result.max <= 1.0 and not result.errors
    bench_pass.raw.setdefault("calls", {})[name] = {
        "p50": result.pct(0.5),
        "p99": result.pct(0.99),
        "floor_p50": bench_pass.raw.get("floor_low_p50"),
        "floor_p99": bench_pass.raw.get("floor_low_p99"),
    }
    bench_pass.figure(
        name,
        f"p50 {ms(result.pct(0.5))}, p99 {ms(result.pct(0.99))}, max {ms(result.max)}",
        floor,
        "-",
        TARGET,
        verdict(ok) if bench_pass.kind == "production" else ("met" if ok else "missed"),
        result.summary(),
    )
