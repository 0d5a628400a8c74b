"""The stack under test (gunicorn, Celery, Redis) and the search for the highest sustainable rate."""

from __future__ import annotations

import subprocess
import sys
import time

from bench.harness.common import BIN, CELERY_OPTIONS, GUNICORN_OPTIONS, ms, say
from bench.harness.judging import Spread, median_sustained
from bench.harness.processes import Processes, children_of, wait_http

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


def memory_floor(megabytes: float | None, what: str) -> str:
    return f"{megabytes:.0f} MB ({what})" if megabytes else "-"


def memory_ratio(megabytes: float, floor: float | None) -> str:
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


def confirm_rate(probe, rate: float, *, limit_p99: float, runs: int, attempts: int = 3) -> tuple[float, list]:
    """Probe the rate `runs` times; if the median run does not sustain it, 10% lower (a few times).

    Returns the rate the median of `runs` probes sustained (0 if none did) and those probes.
    """
    results: list = []
    for _attempt in range(attempts):
        results = [probe(rate) for _run in range(runs)]
        p99s = [result.pct(0.99) for result in results]
        failed = [result.aborted or bool(result.errors) for result in results]
        spread = Spread.of(p99s).show(ms)
        if median_sustained(p99s, failed, limit_p99):
            say(f"    confirmed {rate:.0f}/s: p99 {spread}")
            return rate, results
        say(f"    not confirmed at {rate:.0f}/s: p99 {spread}")
        rate = round(rate * 0.9)
    return 0.0, results
