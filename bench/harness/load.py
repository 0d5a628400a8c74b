"""The open-loop load generator and the requests it sends."""

from __future__ import annotations

import asyncio
import collections
import json
import random
import resource
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from bench.harness.common import HELPLINE, MESSAGES, PUBLIC_BASE_URL, STATES, SUBSTANCES, TWILIO_TOKEN, ms

# --- open-loop load ---------------------------------------------------------------------------


@dataclass
class Request:
    path: str
    body: bytes
    headers: dict
    key: str = ""  # what identifies the row it creates (the phone), for joining with the database


@dataclass
class LoadResult:
    rate: float
    seconds: float
    sent: int = 0
    ok: int = 0
    errors: collections.Counter = field(default_factory=collections.Counter)
    latencies: list[float] = field(default_factory=list)  # seconds from intended send, sorted
    send_lag_p99: float = 0.0
    aborted: bool = False
    client_cpu: float = 0.0
    intended_wall: dict[str, float] = field(default_factory=dict)  # key -> intended send (epoch)
    started_wall: float = 0.0
    finished_wall: float = 0.0

    def pct(self, fraction: float) -> float:
        if not self.latencies:
            return float("inf")
        index = min(len(self.latencies) - 1, max(0, int(round(fraction * len(self.latencies) + 0.5)) - 1))
        return self.latencies[index]

    @property
    def max(self) -> float:
        return self.latencies[-1] if self.latencies else float("inf")

    def sustained(self, p99_limit: float) -> bool:
        return not self.aborted and not self.errors and self.pct(0.99) <= p99_limit

    def summary(self) -> str:
        errors = f", errors {dict(self.errors)}" if self.errors else ""
        aborted = " ABORTED (fell >2 s behind)" if self.aborted else ""
        return (
            f"{self.rate:7.0f}/s x {self.seconds:.0f}s: p50 {ms(self.pct(0.5))} p99 {ms(self.pct(0.99))} "
            f"max {ms(self.max)} ({self.ok}/{self.sent} ok{errors}; send lag p99 {ms(self.send_lag_p99)}; "
            f"client CPU {self.client_cpu:.1f} s){aborted}"
        )


def open_loop(
    base_url: str,
    schedule: list[tuple[float, Request]],
    *,
    label_rate: float,
    seconds: float,
    connections: int = 64,
    timeout: float = 10.0,
    abort_behind: float | None = 2.0,
) -> LoadResult:
    """Send each request at its offset from t0, whatever the others are doing; time it from that offset."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    result = asyncio.run(
        _open_loop(base_url, schedule, label_rate, seconds, connections, timeout, abort_behind)
    )
    after = resource.getrusage(resource.RUSAGE_SELF)
    result.client_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


async def _open_loop(base_url, schedule, rate, seconds, connections, timeout, abort_behind) -> LoadResult:
    import aiohttp

    result = LoadResult(rate=rate, seconds=seconds)
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    latencies: list[float] = []
    in_flight = 0
    connector = aiohttp.TCPConnector(limit=connections, ttl_dns_cache=None)
    async with aiohttp.ClientSession(
        base_url, connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)
    ) as session:

        async def one(request: Request, intended: float) -> None:
            nonlocal in_flight
            in_flight += 1
            lags.append(loop.time() - intended)
            try:
                async with session.post(request.path, data=request.body, headers=request.headers) as response:
                    await response.read()
                    if 200 <= response.status < 300:
                        result.ok += 1
                    else:
                        result.errors[str(response.status)] += 1
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                result.errors[type(error).__name__] += 1
            finally:
                in_flight -= 1
                latencies.append(loop.time() - intended)

        tasks = []
        t0 = loop.time() + 0.05
        result.started_wall = time.time() + 0.05
        for offset, request in schedule:
            intended = t0 + offset
            delay = intended - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if abort_behind is not None and in_flight > max(connections, rate * abort_behind):
                result.aborted = True
                break
            result.intended_wall[request.key] = result.started_wall + offset
            tasks.append(asyncio.create_task(one(request, intended)))
            result.sent += 1
        if result.aborted:
            for task in tasks:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    result.finished_wall = time.time()
    result.latencies = sorted(latencies)
    lags.sort()
    result.send_lag_p99 = lags[int(0.99 * (len(lags) - 1))] if lags else 0.0
    return result


def constant_rate(requests: list[Request], rate: float) -> list[tuple[float, Request]]:
    return [(index / rate, request) for index, request in enumerate(requests)]


# --- what the load sends -------------------------------------------------------------------


class Traffic:
    """Request bodies with a phone number never used before in this run (so nothing merges)."""

    def __init__(self, api_keys: list[str]):
        self.api_keys = api_keys
        self.keys_in_use = 1  # how many partner keys the intake requests rotate over
        self.counter = 0
        self.random = random.Random(1)

    def _phone(self) -> str:
        self.counter += 1
        return f"+1512{2_000_000 + self.counter:07d}"

    def intake(self, count: int, path: str = "/api/v1/leads") -> list[Request]:
        requests = []
        for _ in range(count):
            key = self.api_keys[self.counter % self.keys_in_use]
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
            phone = self._phone()
            body = {
                "name": "Bench Caller",
                "phone": phone,
                "state": self.random.choice(STATES),
                "substances": self.random.choice(SUBSTANCES),
                "consent": {"given": True, "text": "You may call or text me.", "version": "bench-1"},
                "utm": {"source": "bench", "campaign": "load"},
            }
            message = self.random.choice(MESSAGES)
            if message:
                body["message"] = message
            requests.append(Request(path, json.dumps(body).encode(), headers, key=phone))
        return requests

    def voice(self, count: int) -> list[Request]:
        from twilio.request_validator import RequestValidator

        validator = RequestValidator(TWILIO_TOKEN)
        url = PUBLIC_BASE_URL + "/twilio/voice"
        requests = []
        for _ in range(count):
            phone = self._phone()
            params = {
                "CallSid": f"CA{self.random.getrandbits(128):032x}",
                "AccountSid": "AC" + "0" * 32,
                "From": phone,
                "Caller": phone,
                "To": HELPLINE,
                "Called": HELPLINE,
                "CallStatus": "ringing",
                "Direction": "inbound",
                "FromState": self.random.choice(STATES),
            }
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": validator.compute_signature(url, params),
            }
            requests.append(Request("/twilio/voice", urlencode(params).encode(), headers, key=phone))
        return requests
