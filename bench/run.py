"""leadrouter's benchmark: one command starts the stack, loads it open-loop and writes bench/RESULTS.md.

    .venv/bin/python bench/run.py                  # full run (~30 min on 2 cores)
    .venv/bin/python bench/run.py --quick          # every figure, shorter (~7 min)
    .venv/bin/python bench/run.py --production-only | --embedded-only

Pass 1, production style: its own Redis (a private redis-server on a free port, unless
--redis-url), a PostgreSQL database it drops, creates and migrates (--database-url,
default leadrouter_bench_run on 127.0.0.1), gunicorn (2 workers x 4 threads, gthread) on
127.0.0.1:<free port> and one Celery worker (prefork, concurrency 2). Pass 2, the embedded
default: SQLite and the kombu SQLAlchemy broker, the same gunicorn and worker settings.
The dashboard and report figures run in-process on the 1,000,000-lead database made by
bench/generate_data.py (--big-database-url; generated into leadrouter_bench_run_1m when
the given one is missing or short) and on a 10,000-lead one it generates.

Every figure sits next to a floor measured in the same run on the same machine: the
insert-and-commit Flask view of bench/floor_app.py on the same gunicorn configuration,
the no-op task of bench/floor_tasks.py on the same broker, and a single indexed query.

Load is open loop: request i is sent at t0 + i/rate whatever happened to the ones before,
and its latency runs from that intended time, so a server that falls behind shows it in
the percentiles instead of slowing the client down (no coordinated omission). Every
latency is kept; percentiles are read from the sorted samples.

Every process it starts (gunicorn, Celery, redis-server) is stopped by its pid at the end,
also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import collections
import contextlib
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
GUNICORN_OPTIONS = ["--workers", "2", "--threads", "4", "--worker-class", "gthread"]
CELERY_OPTIONS = ["--pool", "prefork", "--concurrency", "2", "--loglevel", "INFO", "--without-mingle"]
TWILIO_TOKEN = "bench0twilio0auth0token000000000"
PUBLIC_BASE_URL = "https://bench.leadrouter.invalid"
HELPLINE = "+18005550100"
STATES = ("TX", "CA", "FL", "NY", "PA", "OH", "IL", "GA", "NC", "MI")
SUBSTANCES = (["alcohol"], ["prescription_opioids"], ["methamphetamine"], ["cocaine"], ["fentanyl"], [])
MESSAGES = (
    None,
    "Looking for outpatient options for my brother.",
    "My mother drinks every day and we want to talk about treatment.",
    "Please call me back about detox programs.",
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
KEYS = 8  # partner keys for the diagnostic search and every phase after the headline one


def say(message: str = "") -> None:
    print(message, flush=True)


# --- the durations of a full run and of --quick -------------------------------------------


@dataclass(frozen=True)
class Plan:
    probe_seconds: float
    warmup_seconds: float
    bisect_steps: int
    phase_seconds: float
    assign_rate: int
    embedded_assign_rate: int
    burst_leads: int
    burst_seconds: float
    voice_rate: int
    cpu_leads: int
    soak_seconds: float
    report_runs: int
    query_runs: int
    big_leads: int


def make_plan(quick: bool, soak_seconds: float | None) -> Plan:
    if quick:
        return Plan(4, 1, 2, 6, 200, 50, 2000, 2, 50, 800, soak_seconds or 60, 5, 150, 1_000_000)
    return Plan(10, 2, 4, 20, 200, 50, 10_000, 10, 50, 3000, soak_seconds or 600, 20, 400, 1_000_000)


# --- processes -------------------------------------------------------------------------------


class Processes:
    """Every process this run starts, stopped by pid (and its own process group) at the end."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.running: dict[str, subprocess.Popen] = {}
        atexit.register(self.stop_all)

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.running[name] = process
        return process

    def stop(self, name: str, timeout: float = 20) -> None:
        process = self.running.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        # Children (gunicorn workers, Celery pool processes) share the group we created.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()  # noqa: S310 (loopback only)
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def wait_log(path: Path, needle: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and needle in path.read_text(errors="replace"):
            return
        time.sleep(0.25)
    raise RuntimeError(f"{path.name} never said {needle!r} (see {path})")


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


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds == float("inf"):
        return "inf"
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


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


# --- the database, seen from the benchmark ---------------------------------------------------


class Database:
    """The benchmark's own app instance on a database: team set-up, resets and read-outs."""

    def __init__(self, url: str, broker: str, instance: Path):
        from leadrouter import create_app

        self.url = url
        self.app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "CELERY_BROKER_URL": broker,
                "INSTANCE_PATH": str(instance),
                "SECRET_KEY": "bench-secret-key-0123456789",
            }
        )

    def migrate(self) -> None:
        from flask_migrate import upgrade

        with self.app.app_context():
            upgrade()

    def create_team(self, advisors: int = 200, capacity: int = 100_000, keys: int = 8) -> list[str]:
        """Advisors in ten states plus a national pool, all available; return partner API keys."""
        from leadrouter.auth.api_keys import issue_api_key
        from leadrouter.extensions import db
        from leadrouter.models import Advisor

        with self.app.app_context():
            pool = advisors // 10
            for number in range(advisors):
                regions = ["*"] if number < pool else [STATES[number % len(STATES)]]
                db.session.add(
                    Advisor(
                        name=f"Bench Advisor {number}",
                        email=f"advisor{number}@bench.invalid",
                        phone=f"+1737200{number:04d}",
                        regions=regions,
                        languages=["en", "es"] if number % 4 == 0 else ["en"],
                        capacity=capacity,
                        status="available",
                        timezone="America/Chicago",
                    )
                )
            raw_keys = [issue_api_key("partner", f"bench partner {n}")[1] for n in range(keys)]
            db.session.commit()
            return raw_keys

    def reset(self, capacity: int) -> None:
        """Close every lead, end every assignment and give each advisor `capacity` free slots."""
        from sqlalchemy import update

        from leadrouter.extensions import db
        from leadrouter.models import Advisor, Assignment, Lead, utcnow

        with self.app.app_context():
            now = utcnow()
            db.session.execute(
                update(Assignment)
                .where(Assignment.ended_at.is_(None))
                .values(ended_at=now, end_reason="bench reset")
            )
            db.session.execute(
                update(Lead)
                .where(Lead.is_open.is_(True))
                .values(status="closed", is_open=False, closed_reason="bench reset")
            )
            db.session.execute(update(Advisor).values(open_leads=0, capacity=capacity, last_assigned_at=None))
            db.session.commit()

    def routing_backlog(self, since: datetime) -> int:
        from sqlalchemy import func, select

        from leadrouter.extensions import db
        from leadrouter.models import Lead

        with self.app.app_context():
            count = db.session.scalar(
                select(func.count(Lead.id)).where(
                    Lead.created_at >= since,
                    Lead.source == "api",
                    Lead.is_open.is_(True),
                    Lead.routed_at.is_(None),
                )
            )
            db.session.rollback()
            return count or 0

    def wait_routed(self, since: datetime, timeout: float) -> float:
        """Wait until every lead created since `since` was routed; return the seconds waited."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if self.routing_backlog(since) == 0:
                break
            time.sleep(0.25)
        return time.monotonic() - began

    def leads_since(self, since: datetime, source: str = "api") -> list:
        from sqlalchemy import select

        from leadrouter.extensions import db
        from leadrouter.models import Lead

        with self.app.app_context():
            rows = db.session.execute(
                select(Lead.id, Lead.phone, Lead.created_at, Lead.assigned_at, Lead.status).where(
                    Lead.created_at >= since, Lead.source == source
                )
            ).all()
            db.session.rollback()
            return rows

    def burst_checks(self, since: datetime) -> dict:
        """Double assignments and advisors over capacity after a burst."""
        from sqlalchemy import func, select

        from leadrouter.extensions import db
        from leadrouter.models import Advisor, Assignment, RoutingDecision

        with self.app.app_context():
            twice = db.session.execute(
                select(Assignment.lead_id)
                .where(Assignment.started_at >= since)
                .group_by(Assignment.lead_id)
                .having(func.count(Assignment.id) > 1)
            ).all()
            current_twice = db.session.execute(
                select(Assignment.lead_id)
                .where(Assignment.ended_at.is_(None))
                .group_by(Assignment.lead_id)
                .having(func.count(Assignment.id) > 1)
            ).all()
            held = dict(
                db.session.execute(
                    select(Assignment.advisor_id, func.count(Assignment.id))
                    .join(RoutingDecision, RoutingDecision.id == Assignment.decision_id)
                    .where(Assignment.ended_at.is_(None), RoutingDecision.rule != "critical_override")
                    .group_by(Assignment.advisor_id)
                ).all()
            )
            over = 0
            counter_over = 0
            for advisor_id, capacity, open_leads in db.session.execute(
                select(Advisor.id, Advisor.capacity, Advisor.open_leads)
            ).all():
                over += held.get(advisor_id, 0) > capacity
                counter_over += open_leads > capacity
            db.session.rollback()
            return {
                "double_assigned": len(twice) + len(current_twice),
                "over_capacity": over,
                "counter_over_capacity": counter_over,
            }

    def postgres_pids(self) -> list[int]:
        from sqlalchemy import text

        from leadrouter.extensions import db

        with self.app.app_context():
            if db.engine.dialect.name != "postgresql":
                return []
            rows = db.session.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE (datname = current_database() "
                    "AND pid <> pg_backend_pid()) OR backend_type IN "
                    "('walwriter', 'checkpointer', 'background writer')"
                )
            ).all()
            db.session.rollback()
            return [row[0] for row in rows]

    def dispose(self) -> None:
        from leadrouter.extensions import db

        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def statements_per_lead(database: Database, runs: int = 30) -> dict:
    """SQL statements and single-threaded service time of one intake and one routing, in-process."""
    from sqlalchemy import event

    from leadrouter.assignment.operations import route_lead
    from leadrouter.extensions import db
    from leadrouter.intake.operations import ConsentInput, LeadInput, record_lead

    counts = {"intake": [], "routing": []}
    times = {"intake": [], "routing": []}
    current = {"n": 0}

    def count(*_args, **_kwargs):
        current["n"] += 1

    with database.app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            for number in range(runs):
                data = LeadInput(
                    source="api",
                    name="Bench Caller",
                    phone=f"+1737{3_000_000 + number:07d}",
                    state=STATES[number % len(STATES)],
                    substances=("alcohol",),
                    consent=ConsentInput(given=True, text="You may call or text me.", version="bench-1"),
                )
                for kind, work in (
                    ("intake", lambda data=data: record_lead(data, "bench", route=False).lead.id),
                    ("routing", None),
                ):
                    current["n"] = 0
                    began = time.perf_counter()
                    if kind == "intake":
                        lead_id = work()
                    else:
                        route_lead(lead_id, notify=False)
                    db.session.commit()
                    times[kind].append(time.perf_counter() - began)
                    counts[kind].append(current["n"])
        finally:
            event.remove(engine, "before_cursor_execute", count)
            db.session.remove()
    return {
        kind: {"statements": statistics.median(counts[kind]), "ms": statistics.median(times[kind]) * 1000}
        for kind in counts
    }


def recreate_postgres_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    name = urlsplit(url).path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"refusing an unusual database name: {name!r}")
    engine = create_engine(with_database(url, "postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def lead_count(url: str) -> int | None:
    return _scalar(url, "SELECT count(*) FROM leads")


def _scalar(url: str, sql: str):
    """One value from the database at url; None when it is missing or has no schema yet."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar()
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


# --- figures ---------------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    value: str
    floor: str = "-"
    ratio: str = "-"
    target: str = "-"
    verdict: str = "-"  # met | missed | not measured | info
    note: str = ""


def verdict(ok: bool | None) -> str:
    if ok is None:
        return "not measured"
    return "met" if ok else "missed"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[index]


# --- the stack -------------------------------------------------------------------------------


class Stack:
    """gunicorn + Celery for one pass (production or embedded), on one set of settings."""

    def __init__(self, name: str, processes: Processes, env: dict, port: int):
        self.name = name
        self.processes = processes
        self.env = env
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"

    def start_web(self, target: str = "leadrouter.wsgi:app") -> subprocess.Popen:
        command = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", *GUNICORN_OPTIONS, target]
        process = self.processes.start(f"{self.name}-web", command, self.env)
        wait_http(self.base_url + "/healthz")
        deadline = time.monotonic() + 30
        while len(children_of(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # both workers import the app before the first probe
        return process

    def stop_web(self) -> None:
        self.processes.stop(f"{self.name}-web")

    def start_worker(self, app: str = "workers", queues: str = "routing,notify,default") -> subprocess.Popen:
        label = "floorworker" if app != "workers" else "worker"
        log = self.processes.log_dir / f"{self.name}-{label}.log"
        offset = log.stat().st_size if log.exists() else 0
        command = [
            str(BIN / "celery"),
            "-A",
            app,
            "worker",
            "--queues",
            queues,
            *CELERY_OPTIONS,
            "-n",
            f"{label}-{self.name}@%h",
        ]
        process = self.processes.start(f"{self.name}-{label}", command, self.env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if log.exists() and " ready." in log.read_text(errors="replace")[offset:]:
                break
            if process.poll() is not None:
                raise RuntimeError(f"celery exited; see {log}")
            time.sleep(0.25)
        else:
            raise RuntimeError(f"celery not ready; see {log}")
        return process

    def stop_worker(self, floor: bool = False) -> None:
        self.processes.stop(f"{self.name}-{'floorworker' if floor else 'worker'}")

    def web_pids(self) -> tuple[int, list[int]]:
        master = self.processes.running[f"{self.name}-web"].pid
        return master, children_of(master)

    def worker_pids(self, floor: bool = False) -> tuple[int, list[int]]:
        main = self.processes.running[f"{self.name}-{'floorworker' if floor else 'worker'}"].pid
        return main, children_of(main)


# What every leadrouter process imports before any of its own code, heaviest first.
STACK_LIBRARIES = ("sqlalchemy.orm", "psycopg", "flask", "flask_sqlalchemy", "redis", "celery.app.base")


def library_import_rss() -> str:
    """RSS of a fresh interpreter, then after importing each library of the fixed stack."""
    script = (
        "import importlib, sys\n"
        "def rss():\n"
        "    lines = open('/proc/self/status').read().splitlines()\n"
        "    return next(int(l.split()[1]) for l in lines if l.startswith('VmRSS')) / 1024\n"
        "steps = [('interpreter', rss())]\n"
        "for name in sys.argv[1:]:\n"
        "    importlib.import_module(name); steps.append((name, rss()))\n"
        "print(' '.join(f'{n}={v:.1f}' for n, v in steps))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", script, *STACK_LIBRARIES], capture_output=True, text=True, check=True
    ).stdout.split()
    steps = [(name, float(value)) for name, value in (item.split("=") for item in output)]
    parts = [f"interpreter {steps[0][1]:.0f} MB"]
    parts += [f"{name} +{value - steps[i][1]:.0f}" for i, (name, value) in enumerate(steps[1:])]
    return f"{steps[-1][1]:.0f} MB in a fresh interpreter ({', '.join(parts)} MB)"


def _memory_floor(megabytes: float | None, what: str) -> str:
    return f"{megabytes:.0f} MB ({what})" if megabytes else "-"


def _memory_ratio(megabytes: float, floor: float | None) -> str:
    return f"{megabytes / floor:.2f}x" if floor else "-"


def purge_routing_queue(broker_url: str) -> None:
    from kombu import Connection

    with Connection(broker_url) as connection:
        channel = connection.default_channel
        for queue in ("routing", "notify", "default"):
            try:
                channel.queue_purge(queue)
            except Exception as error:  # a queue never declared on this transport
                say(f"  (purge {queue}: {type(error).__name__})")


def search_max_rate(
    probe, *, start: float, limit_p99: float, steps: int, ceiling: float = 3200
) -> tuple[float, list]:
    """Double the rate until p99 breaks (or errors), then bisect; return the best sustained rate."""
    history = []
    good, bad = 0.0, None
    rate = start
    while rate <= ceiling:
        result = probe(rate)
        history.append(result)
        say("    " + result.summary())
        if result.sustained(limit_p99):
            good = rate
            rate *= 2
        else:
            bad = rate
            break
    for _ in range(steps if bad else 0):
        rate = round((good + bad) / 2)
        if bad - good <= max(10, good * 0.05):
            break
        result = probe(rate)
        history.append(result)
        say("    " + result.summary())
        if result.sustained(limit_p99):
            good = rate
        else:
            bad = rate
    return good, history


class Pass:
    """One pass over a stack: the floors, then the app, figure by figure."""

    def __init__(self, kind: str, plan: Plan, processes: Processes, work: Path, args):
        self.kind = kind  # "production" | "embedded"
        self.plan = plan
        self.processes = processes
        self.work = work / kind
        self.work.mkdir(parents=True, exist_ok=True)
        self.args = args
        self.figures: list[Figure] = []
        self.notes: list[str] = []
        self.raw: dict = {}

    # -- set-up

    def prepare(self, redis_url: str | None) -> None:
        instance = self.work / "instance"
        instance.mkdir(exist_ok=True)
        env = dict(os.environ)
        for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"):
            env.pop(name, None)
        env.update(
            PYTHONPATH=str(ROOT),
            LEADROUTER_INSTANCE_PATH=str(instance),
            SECRET_KEY="bench-secret-key-0123456789",
            TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
            TWILIO_ACCOUNT_SID="AC" + "0" * 32,
            HELPLINE_NUMBER=HELPLINE,
            PUBLIC_BASE_URL=PUBLIC_BASE_URL,
            RATELIMIT_API_LEADS="1000000 per minute",
            BENCH_FLOOR_OUT=str(self.work / "noop.tsv"),
        )
        prom = self.work / "prometheus"
        shutil.rmtree(prom, ignore_errors=True)
        prom.mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(prom)
        if self.kind == "production":
            from leadrouter.config import normalize_database_url

            self.database_url = normalize_database_url(self.args.database_url)
            self.broker_url = redis_url
            env.update(DATABASE_URL=self.database_url, CELERY_BROKER_URL=redis_url, REDIS_URL=redis_url)
            recreate_postgres_database(self.database_url)
        else:
            self.database_url = f"sqlite:///{instance / 'leadrouter.sqlite'}"
            self.broker_url = f"sqla+sqlite:///{instance / 'broker.sqlite'}"
        self.env = env
        self.db = Database(self.database_url, self.broker_url, instance)
        self.db.migrate()
        self.traffic = Traffic(self.db.create_team(capacity=100_000, keys=KEYS))
        self.stack = Stack(self.kind, self.processes, env, free_port())

    # -- helpers

    def intake_probe(
        self, rate: float, seconds: float | None = None, path: str = "/api/v1/leads", warmup: bool = True
    ) -> LoadResult:
        seconds = seconds or self.plan.probe_seconds
        if warmup:
            count = max(1, int(rate * self.plan.warmup_seconds))
            open_loop(
                self.stack.base_url,
                constant_rate(self.traffic.intake(count, path), rate),
                label_rate=rate,
                seconds=self.plan.warmup_seconds,
            )
        requests = self.traffic.intake(int(rate * seconds), path)
        result = open_loop(
            self.stack.base_url, constant_rate(requests, rate), label_rate=rate, seconds=seconds
        )
        time.sleep(0.5)
        return result

    def comfortable(self, fraction: float, ceiling: int) -> int:
        """A rate the whole stack keeps up with: a fraction of the best intake rate found."""
        best = max(self.raw.get("intake_max_many_keys", 0), self.raw.get("intake_max", 0))
        return int(max(5, min(ceiling, best * fraction)))

    def figure(self, *args, **kwargs) -> Figure:
        figure = Figure(*args, **kwargs)
        self.figures.append(figure)
        say(f"  => {figure.name}: {figure.value}  floor {figure.floor}  ({figure.verdict})")
        return figure

    def sample_memory(self) -> dict:
        _master, workers = self.stack.web_pids()
        main, children = self.stack.worker_pids()
        return {
            "web": [rss_mb(pid) or 0 for pid in workers],
            "worker_main": rss_mb(main) or 0,
            "worker_children": [rss_mb(pid) or 0 for pid in children],
        }

    # -- the measurements

    def floors_and_intake(self) -> None:
        plan = self.plan
        label = "PostgreSQL" if self.kind == "production" else "embedded (SQLite)"
        say(f"\n[{self.kind}] floor: insert-and-commit Flask view, gunicorn {' '.join(GUNICORN_OPTIONS)}")
        self.stack.start_web("bench.floor_app:app")
        floor_max, floor_history = search_max_rate(
            lambda rate: self.intake_probe(rate, path="/floor"),
            start=200,
            limit_p99=0.050,
            steps=plan.bisect_steps,
        )
        low = self.plan.voice_rate
        pids = [*self.stack.web_pids()[1], self.stack.web_pids()[0], *self.db.postgres_pids()]
        spent_before = sum(cpu_seconds(pid) or 0.0 for pid in pids)
        floor_low = self.intake_probe(low, seconds=plan.phase_seconds / 2, path="/floor", warmup=False)
        pids = sorted(set(pids) | set(self.db.postgres_pids()))
        # CPU of the floor view (gunicorn + PostgreSQL) per request: half of the CPU floor per lead.
        spent = sum(cpu_seconds(pid) or 0.0 for pid in pids) - spent_before
        self.raw["floor_cpu_web_ms"] = spent / max(1, len(floor_low.latencies)) * 1000
        say(f"    floor at {low}/s (for the webhook): " + floor_low.summary())
        # The memory floor: a worker of the same gunicorn that has served the floor view.
        self.raw["memory_floor_web"] = max((rss_mb(pid) or 0 for pid in self.stack.web_pids()[1]), default=0)
        self.raw["floor_low"] = f"at {low}/s: p50 {ms(floor_low.pct(0.5))}, p99 {ms(floor_low.pct(0.99))}"
        self.stack.stop_web()
        floor_at_max = next((r for r in reversed(floor_history) if r.rate == floor_max), None)

        say(f"\n[{self.kind}] intake API max sustained rate (p99 <= 50 ms), Celery workers stopped")
        self.stack.start_web()
        self.raw["memory_web_cold"] = [rss_mb(pid) for pid in self.stack.web_pids()[1]]
        open_loop(self.stack.base_url, constant_rate(self.traffic.intake(100), 50), label_rate=50, seconds=2)
        say("  one partner key (every request of a partner carries the same key)")
        self.traffic.keys_in_use = 1
        app_max, app_history = search_max_rate(
            lambda rate: self.intake_probe(rate), start=25, limit_p99=0.050, steps=plan.bisect_steps
        )
        app_at_max = next((r for r in reversed(app_history) if r.rate == app_max), None)
        diagnostic = None
        if self.kind == "production":
            say(f"  {KEYS} partner keys in rotation (diagnostic: spreads the per-key row lock)")
            self.traffic.keys_in_use = KEYS
            many_max, many_history = search_max_rate(
                lambda rate: self.intake_probe(rate), start=50, limit_p99=0.050, steps=plan.bisect_steps
            )
            many_at_max = next((r for r in reversed(many_history) if r.rate == many_max), None)
            self.raw["intake_max_many_keys"] = many_max
            diagnostic = Figure(
                f"intake API, PostgreSQL, {KEYS} partner keys in rotation (diagnostic)",
                f"{many_max:.0f} req/s",
                f"{floor_max:.0f} req/s",
                f"{many_max / floor_max:.0%}" if floor_max else "-",
                "(not a target: shows the per-key lock's cost)",
                "info",
                f"at max: {many_at_max.summary() if many_at_max else '-'}",
            )
            self.traffic.keys_in_use = 1
        ratio = app_max / floor_max if floor_max else 0
        self.raw["intake_max"] = app_max
        self.raw["floor_max"] = floor_max
        detail = (
            f"app at max: {app_at_max.summary() if app_at_max else '-'}; "
            f"floor at max: {floor_at_max.summary() if floor_at_max else '-'}"
        )
        if self.kind == "production":
            self.figure(
                f"intake API, {label}, one partner key: max sustained req/s with p99 <= 50 ms",
                f"{app_max:.0f} req/s",
                f"{floor_max:.0f} req/s",
                f"{ratio:.0%}",
                ">= 70% of floor and >= 500 req/s",
                verdict(ratio >= 0.7 and app_max >= 500),
                detail,
            )
        else:
            self.figure(
                "intake API on the embedded default (SQLite + SQLAlchemy broker): max sustained req/s, "
                "p99 <= 50 ms",
                f"{app_max:.0f} req/s",
                f"{floor_max:.0f} req/s",
                f"{ratio:.0%}",
                ">= 300 req/s",
                verdict(app_max >= 300),
                detail,
            )
        if diagnostic is not None:
            self.figures.append(diagnostic)
            say(f"  => {diagnostic.name}: {diagnostic.value}")
        work = statements_per_lead(self.db)
        self.notes.append(
            "one lead in-process, single-threaded, no HTTP (median of 30): intake "
            f"{work['intake']['statements']:.0f} SQL statements, {work['intake']['ms']:.1f} ms; routing "
            f"{work['routing']['statements']:.0f} statements, {work['routing']['ms']:.1f} ms"
        )
        say("  " + self.notes[-1])
        purge_routing_queue(self.broker_url)
        with self.db.app.app_context():
            from leadrouter import jobs

            # The purged message's waiting mark would hold back the next lead's for 10 s.
            jobs.started("routing.route_lead")
        self.db.reset(capacity=100_000)

    def with_workers(self) -> None:
        """Everything measured with the Celery worker routing: floors on the broker, then the app."""
        plan = self.plan
        rate = plan.assign_rate if self.kind == "production" else plan.embedded_assign_rate
        # No-op task floor: published at the same rate the leads arrive, on the same broker,
        # with its own worker alone on it (the app's worker would poll the same queues' store).
        say(f"\n[{self.kind}] floor: no-op Celery task, publish -> run, {rate}/s")
        noop = self.noop_floor(rate, plan.phase_seconds)
        self.stack.start_worker()
        time.sleep(2)
        self.raw["memory_start"] = self.sample_memory()

        # Intake at half the max sustained rate, with routing running.
        half = max(10, round(self.raw["intake_max"] / 2))
        say(f"\n[{self.kind}] intake at half the max ({half}/s), one key, workers routing every lead")
        self.traffic.keys_in_use = 1
        since = datetime.now(UTC)
        result = self.intake_probe(half, seconds=plan.phase_seconds)
        self.traffic.keys_in_use = KEYS
        say("    " + result.summary())
        waited = self.db.wait_routed(since, timeout=120)
        say(f"    routing backlog drained {waited:.1f} s after the load stopped")
        if self.kind == "production":
            self.figure(
                "intake latency at half the max sustained rate (workers routing)",
                f"p99 {ms(result.pct(0.99))} at {half}/s",
                "-",
                "-",
                "p99 <= 25 ms",
                verdict(result.pct(0.99) <= 0.025 and not result.errors),
                result.summary() + f"; routing backlog drained {waited:.1f} s after",
            )
        else:
            self.notes.append(
                f"embedded intake at half its max ({half}/s) with the worker routing: {result.summary()}"
            )

        # Lead created -> assigned: at the target's rate, then at a rate the intake sustains.
        self.assign_phase(rate, noop, headline=True)
        gentle = self.comfortable(0.2, rate)  # well inside what 2 cores can intake and route
        if gentle < rate:
            self.assign_phase(gentle, noop, headline=False)

        # /twilio/voice, signed.
        say(f"\n[{self.kind}] POST /twilio/voice, signed, {plan.voice_rate}/s")
        requests = self.traffic.voice(int(plan.voice_rate * plan.phase_seconds))
        warm = self.traffic.voice(plan.voice_rate)
        open_loop(
            self.stack.base_url, constant_rate(warm, plan.voice_rate), label_rate=plan.voice_rate, seconds=1
        )
        result = open_loop(
            self.stack.base_url,
            constant_rate(requests, plan.voice_rate),
            label_rate=plan.voice_rate,
            seconds=plan.phase_seconds,
        )
        say("    " + result.summary())
        ok = result.pct(0.99) <= 0.020 and result.max <= 1.0 and not result.errors
        self.figure(
            f"/twilio/voice signed ({'PostgreSQL' if self.kind == 'production' else 'embedded'}), "
            f"{plan.voice_rate} calls/s",
            f"p50 {ms(result.pct(0.5))}, p99 {ms(result.pct(0.99))}, max {ms(result.max)}",
            f"insert+commit floor {self.raw.get('floor_low', '-')}",
            "-",
            "p99 <= 20 ms; none over 1 s",
            verdict(ok) if self.kind == "production" else ("met" if ok else "missed"),
            result.summary(),
        )
        self.db.wait_routed(datetime.now(UTC) - timedelta(minutes=10), timeout=60)

        if self.kind == "production":
            self.burst()
            self.cpu_per_lead()
            if self.args.profile:
                self.profile()
            self.soak()
        self.scrape_metrics()
        self.stack.stop_worker()
        self.stack.stop_web()

    def assign_phase(self, rate: int, noop: list[float], *, headline: bool) -> None:
        """Leads sent at `rate`; created -> assigned read from the database, next to the no-op task."""
        plan = self.plan
        say(f"\n[{self.kind}] lead created -> advisor assigned at {rate} leads/s")
        self.db.reset(capacity=100_000)
        since = datetime.now(UTC)
        result = self.intake_probe(rate, seconds=plan.phase_seconds, warmup=False)
        say("    " + result.summary())
        waited = self.db.wait_routed(since, timeout=180)
        rows = self.db.leads_since(since)
        created_to_assigned = sorted(
            (row.assigned_at - row.created_at).total_seconds() for row in rows if row.assigned_at is not None
        )
        sent_to_assigned = sorted(
            row.assigned_at.timestamp() - result.intended_wall[row.phone]
            for row in rows
            if row.assigned_at is not None and row.phone in result.intended_wall
        )
        unassigned = sum(1 for row in rows if row.assigned_at is None)
        assigned_times = sorted(row.assigned_at.timestamp() for row in rows if row.assigned_at is not None)
        created_times = sorted(row.created_at.timestamp() for row in rows)
        routed_rate = (
            len(assigned_times) / max(0.001, assigned_times[-1] - created_times[0]) if assigned_times else 0.0
        )
        p50, p99 = percentile(created_to_assigned, 0.5), percentile(created_to_assigned, 0.99)
        noop_p50, noop_p99 = (percentile(noop, 0.5), percentile(noop, 0.99)) if noop else (None, None)
        ratio = p50 / noop_p50 if noop_p50 else None
        ok = None
        if self.kind == "production" and headline:
            ok = p50 <= 0.015 and p99 <= 0.150 and ratio is not None and ratio <= 3 and unassigned == 0
        self.figure(
            f"lead created -> advisor assigned at {rate} leads/s "
            f"({'PostgreSQL + Redis' if self.kind == 'production' else 'embedded'})"
            + ("" if headline else ", a rate the intake sustains (diagnostic)"),
            f"p50 {ms(p50)}, p99 {ms(p99)}",
            f"no-op task p50 {ms(noop_p50)}, p99 {ms(noop_p99)}",
            f"{ratio:.1f}x (p50)" if ratio else "-",
            "p50 <= 15 ms, p99 <= 150 ms, <= 3x no-op" if ok is not None else "(reported)",
            verdict(ok) if ok is not None else "info",
            f"{len(created_to_assigned)} assigned, {unassigned} not; client-intended send -> assigned p50 "
            f"{ms(percentile(sent_to_assigned, 0.5))}, p99 {ms(percentile(sent_to_assigned, 0.99))}; "
            f"intake at {rate}/s: {result.summary()}; last lead routed {waited:.1f} s after the load; "
            f"routing kept pace at {routed_rate:.0f} leads/s (first created -> last assigned)",
        )

    def noop_floor(self, rate: float, seconds: float) -> list[float]:
        from celery import Celery

        from leadrouter.extensions import celery_settings

        out = Path(self.env["BENCH_FLOOR_OUT"])
        out.unlink(missing_ok=True)
        self.stack.start_worker(app="bench.floor_tasks", queues="bench")
        time.sleep(2)
        main, children = self.stack.worker_pids(floor=True)
        pids = [main, *children, *([self.redis_pid] if getattr(self, "redis_pid", None) else [])]
        spent_before = sum(cpu_seconds(pid) or 0.0 for pid in pids)
        publisher = Celery("bench_publisher")
        publisher.config_from_object(celery_settings({"CELERY_BROKER_URL": self.broker_url}))
        count = int(rate * seconds)
        lines: list[str] = []
        try:
            for index in range(-int(rate), count):  # the first second warms up, not counted
                publisher.send_task("bench.noop", args=[time.time()], queue="bench")
                if index < 0:
                    time.sleep(1 / rate)
                    continue
                if index == 0:
                    t0 = time.monotonic()
                delay = t0 + (index + 1) / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                lines = out.read_text().splitlines() if out.exists() else []
                if len(lines) >= count + int(rate):
                    break
                time.sleep(0.25)
            # CPU of the worker (and Redis) per no-op task: the other half of the CPU floor per lead.
            spent = sum(cpu_seconds(pid) or 0.0 for pid in pids) - spent_before
            self.raw["floor_cpu_task_ms"] = spent / max(1, len(lines)) * 1000
            # The Celery memory floor: a pool process that has run tasks, on the same settings.
            self.raw["memory_floor_task"] = max((rss_mb(pid) or 0 for pid in children), default=0)
        finally:
            publisher.close()
            self.stack.stop_worker(floor=True)
        samples = [float(b) - float(a) for a, b in (line.split("\t") for line in lines)]
        samples = samples[int(rate) :]
        say(
            f"    no-op publish -> run: p50 {ms(percentile(samples, 0.5))} p99 "
            f"{ms(percentile(samples, 0.99))} "
            f"({len(samples)} of {count})"
        )
        return samples

    def burst(self) -> None:
        plan = self.plan
        capacity = int(plan.burst_leads * 1.2 / 200) + 1
        say(
            f"\n[{self.kind}] burst: {plan.burst_leads} leads within {plan.burst_seconds:.0f} s; "
            f"200 advisors x capacity {capacity}"
        )
        self.db.reset(capacity=capacity)
        rate = plan.burst_leads / plan.burst_seconds
        since = datetime.now(UTC)
        requests = self.traffic.intake(plan.burst_leads)
        result = open_loop(
            self.stack.base_url,
            constant_rate(requests, rate),
            label_rate=rate,
            seconds=plan.burst_seconds,
            timeout=60,
            abort_behind=None,
        )
        say("    " + result.summary())
        waited = self.db.wait_routed(since, timeout=120)
        rows = self.db.leads_since(since)
        assigned = [row.assigned_at.timestamp() for row in rows if row.assigned_at is not None]
        queued = sum(1 for row in rows if row.status == "queued")
        all_within = (max(assigned) - result.started_wall) if assigned else float("inf")
        checks = self.db.burst_checks(since)
        ok = (
            len(assigned) == plan.burst_leads
            and all_within <= 40
            and checks["double_assigned"] == 0
            and checks["over_capacity"] == 0
        )
        last_accepted = result.finished_wall - result.started_wall
        self.figure(
            f"burst: {plan.burst_leads:,} leads sent within {plan.burst_seconds:.0f} s",
            f"{len(assigned):,} assigned, last {all_within:.1f} s after the first was sent; "
            f"{checks['double_assigned']} double, {checks['over_capacity']} over capacity",
            "-",
            "-",
            "all assigned within 40 s; 0 double; 0 over capacity",
            verdict(ok),
            f"{queued} queued, {len(rows) - len(assigned) - queued} other; intake: {result.summary()}; "
            f"last response {last_accepted:.1f} s after the first send; advisor counters over capacity: "
            f"{checks['counter_over_capacity']}; routing drained {waited:.1f} s after the last response",
        )

    def cpu_per_lead(self) -> None:
        plan = self.plan
        rate = self.comfortable(0.5, 100)
        count = min(plan.cpu_leads, int(rate * plan.phase_seconds * 1.5))
        say(f"\n[{self.kind}] CPU per lead: {count} leads at {rate}/s, intake + routing to assigned")
        self.db.reset(capacity=100_000)
        web_master, web_workers = self.stack.web_pids()
        worker_main, worker_children = self.stack.worker_pids()
        groups = {
            "gunicorn": [web_master, *web_workers],
            "celery": [worker_main, *worker_children],
            "postgres": self.db.postgres_pids(),
            "redis": [self.redis_pid] if getattr(self, "redis_pid", None) else [],
        }
        before = {name: {pid: cpu_seconds(pid) for pid in pids} for name, pids in groups.items()}
        since = datetime.now(UTC)
        requests = self.traffic.intake(count)
        result = open_loop(
            self.stack.base_url,
            constant_rate(requests, rate),
            label_rate=rate,
            seconds=count / rate,
            abort_behind=None,
            timeout=60,
        )
        self.db.wait_routed(since, timeout=120)
        time.sleep(1)
        groups["postgres"] = sorted(set(groups["postgres"]) | set(self.db.postgres_pids()))
        spent = {}
        for name, pids in groups.items():
            total = 0.0
            for pid in pids:
                now_cpu = cpu_seconds(pid)
                if now_cpu is None:
                    continue
                total += now_cpu - (before[name].get(pid) or 0.0)
            spent[name] = total
        leads = sum(1 for row in self.db.leads_since(since) if row.assigned_at is not None)
        per_lead = sum(spent.values()) / max(1, leads) * 1000
        breakdown = ", ".join(
            f"{name} {seconds / max(1, leads) * 1000:.2f}" for name, seconds in spent.items()
        )
        floor_web, floor_task = self.raw.get("floor_cpu_web_ms"), self.raw.get("floor_cpu_task_ms")
        floor = (floor_web or 0.0) + (floor_task or 0.0) if floor_web and floor_task else None
        self.figure(
            "CPU per lead, end to end (intake + routing; gunicorn + Celery + PostgreSQL + Redis)",
            f"{per_lead:.2f} CPU-ms",
            (
                f"{floor:.2f} CPU-ms (insert+commit view {floor_web:.2f} + no-op task {floor_task:.2f})"
                if floor
                else "-"
            ),
            f"{per_lead / floor:.1f}x" if floor else "-",
            "<= 4 CPU-ms",
            verdict(per_lead <= 4),
            f"{leads} leads assigned (sent at {rate}/s, {KEYS} keys); per lead (ms): {breakdown}; load "
            "generator "
            f"{result.client_cpu / max(1, leads) * 1000:.2f} ms per lead (not counted); intake: "
            f"{result.summary()}",
        )

    def soak(self) -> None:
        plan = self.plan
        rate = self.comfortable(0.3, 40)
        calls = max(1, round(rate / 8))
        say(
            f"\n[{self.kind}] soak: {plan.soak_seconds:.0f} s of {rate} leads/s + {calls} calls/s, memory "
            "sampled"
        )
        self.db.reset(capacity=100_000)
        start = self.sample_memory()
        samples = [(0.0, start)]
        stop = threading.Event()
        began = time.monotonic()

        def sampler():
            while not stop.wait(10):
                samples.append((time.monotonic() - began, self.sample_memory()))

        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        schedule = [(i / rate, r) for i, r in enumerate(self.traffic.intake(int(rate * plan.soak_seconds)))]
        schedule += [(i / calls, r) for i, r in enumerate(self.traffic.voice(int(calls * plan.soak_seconds)))]
        schedule.sort(key=lambda item: item[0])
        result = open_loop(
            self.stack.base_url,
            schedule,
            label_rate=rate + calls,
            seconds=plan.soak_seconds,
            abort_behind=None,
            timeout=60,
        )
        self.db.wait_routed(datetime.now(UTC) - timedelta(seconds=plan.soak_seconds + 60), timeout=60)
        stop.set()
        thread.join()
        end = self.sample_memory()
        samples.append((time.monotonic() - began, end))
        say("    " + result.summary())
        mid = min(samples, key=lambda item: abs(item[0] - plan.soak_seconds / 2))[1]
        first = self.raw["memory_start"]

        def worst(memory, key):
            values = memory[key] if isinstance(memory[key], list) else [memory[key]]
            return max(values) if values else 0.0

        web_start, web_mid, web_end = worst(start, "web"), worst(mid, "web"), worst(end, "web")
        cel_start, cel_mid, cel_end = (worst(m, "worker_children") for m in (start, mid, end))
        cel_main = end["worker_main"]
        web_growth, cel_growth = web_end - web_mid, cel_end - cel_mid
        flat = web_growth <= 2.0 and cel_growth <= 2.0
        self.raw["memory_samples"] = [(round(t), m) for t, m in samples]
        self.figure(
            "memory RSS, gunicorn worker (largest of 2)",
            f"{web_start:.0f} MB before the soak -> {web_end:.0f} MB after {plan.soak_seconds:.0f} s",
            _memory_floor(self.raw.get("memory_floor_web"), "insert+commit view's worker"),
            _memory_ratio(web_end, self.raw.get("memory_floor_web")),
            "<= 80 MB; no growth",
            verdict(web_end <= 80 and web_growth <= 2.0),
            f"cold (before any request) {max(self.raw.get('memory_web_cold') or [0]):.0f} MB; "
            f"growth over the second half of the soak {web_growth:+.1f} MB",
        )
        self.figure(
            "memory RSS, Celery worker (largest pool process)",
            f"{cel_start:.0f} MB before the soak -> {cel_end:.0f} MB after {plan.soak_seconds:.0f} s",
            _memory_floor(self.raw.get("memory_floor_task"), "no-op task's pool process"),
            _memory_ratio(cel_end, self.raw.get("memory_floor_task")),
            "<= 120 MB; no growth",
            verdict(cel_end <= 120 and cel_growth <= 2.0),
            f"pool process just after start {max(first['worker_children'] or [0]):.0f} MB; main process "
            f"{first['worker_main']:.0f} -> {cel_main:.0f} MB; growth over the second half "
            f"{cel_growth:+.1f} MB; soak load: {result.summary()}",
        )
        self.notes.append(
            f"soak memory flat (<= 2 MB growth over its second half): {'yes' if flat else 'no'}"
        )
        self.notes.append("memory of the libraries alone: " + library_import_rss())

    def scrape_metrics(self) -> None:
        try:
            body = urllib.request.urlopen(self.stack.base_url + "/metrics", timeout=10).read().decode()  # noqa: S310
        except OSError as error:
            self.notes.append(f"/metrics scrape failed: {error}")
            return
        wanted = re.findall(
            r'^(leadrouter_leads_created_total\{source="api"\}|leadrouter_assignment_latency_seconds_count'
            r"|leadrouter_queue_depth|leadrouter_sla_breaches) (\S+)$",
            body,
            re.M,
        )
        self.notes.append(
            "GET /metrics on the running stack (PROMETHEUS_MULTIPROC_DIR shared by gunicorn and Celery): "
            + ", ".join(f"{name} = {float(value):,.0f}" for name, value in wanted)
        )

    def profile(self) -> None:
        """Sample a gunicorn worker under intake load and a Celery pool process under routing load."""
        pyspy = BIN / "py-spy"
        if not pyspy.exists():
            self.notes.append("profile skipped: py-spy is not installed in the venv")
            return
        out = self.work / "profiles"
        out.mkdir(exist_ok=True)
        seconds = min(12, self.plan.phase_seconds)
        near_max = max(5, round(self.raw["intake_max"] * 0.8))
        busy = self.comfortable(0.6, 200)
        web = self.stack.web_pids()[1][0]
        pool = self.stack.worker_pids()[1][0]
        targets = [
            ("gunicorn worker, one partner key, wall clock", web, near_max, 1, True, "wsgi_app"),
            (f"gunicorn worker, {KEYS} keys, GIL held (CPU)", web, busy, KEYS, False, "wsgi_app"),
            ("Celery pool process, wall clock", pool, busy, KEYS, True, "FlaskTask.__call__"),
            ("Celery pool process, GIL held (CPU)", pool, busy, KEYS, False, "FlaskTask.__call__"),
        ]
        for label, pid, rate, keys, idle, inside in targets:
            self.db.reset(capacity=100_000)
            raw_file = out / (re.sub(r"[^a-z0-9]+", "-", label.lower()) + ".txt")
            say(f"\n[{self.kind}] profile: {label} (pid {pid}) at {rate} leads/s for {seconds:.0f} s")
            command = [str(pyspy), "record", "-p", str(pid), "-d", str(int(seconds) + 1), "-r", "200"]
            command += ["-f", "raw", "--nonblocking", "-o", str(raw_file)] + (
                ["--idle"] if idle else ["--gil"]
            )
            recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.traffic.keys_in_use = keys
            since = datetime.now(UTC)
            self.intake_probe(rate, seconds=seconds, warmup=False)
            self.traffic.keys_in_use = KEYS
            recorder.wait(timeout=60)
            self.db.wait_routed(since, timeout=120)
            if raw_file.exists():
                summary = summarise_profile(raw_file, inside)
                summary["rate"] = rate
                self.raw.setdefault("profiles", {})[label] = summary


# --- profiles --------------------------------------------------------------------------------

LAYERS = (
    ("psycopg", "PostgreSQL driver (psycopg)"),
    ("sqlalchemy", "SQLAlchemy"),
    ("marshmallow", "marshmallow"),
    ("phonenumbers", "phonenumbers"),
    ("kombu", "Celery/kombu/redis"),
    ("celery", "Celery/kombu/redis"),
    ("redis", "Celery/kombu/redis"),
    ("flask_limiter", "flask-limiter/limits"),
    ("limits", "flask-limiter/limits"),
    ("prometheus_client", "prometheus_client"),
    ("flask", "Flask/Werkzeug/gunicorn"),
    ("werkzeug", "Flask/Werkzeug/gunicorn"),
    ("gunicorn", "Flask/Werkzeug/gunicorn"),
    ("logging", "logging"),
    ("json", "json"),
    ("leadrouter", "leadrouter"),
    ("workers", "leadrouter"),
)


def layer_of(frame: str) -> str:
    location = frame[frame.rfind("(") + 1 :]
    for needle, layer in LAYERS:
        if f"/{needle}/" in location or location.startswith(f"{needle}/") or f"{needle}.py" in location:
            return layer
    return "other (stdlib, ssl, sockets)"


def summarise_profile(path: Path, inside: str) -> dict:
    """Self time by layer, the hottest leaf functions and the leadrouter functions with most inclusive time.

    Only samples whose stack passes through `inside` (a request, a task) count.
    """
    self_time: collections.Counter = collections.Counter()
    leaves: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or inside not in stack:
            continue
        samples = int(count)
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";") if frame]
        frames = [frame for frame in frames if not frame.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += samples
        self_time[layer_of(frames[-1])] += samples
        leaves[frames[-1]] += samples
        for frame in set(frames):
            if frame[frame.rfind("(") + 1 :].startswith(("leadrouter/", "workers/")):
                inclusive[frame] += samples

    def shares(counter: collections.Counter, top: int | None = None) -> list:
        return [(name, count / total) for name, count in counter.most_common(top)] if total else []

    return {
        "samples": total,
        "self_by_layer": shares(self_time),
        "leaves": shares(leaves, 8),
        "leadrouter_inclusive": shares(inclusive, 16),
    }


# --- in-process figures on the big databases -------------------------------------------------


def time_calls(function, runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        function()
        timings.append(time.perf_counter() - began)
    return sorted(timings)


def time_statements(engine, function) -> list[tuple[str, float]]:
    """Run `function` once and return its SQL statements (first words) with their durations, slowest first."""
    from sqlalchemy import event

    started: dict = {}
    timings: list[tuple[str, float]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        started[id(cursor)] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        began = started.pop(id(cursor), None)
        if began is not None:
            words = " ".join(statement.split())
            timings.append((words[:90], time.perf_counter() - began))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        function()
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return sorted(timings, key=lambda item: -item[1])


def database_figures(url: str, plan: Plan, work: Path) -> dict:
    """Indexed-query floor, the advisor queue page and (if present) the routing report, in-process."""
    from sqlalchemy import func, select

    from leadrouter.dashboard.queries import queue_counts, queue_page
    from leadrouter.extensions import db
    from leadrouter.models import Advisor, Lead, utcnow

    database = Database(url, "memory://", work / "instance-readonly")
    rng = random.Random(7)
    found: dict = {}
    with database.app.app_context():
        found["leads"] = db.session.scalar(select(func.count(Lead.id)))
        max_id = db.session.scalar(select(func.max(Lead.id)))
        owners = [
            row[0]
            for row in db.session.execute(
                select(Lead.owner_id).where(Lead.is_open.is_(True), Lead.owner_id.is_not(None)).distinct()
            ).all()
        ] or list(db.session.scalars(select(Advisor.id)))
        found["owners_with_open_leads"] = len(owners)
        db.session.rollback()

        def indexed():
            db.session.execute(select(Lead.id, Lead.status).where(Lead.id == rng.randint(1, max_id))).first()
            db.session.rollback()

        def page():
            owner = rng.choice(owners)
            queue_page(owner)
            queue_counts(owner, utcnow())
            db.session.rollback()

        def page_only():
            queue_page(rng.choice(owners))
            db.session.rollback()

        for function in (indexed, page):
            time_calls(function, 20)  # warm the pool and the caches, as a live server's would be
        found["indexed"] = time_calls(indexed, plan.query_runs)
        found["queue_page"] = time_calls(page, plan.query_runs)
        found["queue_page_only"] = time_calls(page_only, plan.query_runs)
        found["open_per_owner"] = db.session.scalar(
            select(func.count(Lead.id)).where(Lead.is_open.is_(True), Lead.owner_id.is_not(None))
        ) / max(1, len(owners))
        db.session.rollback()

        try:
            from leadrouter.reports.queries import ReportFilters, routing_report
        except ImportError:
            found["report"] = None
        else:
            from zoneinfo import ZoneInfo

            from leadrouter.reports import rollups

            # As the workers' 30-second refresh would (a full build if the load predates them).
            began = time.perf_counter()
            found["rollup_hours_refreshed"] = rollups.refresh(commit=db.session.commit)
            found["rollup_refresh_seconds"] = time.perf_counter() - began
            newest = db.session.scalar(select(func.max(Lead.created_at)))
            end = newest.astimezone(ZoneInfo("UTC")).date()
            filters = ReportFilters(start=end - timedelta(days=29), end=end)

            def report():
                json.dumps(routing_report(filters, "UTC"), default=str)
                db.session.rollback()

            report()
            found["report"] = time_calls(report, plan.report_runs)
            found["report_range"] = f"{filters.start} to {filters.end}"
            found["report_statements"] = time_statements(db.engine, report)

    database.dispose()
    return found


def csv_export_child(url: str, days: int) -> None:
    """Run in a child process: stream the CSV export, print rows, seconds and RSS samples as JSON."""
    from sqlalchemy import func, select

    from leadrouter.extensions import db
    from leadrouter.models import Lead
    from leadrouter.reports.csv_export import stream_csv
    from leadrouter.reports.queries import ReportFilters

    database = Database(url, "memory://", Path(tempfile.mkdtemp(prefix="leadrouter-bench-csv-")))
    with database.app.app_context():
        newest = db.session.scalar(select(func.max(Lead.created_at)))
        end = newest.date()
        filters = ReportFilters(start=end - timedelta(days=days - 1), end=end)
        rss = [rss_mb(os.getpid())]
        began = time.perf_counter()
        rows = size = 0
        for index, chunk in enumerate(stream_csv(filters, "UTC")):
            rows += chunk.count("\r\n")
            size += len(chunk)
            if index % 25 == 0:
                rss.append(rss_mb(os.getpid()))
        elapsed = time.perf_counter() - began
        rss.append(rss_mb(os.getpid()))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows - 1, "bytes": size, "seconds": elapsed, "rss": rss, "peak": peak}))


def csv_export(url: str) -> dict | None:
    try:
        import leadrouter.reports.csv_export  # noqa: F401
    except ImportError:
        return None
    child = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--internal-csv-export", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    if child.returncode != 0:
        return {"error": child.stderr.strip().splitlines()[-1] if child.stderr.strip() else "failed"}
    return json.loads(child.stdout.strip().splitlines()[-1])


def routing_decisions_per_second(seconds: float = 2.0) -> dict:
    """The pure engine alone: decide() for one lead among 200 advisors, and assign_batch of 500."""
    from leadrouter.routing.engine import AdvisorFacts, LeadFacts, assign_batch, decide

    now = datetime.now(UTC)
    advisors = [
        AdvisorFacts(
            id=number + 1,
            name=f"A{number}",
            regions=frozenset({"*"} if number < 20 else {STATES[number % len(STATES)]}),
            languages=frozenset({"en"}),
            capacity=25,
            open_leads=number % 20,
            status="available",
            timezone="America/Chicago",
        )
        for number in range(200)
    ]
    leads = [
        LeadFacts(
            id=i + 1, urgency=("high", "normal", "low")[i % 3], region=STATES[i % len(STATES)], created_at=now
        )
        for i in range(500)
    ]
    count = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        decide(leads[count % 500], advisors, now)
        count += 1
    single = count / (time.perf_counter() - began)
    began = time.perf_counter()
    batches = 0
    while time.perf_counter() - began < seconds:
        assign_batch(leads, advisors, now)
        batches += 1
    batch = batches * 500 / (time.perf_counter() - began)
    return {"decide": single, "assign_batch": batch}


def ensure_big_database(url: str, wanted: int, work: Path, may_generate: bool) -> tuple[str, int]:
    """Use the loaded 1M database if it is there; otherwise generate one of our own (not with --quick)."""
    count = lead_count(url)
    if count is not None and (count >= wanted * 0.99 or (count and not may_generate)):
        return url, count
    own = with_database(url, "leadrouter_bench_run_1m")
    count_own = lead_count(own)
    if count_own is not None and count_own >= wanted * 0.99:
        return own, count_own
    say(f"  {url.rsplit('/', 1)[-1]} has {count} leads; generating {wanted:,} into leadrouter_bench_run_1m")
    generate(own, wanted, work)
    return own, lead_count(own) or 0


def recent_history(url: str) -> bool:
    """Whether the database's history spans at most a week (the 10k comparison's shape)."""
    span = _scalar(url, "SELECT extract(epoch FROM max(created_at) - min(created_at)) FROM leads")
    return span is not None and span <= 7 * 86400


def generate(url: str, leads: int, work: Path, history_days: int = 365) -> None:
    recreate_postgres_database(url)
    with open(work / f"generate-{leads}.log", "wb") as log:
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "generate_data.py"),
                "--database-url",
                url,
                "--leads",
                str(leads),
                "--advisors",
                "200",
                "--truncate",
                "--seed",
                "1",
                "--history-days",
                str(history_days),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=3600,
        )


# --- the report ------------------------------------------------------------------------------


def machine() -> dict:
    memory = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        "?",
    )
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    kib = int(memory.split()[0]) if memory != "?" else 0
    return {
        "nproc": os.cpu_count(),
        "memory": f"{kib / 1024 / 1024:.1f} GiB" if kib else memory,
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }


ANALYSIS_HEADING = "## Analysis"


def table(figures: list[Figure]) -> str:
    lines = [
        "| figure | measured | floor (same run) | ratio | target | result |",
        "|---|---|---|---|---|---|",
    ]
    for figure in figures:
        lines.append(
            f"| {figure.name} | {figure.value} | {figure.floor} | {figure.ratio} | {figure.target} | "
            f"**{figure.verdict}** |"
        )
    return "\n".join(lines)


def write_results(
    path: Path,
    command: str,
    started: datetime,
    elapsed: float,
    info: dict,
    figures: list[Figure],
    notes: list[str],
    profiles: dict,
) -> None:
    met = [f.name for f in figures if f.verdict == "met"]
    missed = [f.name for f in figures if f.verdict == "missed"]
    unmeasured = [f.name for f in figures if f.verdict == "not measured"]
    out = [
        "# Benchmark results",
        "",
        "Written by `bench/run.py`; rerun it to replace this file.",
        "",
        f"- command: `{command}`",
        f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')} ({elapsed / 60:.0f} min)",
        f"- machine: {info['nproc']} cores ({info['cpu']}), {info['memory']} memory, Linux {info['kernel']}, "
        f"Python {info['python']}; load average at start {' '.join(info['loadavg'])}, at the end "
        f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}",
        f"- stack: gunicorn `{' '.join(GUNICORN_OPTIONS)}` on 127.0.0.1; one Celery worker "
        f"`{' '.join(CELERY_OPTIONS[:4])}`; PostgreSQL on 127.0.0.1, a private redis-server; the load "
        "generator (asyncio + aiohttp, open loop) runs on the same 2 cores",
        "",
        f"**{len(met)} met, {len(missed)} missed, {len(unmeasured)} not measured.**",
        "",
        table(figures),
        "",
        "## Details",
        "",
    ]
    for figure in figures:
        if figure.note:
            out.append(f"- **{figure.name}**: {figure.note}")
    if notes:
        out += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    if profiles:
        out += [
            "",
            "## Profiles (py-spy, 200 Hz, during a dedicated load phase)",
            "",
            'Only samples inside a request (`wsgi_app`) or a task (`FlaskTask.__call__`) count. "Wall '
            "clock\" includes waiting (`--idle`): `Connection.wait` there is waiting for PostgreSQL's "
            'reply. "GIL held" (`--gil`) keeps only samples of a thread holding the GIL: Python CPU.',
            "",
        ]
        for label, summary in profiles.items():
            out.append(f"### {label}, at {summary.get('rate', '?')} leads/s ({summary['samples']} samples)")
            out.append("")
            out.append(
                "Self time by layer: "
                + ", ".join(f"{layer} {share:.0%}" for layer, share in summary["self_by_layer"])
            )
            out.append("")
            out.append(
                "Hottest leaf frames: "
                + ", ".join(f"`{name}` {share:.0%}" for name, share in summary["leaves"])
            )
            out.append("")
            out.append("leadrouter functions, inclusive time:")
            out.append("")
            for name, share in summary["leadrouter_inclusive"]:
                out.append(f"- {share:.0%} `{name}`")
            out.append("")
    out += [
        "",
        "## How the figures are measured",
        "",
        "- Open loop: request i is sent at t0 + i/rate by an asyncio scheduler (aiohttp, up to 64 "
        "connections) "
        "whatever the earlier ones are doing; latency runs from the intended send time, so queueing in "
        "the client "
        "or the server is counted. Every latency is kept and percentiles are read from the sorted samples.",
        "- Max sustained rate: probes of a fixed length at a constant rate, doubling from the start rate "
        "until p99 "
        "exceeds 50 ms (or any error, or the client falls 2 s behind), then bisection. The same search is "
        "run on "
        "the floor app. The intake search runs with the Celery worker stopped (routing tasks queue in the "
        "broker "
        "and are purged after), so web tier and floor are compared like for like; every later figure runs "
        "with "
        "the worker routing each lead.",
        "- Lead created -> assigned: `leads.assigned_at - leads.created_at` from the database (intake stamps "
        "created_at, the routing task stamps assigned_at when it starts routing); the client-side figure "
        "in the "
        "details runs from the intended send time. The floor is a no-op task published at the same rate "
        "on the "
        "same broker and run by a worker with the same settings (publish -> start).",
        "- Queue page: `queue_page(owner)` + `queue_counts(owner, now)` (what the advisor's queue shows) "
        "in-process on the 1M and 10k databases, random owners with open leads; floor: one primary-key "
        "lookup "
        "through the same session.",
        "- Memory: VmRSS from /proc of each gunicorn worker and Celery pool process. CPU: utime+stime from "
        "/proc of gunicorn, Celery, the PostgreSQL backends of the bench database plus its WAL writer, "
        "checkpointer and background writer, and the private redis-server, over a fixed number of leads.",
    ]
    previous = path.read_text() if path.exists() else ""
    if ANALYSIS_HEADING in previous:
        # The hand-written analysis of a run survives a rerun; it names the run it was written for.
        out += ["", previous[previous.index(ANALYSIS_HEADING) :].rstrip()]
    path.write_text("\n".join(out) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short phases: every figure in ~8 minutes")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--embedded-only", action="store_true")
    scope.add_argument("--production-only", action="store_true")
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/leadrouter_bench_run",
        help="PostgreSQL database to drop, create and load (default %(default)s)",
    )
    parser.add_argument(
        "--big-database-url",
        default="postgresql://postgres@127.0.0.1:5432/leadrouter_bench",
        help="the 1,000,000-lead database of bench/generate_data.py (read only)",
    )
    parser.add_argument("--redis-url", default=None, help="use this Redis instead of starting a private one")
    parser.add_argument("--soak-seconds", type=float, default=None, help="default 600, or 60 with --quick")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="skip the py-spy phase")
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"))
    parser.add_argument("--internal-csv-export", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.internal_csv_export:
        csv_export_child(args.internal_csv_export, 366)
        return 0

    from leadrouter.config import normalize_database_url

    args.big_database_url = normalize_database_url(args.big_database_url)
    plan = make_plan(args.quick, args.soak_seconds)
    started = datetime.now(UTC)
    began = time.monotonic()
    info = machine()
    command = "python bench/run.py" + (" " + " ".join(sys.argv[1:]) if len(sys.argv) > 1 else "")
    work = Path(tempfile.mkdtemp(prefix="leadrouter-bench-"))
    say(f"leadrouter benchmark: {command}\n  {info}\n  logs and scratch files in {work}")
    processes = Processes(work)

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    try:
        # The load generator shares the 2 cores with the stack it measures: let it send on time.
        os.nice(-5)
    except OSError:
        say("  (could not raise the load generator's priority; send lag is reported per probe)")
    figures: list[Figure] = []
    notes: list[str] = []
    profiles: dict = {}
    try:
        if not args.embedded_only:
            redis_url = args.redis_url
            redis_pid = None
            if redis_url is None:
                port = free_port()
                process = processes.start(
                    "redis",
                    [
                        shutil.which("redis-server") or "redis-server",
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--protected-mode",
                        "yes",
                    ],
                    dict(os.environ),
                )
                redis_pid = process.pid
                redis_url = f"redis://127.0.0.1:{port}/0"
                time.sleep(0.5)
            production = Pass("production", plan, processes, work, args)
            production.prepare(redis_url)
            production.redis_pid = redis_pid
            production.floors_and_intake()
            production.with_workers()
            production.stack.stop_worker()
            production.stack.stop_web()
            production.db.dispose()
            figures += production.figures
            notes += [f"production: {note}" for note in production.notes]
            profiles.update(production.raw.get("profiles", {}))
            processes.stop("redis")
            figures += big_database_section(args, plan, work, notes)
        if not args.production_only:
            embedded = Pass("embedded", plan, processes, work, args)
            embedded.prepare(None)
            embedded.floors_and_intake()
            embedded.with_workers()
            embedded.db.dispose()
            figures += embedded.figures
            notes += [f"embedded: {note}" for note in embedded.notes]
        engine = routing_decisions_per_second()
        figures.append(
            Figure(
                "routing decisions/s, pure engine in-process (200 advisors)",
                f"decide {engine['decide']:,.0f}/s; assign_batch {engine['assign_batch']:,.0f} leads/s",
                verdict="info",
                note="one core, no database: the decision itself is not what bounds routing",
            )
        )
    finally:
        processes.stop_all()
    elapsed = time.monotonic() - began
    say("\n" + table(figures))
    for note in notes:
        say(f"- {note}")
    write_results(Path(args.results), command, started, elapsed, info, figures, notes, profiles)
    say(f"\nwrote {args.results} ({elapsed / 60:.1f} min)")
    return 0


def big_database_section(args, plan: Plan, work: Path, notes: list[str]) -> list[Figure]:
    """The dashboard and report figures at 1M leads, with the 10k comparison and the indexed-query floor."""
    figures = []
    say("\n[1M] dashboard and reports, in-process")
    big_url, big_count = ensure_big_database(args.big_database_url, plan.big_leads, work, not args.quick)
    small_url = with_database(big_url, "leadrouter_bench_run_10k")
    if (lead_count(small_url) or 0) < 9_900 or not recent_history(small_url):
        # The same team and arrival rate as the 1M year (~2,700 leads a day), over 4 days: the
        # live workload (open leads per advisor, what a queue page shows) is the 1M one's, so
        # the comparison isolates the growth of history.
        say("  generating 10,000 leads over 4 days into leadrouter_bench_run_10k")
        generate(small_url, 10_000, work, history_days=4)
    big = database_figures(big_url, plan, work)
    small = database_figures(small_url, plan, work)
    say(
        f"  1M: {big['leads']:,} leads, {big['owners_with_open_leads']} owners, "
        f"{big['open_per_owner']:.0f} open leads each; 10k: {small['leads']:,} leads"
    )
    floor_big = percentile(big["indexed"], 0.95)
    page_big, page_small = percentile(big["queue_page"], 0.95), percentile(small["queue_page"], 0.95)
    growth = page_big / page_small if page_small else float("inf")
    figures.append(
        Figure(
            f"advisor queue page at {big['leads']:,} leads (p95)",
            f"{ms(page_big)} (10k: {ms(page_small)}; {growth:.2f}x)",
            f"indexed query p95 {ms(floor_big)}",
            f"{page_big / floor_big:.1f}x" if floor_big else "-",
            "p95 <= 30 ms; <= 1.3x the 10k p95",
            verdict(page_big <= 0.030 and growth <= 1.3),
            f"queue_page + queue_counts, {plan.query_runs} runs each, random owners "
            f"({big['owners_with_open_leads']} with open leads, ~{big['open_per_owner']:.0f} open each at "
            "1M; "
            f"~{small['open_per_owner']:.0f} at 10k); queue_page alone p95 "
            f"{ms(percentile(big['queue_page_only'], 0.95))} "
            f"at 1M, {ms(percentile(small['queue_page_only'], 0.95))} at 10k; indexed query p50 "
            f"{ms(percentile(big['indexed'], 0.5))} (1M), {ms(percentile(small['indexed'], 0.5))} (10k); "
            f"database {big_url.rsplit('@', 1)[-1]} ({big_count:,} leads)",
        )
    )
    if big.get("report") is None:
        figures.append(
            Figure(
                "routing report, 30 days, 1M leads (p95)",
                "not measured: reports module missing",
                target="p95 <= 150 ms",
                verdict="not measured",
            )
        )
    else:
        p95 = percentile(big["report"], 0.95)
        figures.append(
            Figure(
                "routing report, 30 days, 1M leads (p95)",
                f"{ms(p95)} (p50 {ms(statistics.median(big['report']))})",
                f"indexed query p95 {ms(floor_big)}",
                f"{p95 / floor_big:.0f}x" if floor_big else "-",
                "p95 <= 150 ms",
                verdict(p95 <= 0.150),
                f"routing_report() + JSON, {len(big['report'])} runs after one warm-up, range "
                f"{big['report_range']}, from the rollups (refreshed first as the workers do: "
                f"{big['rollup_hours_refreshed']:,} hours in {big['rollup_refresh_seconds']:.1f} s); "
                f"{len(big['report_statements'])} SQL statements, slowest: "
                + "; ".join(f"{ms(seconds)} `{sql}…`" for sql, seconds in big["report_statements"][:3]),
            )
        )
    target = big_url if not args.quick else small_url
    export = csv_export(target)
    if export is None:
        figures.append(
            Figure(
                "CSV export of 1M leads",
                "not measured: reports CSV export missing",
                target="<= 20 s, memory flat",
                verdict="not measured",
            )
        )
    elif "error" in export:
        figures.append(
            Figure(
                "CSV export of 1M leads",
                f"failed: {export['error']}",
                target="<= 20 s, memory flat",
                verdict="missed",
            )
        )
    else:
        rss = [value for value in export["rss"] if value]
        settled = rss[min(len(rss) - 1, 2)]
        growth = max(rss) - settled
        flat = growth <= 20
        figures.append(
            Figure(
                f"CSV export of {export['rows']:,} leads"
                + (" (--quick: the 10k database)" if args.quick else ""),
                f"{export['seconds']:.1f} s, peak RSS {max(rss):.0f} MB",
                "-",
                "-",
                "<= 20 s, memory flat",
                verdict(export["seconds"] <= 20 and flat),
                f"{export['bytes'] / 1e6:.0f} MB of CSV, {export['rows'] / export['seconds']:,.0f} "
                "rows/s; RSS "
                f"{rss[0]:.0f} MB before, {settled:.0f} MB after the first batches, {max(rss):.0f} MB peak "
                f"({growth:+.0f} MB after the first batches)",
            )
        )
    notes.append(
        f"1M figures from {big_url.rsplit('@', 1)[-1]} ({big_count:,} leads); 10k from "
        "leadrouter_bench_run_10k"
    )
    return figures


if __name__ == "__main__":
    raise SystemExit(main())
