"""Real processes under load, for breaking things on purpose (issue #18).

A production stack started the way the README tells an operator to start it (gunicorn, a
plain ``celery worker`` and ``celery beat``), on a private PostgreSQL cluster and a private
redis-server that a test may stop, kill and start again without touching the machine's own
servers; the embedded launcher; and a load generator of threads over real HTTP that records
every answer (or the exception of a dropped connection or a timeout).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool
from twilio.request_validator import RequestValidator

from leadrouter import create_app
from leadrouter.auth.api_keys import issue_api_key
from leadrouter.auth.users import create_user
from leadrouter.config import normalize_database_url
from leadrouter.extensions import db
from leadrouter.models import Advisor, Assignment, Lead
from tests.conftest import PUBLIC_BASE_URL, TWILIO_TEST_TOKEN, base_config, migrate_to_head
from tests.fault_stack import free_port
from tests.telephony.test_twiml import parse, said

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SWEEP_SECONDS = 5
HEARTBEAT_SECONDS = 2
HELPLINE = "+18005550100"
MANAGER_EMAIL = "manager@chaos.invalid"
MANAGER_PASSWORD = "chaos-manager-password"
PARTNER_KEYS = 6
LOG_TAIL_LINES = 40
TASK_RECEIVED = re.compile(r"^(\S+ \S+) INFO \S+: Task [\w.]+\[([0-9a-f-]+)\] received", re.M)
TASK_FINISHED = re.compile(r"Task [\w.]+\[([0-9a-f-]+)\] (?:succeeded|failed|raised|retry)")


def say(message: str) -> None:
    """Print a progress line (shown with -s, and in the captured output of a failure)."""
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


NOTABLE = re.compile(
    r"CRITICAL|ERROR|FATAL|Unrecoverable|Exception on|Error handling request"
    r"|exited with|Couldn't ack|broker lost"
)
TIMESTAMP = re.compile(r"^\[?\d{4}-\d\d-\d\d[ T][\d:,.]+(?: [+-]\d{4})?\]?\s*(?:\[\d+\]\s*)?")


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The distinct notable lines of a log (errors, crashes, restarts, with counts), then its last lines."""
    if not path.exists():
        return f"--- {path.name}: no log\n"
    all_lines = path.read_text(errors="replace").splitlines()
    notable: dict[str, list] = {}
    for line in all_lines:
        if NOTABLE.search(line):
            notable.setdefault(TIMESTAMP.sub("", line), [line, 0])[1] += 1
    text = ""
    if notable:
        shown = [f"{count}x {first}" for first, count in list(notable.values())[:20]]
        text = f"--- {path.name}: distinct notable lines (first of each)\n" + "\n".join(shown) + "\n"
    last = all_lines[-lines:]
    return text + f"--- {path.name}: last {len(last)} lines\n" + "\n".join(last) + "\n"


def wait_until(predicate, timeout: float, interval: float = 0.1):
    """Poll until predicate() is truthy; return its value, or None when the time is up."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# --- servers the test owns -------------------------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL cluster of its own (pg_createcluster), on a free port, trusted on 127.0.0.1."""

    def __init__(self):
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
        if not versions:
            raise RuntimeError("no PostgreSQL server under /usr/lib/postgresql (pg_createcluster needs one)")
        self.version = versions[-1].parent.parent.name
        self.name = f"chaos_{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        self.log_path = Path(f"/var/log/postgresql/postgresql-{self.version}-{self.name}.log")
        self.created = False

    def _run(self, *command: str) -> None:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )

    def create(self) -> PrivatePostgres:
        self.created = True
        self._run(
            "pg_createcluster",
            self.version,
            self.name,
            "--port",
            str(self.port),
            # Throwaway data: durability would only slow the test down.
            "-o",
            "fsync=off",
            "-o",
            "synchronous_commit=off",
            "-o",
            "full_page_writes=off",
            "--",
            "--auth=trust",
        )
        self.start()
        say(f"PostgreSQL cluster {self.version}/{self.name} on port {self.port}")
        return self

    def start(self) -> None:
        self._run("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, "start")
        if not wait_until(self.is_up, timeout=30):
            raise RuntimeError(f"PostgreSQL {self.name} did not come up\n{tail(self.log_path)}")

    def stop(self) -> None:
        self._run("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, "stop", "-m", "fast")

    def drop(self) -> None:
        if self.created:
            subprocess.run(
                ["pg_dropcluster", "--stop", self.version, self.name], capture_output=True, timeout=120
            )

    def is_up(self) -> bool:
        result = subprocess.run(
            ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres"],
            capture_output=True,
            timeout=10,
        )
        return result.returncode == 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A fresh database on this cluster; return its URL."""
        name = f"leadrouter_{uuid.uuid4().hex[:8]}"
        engine = create_engine(
            normalize_database_url(self.url()), isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)


# --- processes -------------------------------------------------------------------------------


class Processes:
    """Named subprocesses, each in its own session (process group), logging to a file."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.running: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log_path = self.log_dir / f"{name}.log"
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log_path.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running[name] = process
        self.logs[name] = log_path
        program = " ".join(Path(part).name if "/" in part else part for part in command)
        say(f"{name} started (pid {process.pid}): {program}")
        return process

    def kill_group(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.running[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def dead(self) -> dict[str, int]:
        """Processes that exited, with their exit code."""
        return {name: p.returncode for name, p in self.running.items() if p.poll() is not None}

    def tails(self, extra: list[Path] = ()) -> str:
        return "".join(tail(path) for path in [*self.logs.values(), *extra])

    def stop_all(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.running.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@dataclass
class Team:
    """What the load needs: partner API keys and a manager who can sign in."""

    partner_keys: list[str]
    manager_email: str = MANAGER_EMAIL
    manager_password: str = MANAGER_PASSWORD


def seed_team(database_url: str, instance: Path, *, advisors: int = 30, capacity: int = 40) -> Team:
    """Migrate the database and add TX advisors with room for every lead, keys and a manager.

    One advisor in five can take only two leads, so routing fills some advisors to capacity
    and a lead claimed twice would show as an advisor over capacity.
    """
    app = create_app(base_config(normalize_database_url(database_url), str(instance)))
    migrate_to_head(app)
    with app.app_context():
        for number in range(advisors):
            db.session.add(
                Advisor(
                    name=f"Chaos Advisor {number}",
                    email=f"advisor{number}@chaos.invalid",
                    phone=f"+1737300{number:04d}",
                    regions=["TX"] if number % 5 else ["*"],
                    languages=["en", "es"],
                    capacity=2 if number % 5 == 1 else capacity,
                    status="available",
                    timezone="America/Chicago",
                )
            )
        keys = [issue_api_key("partner", f"chaos partner {n}")[1] for n in range(PARTNER_KEYS)]
        create_user(MANAGER_EMAIL, MANAGER_PASSWORD, "manager", "Chaos Manager")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return Team(partner_keys=keys)


class ProductionStack:
    """gunicorn, a plain Celery worker and celery beat, as the README starts them."""

    def __init__(self, tmp_path: Path, database_url: str, broker_url: str, redis_url: str):
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.processes = Processes(tmp_path)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.workers_started = 0
        self.env = dict(
            os.environ,
            DATABASE_URL=database_url,
            CELERY_BROKER_URL=broker_url,
            REDIS_URL=redis_url,
            SECRET_KEY="chaos-secret-key-0123456789",
            TWILIO_AUTH_TOKEN=TWILIO_TEST_TOKEN,
            PUBLIC_BASE_URL=PUBLIC_BASE_URL,
            HELPLINE_NUMBER=HELPLINE,
            ROUTING_SWEEP_SECONDS=str(SWEEP_SECONDS),
            WORKER_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS),
            LEADROUTER_INSTANCE_PATH=str(tmp_path / "instance"),
            # The load sends ~1 lead/s per key, plus bursts: this test is not about rate limits.
            RATELIMIT_API_LEADS="100000 per minute",
        )
        for name in ("TWILIO_ACCOUNT_SID", "TEST_DATABASE_URL", "TEST_REDIS_URL"):
            self.env.pop(name, None)

    def start(self) -> ProductionStack:
        self.processes.start(
            "web",
            [
                str(BIN / "gunicorn"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "leadrouter.wsgi:app",
            ],
            self.env,
        )
        self.start_worker()
        schedule = self.tmp_path / "celerybeat-schedule"
        self.processes.start(
            "beat",
            [str(BIN / "celery"), "-A", "workers", "beat", "--loglevel", "INFO", "--schedule", str(schedule)],
            self.env,
        )
        self.wait_http("/healthz")
        self.wait_worker_ready(self.worker_name)
        self.wait_ready()
        return self

    @property
    def worker_name(self) -> str:
        return f"worker{self.workers_started}"

    def start_worker(self) -> subprocess.Popen:
        """A plain worker (every queue), as systemd would start one."""
        self.workers_started += 1
        return self.processes.start(
            self.worker_name, [str(BIN / "celery"), "-A", "workers", "worker", "--loglevel", "INFO"], self.env
        )

    def wait_http(self, path: str, timeout: float = 60) -> None:
        def answers():
            try:
                return requests.get(self.base_url + path, timeout=2).status_code == 200
            except requests.RequestException:
                return False

        if not wait_until(answers, timeout, interval=0.2):
            raise AssertionError(f"{path} never answered 200\n{self.processes.tails()}")

    def wait_worker_ready(self, name: str, timeout: float = 60) -> None:
        log = self.processes.logs[name]
        if not wait_until(lambda: "ready." in log.read_text(errors="replace"), timeout, interval=0.2):
            raise AssertionError(f"{name} never logged 'ready.'\n{self.processes.tails()}")

    def tasks_in_flight(self, min_age: float = 0.0) -> set[str]:
        """Tasks the current worker received at least ``min_age`` s ago and has not finished (its log)."""
        log = self.processes.logs[self.worker_name].read_text(errors="replace")
        finished = set(TASK_FINISHED.findall(log))
        now = datetime.now()
        return {
            task_id
            for stamp, task_id in TASK_RECEIVED.findall(log)
            if task_id not in finished
            and (now - datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f")).total_seconds() >= min_age
        }

    def readiness(self) -> tuple[int, dict]:
        response = requests.get(self.base_url + "/readyz", timeout=5)
        return response.status_code, response.json()

    def wait_ready(self, timeout: float = 20) -> tuple[int, dict]:
        """Wait for /readyz to say ready with a worker on the routing queue (not degraded)."""
        last: list = [None]

        def ready():
            try:
                last[0] = self.readiness()
            except (requests.RequestException, ValueError) as error:
                last[0] = (None, repr(error))
                return False
            status, body = last[0]
            return status == 200 and body.get("status") != "degraded"

        if not wait_until(ready, timeout, interval=0.5):
            raise AssertionError(f"/readyz never ready and not degraded: {last[0]}\n{self.processes.tails()}")
        return last[0]

    def stop(self) -> None:
        self.processes.stop_all()


# --- the database, read directly -------------------------------------------------------------


class Ledger:
    """Reads of the committed database, on a connection of their own each time."""

    def __init__(self, database_url: str):
        self.engine = create_engine(normalize_database_url(database_url), poolclass=NullPool)

    def assignment_counts(self, lead_ids: list[int]) -> dict[int, int]:
        """Assignment rows per lead (0 for a lead with none)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Assignment.lead_id, func.count(Assignment.id))
                .where(Assignment.lead_id.in_(lead_ids))
                .group_by(Assignment.lead_id)
            ).all()
        counts = dict.fromkeys(lead_ids, 0)
        counts.update(dict(rows))
        return counts

    def leads_with_several_assignments(self) -> dict[int, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Assignment.lead_id, func.count(Assignment.id))
                .group_by(Assignment.lead_id)
                .having(func.count(Assignment.id) > 1)
            ).all()
        return dict(rows)

    def advisors_over_capacity(self) -> list[tuple]:
        """Advisors holding more current leads than their capacity, or whose counter disagrees.

        Returns (advisor id, capacity, open_leads counter, current assignments) for each.
        """
        with self.engine.connect() as conn:
            current = dict(
                conn.execute(
                    select(Assignment.advisor_id, func.count(Assignment.id))
                    .where(Assignment.ended_at.is_(None))
                    .group_by(Assignment.advisor_id)
                ).all()
            )
            advisors = conn.execute(select(Advisor.id, Advisor.capacity, Advisor.open_leads)).all()
        return [
            (advisor_id, capacity, open_leads, current.get(advisor_id, 0))
            for advisor_id, capacity, open_leads in advisors
            if max(current.get(advisor_id, 0), open_leads) > capacity
            or open_leads != current.get(advisor_id, 0)
        ]

    def busiest_advisors(self) -> list[tuple]:
        """(capacity, current assignments) of the advisors with the least room left."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Advisor.capacity, func.count(Assignment.id))
                .outerjoin(Assignment, (Assignment.advisor_id == Advisor.id) & Assignment.ended_at.is_(None))
                .group_by(Advisor.id, Advisor.capacity)
            ).all()
        return sorted(rows, key=lambda row: row[0] - row[1])[:5]

    def unrouted(self, lead_ids: list[int]) -> list[int]:
        with self.engine.connect() as conn:
            return list(conn.scalars(select(Lead.id).where(Lead.id.in_(lead_ids), Lead.routed_at.is_(None))))

    def dispose(self) -> None:
        self.engine.dispose()


# --- load ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One request and what came back."""

    kind: str  # "intake", "voice", "queue" or "burst"
    started: float  # time.monotonic()
    seconds: float
    status: int | None = None
    error: str | None = None  # the exception of a dropped connection or a timeout
    retry_after: str | None = None
    lead_id: int | None = None
    problem: str | None = None  # an answer that arrived but is wrong (e.g. TwiML without 911)
    body: str = field(default="", repr=False)

    def describe(self) -> str:
        what = f"HTTP {self.status}" if self.status is not None else self.error
        extra = f" ({self.problem})" if self.problem else ""
        return f"{self.kind} at t={self.started:.2f} after {self.seconds:.2f}s: {what}{extra}"


class Load:
    """Threads over real HTTP: partner leads over six keys, signed calls, a manager's queue page."""

    def __init__(self, base_url: str, team: Team, phones: PhoneBook, *, lead_rate: float = 6.0):
        self.base_url = base_url
        self.team = team
        self.phones = phones
        self.lead_interval = len(team.partner_keys) / lead_rate
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.validator = RequestValidator(TWILIO_TEST_TOKEN)

    def record(self, outcome: Outcome) -> Outcome:
        with self.lock:
            self.outcomes.append(outcome)
        return outcome

    def start(self) -> Load:
        for key in self.team.partner_keys:
            self.threads.append(
                threading.Thread(target=self._paced, args=(self.lead_interval, key), daemon=True)
            )
        self.threads.append(threading.Thread(target=self._paced, args=(0.5, None), daemon=True))
        self.threads.append(threading.Thread(target=self._queue_page, daemon=True))
        for thread in self.threads:
            thread.start()
        return self

    def snapshot(self) -> list[Outcome]:
        with self.lock:
            return list(self.outcomes)

    def stop(self) -> list[Outcome]:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)
        with self.lock:
            return list(self.outcomes)

    def _paced(self, interval: float, key: str | None) -> None:
        http = requests.Session()
        next_at = time.monotonic()
        while not self.stopping.is_set():
            if key is None:
                self.call(http)
            else:
                self.post_lead(http, key)
            next_at += interval
            self.stopping.wait(max(0.0, next_at - time.monotonic()))

    def post_lead(self, http: requests.Session, key: str, kind: str = "intake") -> Outcome:
        body = {
            "name": "Chaos Caller",
            "phone": self.phones.next_lead(),
            "state": "TX",
            "substances": ["alcohol"],
            "consent": {"given": True, "text": "You may call or text me.", "version": "chaos-1"},
        }
        outcome = self._send(
            kind, http, "POST", "/api/v1/leads", json=body, headers={"Authorization": f"Bearer {key}"}
        )
        if outcome.status == 201:
            try:
                outcome.lead_id = outcome_json(outcome)["id"]
            except (KeyError, TypeError, ValueError) as error:
                outcome.problem = f"201 without a lead id: {error!r}"
        elif outcome.status == 503 and not outcome.retry_after:
            outcome.problem = "503 without Retry-After"
        return self.record(outcome)

    def call(self, http: requests.Session) -> Outcome:
        phone = self.phones.next_caller()
        params = {
            "CallSid": f"CA{uuid.uuid4().hex}",
            "AccountSid": "AC" + "0" * 32,
            "From": phone,
            "Caller": phone,
            "To": HELPLINE,
            "Called": HELPLINE,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
            "FromState": "TX",
        }
        signature = self.validator.compute_signature(PUBLIC_BASE_URL + "/twilio/voice", params)
        outcome = self._send(
            "voice", http, "POST", "/twilio/voice", data=params, headers={"X-Twilio-Signature": signature}
        )
        if outcome.status is not None:
            try:
                if "911" not in said(parse(outcome.body)):
                    outcome.problem = f"no 911 notice in {outcome.body[:300]!r}"
            except (ET.ParseError, AssertionError) as error:
                outcome.problem = f"not TwiML ({error}): {outcome.body[:300]!r}"
        return self.record(outcome)

    def _queue_page(self) -> None:
        http = requests.Session()
        self.sign_in(http)
        while not self.stopping.is_set():
            outcome = self._send("queue", http, "GET", "/dashboard", allow_redirects=False)
            if outcome.status == 200 and "<html" not in outcome.body.lower():
                outcome.problem = "not an HTML page"
            elif outcome.status in (301, 302, 303):
                outcome.problem = "redirected (signed out?)"
            self.record(outcome)
            self.stopping.wait(1.0)

    def sign_in(self, http: requests.Session) -> None:
        page = http.get(self.base_url + "/login", timeout=10)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', page.text
        )
        assert match, f"no CSRF token on the sign-in page: {page.status_code} {page.text[:300]}"
        form = {
            "email": self.team.manager_email,
            "password": self.team.manager_password,
            "csrf_token": match[1],
        }
        response = http.post(self.base_url + "/login", data=form, timeout=10, allow_redirects=False)
        assert response.status_code in (302, 303), (
            f"sign-in failed: {response.status_code} {response.text[:300]}"
        )

    def _send(self, kind: str, http: requests.Session, method: str, path: str, **kwargs) -> Outcome:
        started = time.monotonic()
        try:
            response = http.request(method, self.base_url + path, timeout=(3, 15), **kwargs)
        except requests.RequestException as error:
            return Outcome(kind, started, time.monotonic() - started, error=repr(error))
        return Outcome(
            kind,
            started,
            time.monotonic() - started,
            status=response.status_code,
            retry_after=response.headers.get("Retry-After"),
            body=response.text,
        )


def outcome_json(outcome: Outcome) -> dict:
    return json.loads(outcome.body)


@dataclass
class PhoneBook:
    """Phone numbers never used before in the test, so no lead merges into another."""

    counter: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _next(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def next_lead(self) -> str:
        return f"+1512{3_000_000 + self._next():07d}"

    def next_caller(self) -> str:
        return f"+1737{4_000_000 + self._next():07d}"


# --- what a round must show ------------------------------------------------------------------


def is_bad(outcome: Outcome, *, allow_503: bool) -> bool:
    """A dropped connection, a wrong answer, a call without TwiML, a 500, or a 503 not allowed."""
    if outcome.error is not None or outcome.problem is not None:
        return True
    if outcome.kind == "voice":
        return outcome.status != 200
    if outcome.status == 503:
        return not allow_503
    if outcome.kind in ("intake", "burst"):
        return outcome.status != 201
    return outcome.status >= 500


def bad_answers(outcomes: list[Outcome], *, allow_503: bool) -> list[Outcome]:
    return [outcome for outcome in outcomes if is_bad(outcome, allow_503=allow_503)]


def acknowledged(outcomes: list[Outcome]) -> list[int]:
    return [o.lead_id for o in outcomes if o.status == 201 and o.lead_id is not None]


def first_201_after(outcomes: list[Outcome], moment: float) -> Outcome | None:
    after = [o for o in outcomes if o.kind == "intake" and o.started >= moment and o.status == 201]
    return min(after, key=lambda o: o.started + o.seconds, default=None)


def wait_assigned_once(ledger: Ledger, lead_ids: list[int], timeout: float) -> dict[int, int]:
    """Wait until every lead has an assignment; return the leads with a count other than 1."""
    counts: dict[int, int] = {}

    def all_assigned():
        counts.clear()
        counts.update(ledger.assignment_counts(lead_ids))
        return all(counts.values())

    wait_until(all_assigned, timeout, interval=0.5)
    return {lead_id: n for lead_id, n in counts.items() if n != 1}


# --- the embedded launcher -------------------------------------------------------------------


class EmbeddedLauncher:
    """``flask --app leadrouter embedded`` on a tmp instance: web and worker(+beat) it supervises."""

    def __init__(self, tmp_path: Path):
        self.instance = tmp_path / "instance"
        self.instance.mkdir(parents=True, exist_ok=True)
        self.processes = Processes(tmp_path)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = dict(
            os.environ,
            LEADROUTER_INSTANCE_PATH=str(self.instance),
            ROUTING_SWEEP_SECONDS=str(SWEEP_SECONDS),
            WORKER_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS),
            RATELIMIT_API_LEADS="100000 per minute",
        )
        for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "TWILIO_ACCOUNT_SID", "SECRET_KEY"):
            self.env.pop(name, None)

    @property
    def log_path(self) -> Path:
        return self.processes.logs["launcher"]

    @property
    def broker_path(self) -> Path:
        return self.instance / "broker.sqlite"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.instance / 'leadrouter.sqlite'}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def started_pids(self, name: str) -> list[int]:
        """Every pid the launcher said it started ``name`` with, in order."""
        return [int(pid) for pid in re.findall(rf"\b{name} started \(pid (\d+)\)", self.log())]

    def start(self) -> EmbeddedLauncher:
        flask = str(BIN / "flask")
        self.processes.start(
            "launcher", [flask, "--app", "leadrouter", "embedded", "--port", str(self.port)], self.env
        )
        if not wait_until(
            lambda: self.started_pids("worker") and self.started_pids("web"), 120, interval=0.3
        ):
            raise AssertionError(f"the launcher never logged 'web/worker started (pid N)'\n{self.tails()}")
        if not wait_until(self._healthy, 60, interval=0.3):
            raise AssertionError(f"the embedded web server never answered /healthz\n{self.tails()}")
        if not wait_until(lambda: "ready." in self.log(), 60, interval=0.3):
            raise AssertionError(f"the embedded worker never logged 'ready.'\n{self.tails()}")
        return self

    def _healthy(self) -> bool:
        if self.processes.dead():
            raise AssertionError(f"the launcher exited {self.processes.dead()}\n{self.tails()}")
        try:
            return requests.get(self.base_url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def cli(self, *args: str) -> str:
        """Run a ``flask --app leadrouter`` command on the same instance; return its output."""
        result = subprocess.run(
            [str(BIN / "flask"), "--app", "leadrouter", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"flask {' '.join(args)}: {result.stdout}{result.stderr}"
        return result.stdout

    def prepare_team(self) -> str:
        """A partner key, and an advisor with room for every test lead (created over the API)."""
        partner = self.cli("create-api-key", "--role", "partner", "--name", "chaos").strip().splitlines()[-1]
        manager = self.cli("create-api-key", "--role", "manager", "--name", "chaos").strip().splitlines()[-1]
        advisor = {
            "name": "Chaos Advisor",
            "email": "chaos.advisor@chaos.invalid",
            "phone": "+17373009999",
            "regions": ["TX"],
            "languages": ["en"],
            "capacity": 500,
            "status": "available",
            "timezone": "America/Chicago",
        }
        response = requests.post(
            self.base_url + "/api/v1/advisors",
            json=advisor,
            headers={"Authorization": f"Bearer {manager}"},
            timeout=15,
        )
        assert response.status_code == 201, (
            f"creating the advisor: {response.status_code} {response.text[:500]}"
        )
        return partner

    def tails(self) -> str:
        return self.processes.tails()

    def stop(self) -> None:
        """Stop the launcher; then end any process it started that outlived it (ours only)."""
        self.processes.stop_all()
        if "launcher" not in self.processes.running:
            return
        for name in ("web", "worker", "beat"):
            for pid in self.started_pids(name):
                if self._is_ours(pid):
                    say(f"{name} (pid {pid}) outlived the launcher; killing it")
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)

    def _is_ours(self, pid: int) -> bool:
        """A live process whose environment names this test's instance (not a reused pid)."""
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            return False
        return f"LEADROUTER_INSTANCE_PATH={self.instance}".encode() in environ.split(b"\0")


class Burst:
    """``count`` partner leads at once, over the load's keys, from a pool of threads."""

    def __init__(self, load: Load, count: int, threads: int = 8):
        self.load = load
        self.count = count
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=threads)
        keys = load.team.partner_keys
        self.futures = [self.pool.submit(self._post, keys[n % len(keys)]) for n in range(count)]

    def _post(self, key: str) -> None:
        outcome = self.load.post_lead(requests.Session(), key, kind="burst")
        with self.lock:
            self.outcomes.append(outcome)

    def acknowledged(self) -> list[int]:
        with self.lock:
            return acknowledged(self.outcomes)

    def finish(self) -> list[Outcome]:
        for future in self.futures:
            future.result(timeout=120)
        self.pool.shutdown()
        return list(self.outcomes)
