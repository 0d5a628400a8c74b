"""The one-command embedded helpline: migrate, seed, then web + worker + scheduler."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Mapping

import click
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import func, select

from leadrouter.extensions import db

# The demo is a US helpline: its manager reads the team board and the reports in Central time
# rather than converting from UTC (the app's default, which a real deployment sets for itself).
DEMO_REPORT_TIMEZONE = "America/Chicago"


def process_environment(environ: Mapping[str, str], instance_path: str) -> dict[str, str]:
    """The environment of the web, worker and scheduler processes: the caller's, plus the
    instance folder, plus the demo's report time zone unless REPORT_TIMEZONE is already set."""
    env = dict(environ, LEADROUTER_INSTANCE_PATH=instance_path)
    if not env.get("REPORT_TIMEZONE"):
        env["REPORT_TIMEZONE"] = DEMO_REPORT_TIMEZONE
    return env


def run_embedded(host: str, port: int) -> int:
    """Start every process the helpline needs and stop them all on Ctrl-C."""
    from leadrouter.demo import DEMO_LOGINS, seed_demo
    from leadrouter.models import User

    upgrade()
    if not db.session.scalar(select(func.count(User.id))):
        click.echo(seed_demo())
    db.session.commit()

    env = process_environment(os.environ, current_app.instance_path)
    bin_dir = os.path.dirname(sys.executable)
    gunicorn = shutil.which("gunicorn", path=bin_dir) or "gunicorn"
    celery = shutil.which("celery", path=bin_dir) or "celery"
    schedule_file = os.path.join(current_app.instance_path, "celerybeat-schedule")
    commands = {
        "web": [
            gunicorn,
            "--bind",
            f"{host}:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--access-logfile",
            "-",
            # The path only: a query string can carry a phone number (GET /api/v1/leads?phone=).
            "--access-logformat",
            '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
            "leadrouter.wsgi:app",
        ],
        "worker": [celery, "-A", "workers", "worker", "--concurrency", "2", "--loglevel", "INFO"],
        # Its own process rather than `worker --beat`: beat runs as a child of the worker there,
        # and outlives a worker that is killed (two schedulers after the restart).
        "beat": [celery, "-A", "workers", "beat", "--schedule", schedule_file, "--loglevel", "INFO"],
    }
    click.echo("")
    click.echo(f"leadrouter is running at http://{host}:{port}  (Ctrl-C stops everything)")
    click.echo("Demo logins:")
    for email, password, role in DEMO_LOGINS:
        click.echo(f"  {role:8} {email}  /  {password}")
    return Supervisor(commands, env).run()


class Supervisor:
    """Keep the helpline's processes running: one that dies is started again, within limits.

    A worker killed by the OOM killer or a crash must not leave leads unrouted until someone
    notices; a process that keeps dying (a bad configuration) stops everything instead of
    restarting in a loop.
    """

    RESTART_LIMIT = 5
    RESTART_WINDOW_SECONDS = 600

    def __init__(self, commands: dict[str, list[str]], env: dict[str, str]):
        self.commands, self.env = commands, env
        self.processes: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, deque[float]] = {name: deque() for name in commands}
        self.stopping = False

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)
        for name in self.commands:
            self._start(name)
        exit_code = 0
        while not self.stopping:
            time.sleep(0.5)
            for name, process in list(self.processes.items()):
                if process.poll() is None or self.stopping:
                    continue
                if not self._may_restart(name):
                    click.echo(
                        f"{name} (pid {process.pid}) exited with {process.returncode}; it died "
                        f"{self.RESTART_LIMIT} times in {self.RESTART_WINDOW_SECONDS // 60} minutes, "
                        "stopping everything",
                        err=True,
                    )
                    exit_code = process.returncode or 1
                    self.stopping = True
                    break
                _signal_group(process, signal.SIGKILL)
                click.echo(
                    f"{name} (pid {process.pid}) exited with {process.returncode}; restarting it "
                    f"({len(self.restarts[name])} of {self.RESTART_LIMIT} in "
                    f"{self.RESTART_WINDOW_SECONDS // 60} minutes)",
                    err=True,
                )
                self._start(name)
        self._stop_all()
        return exit_code

    def _start(self, name: str) -> None:
        # A session (process group) of its own: when it dies, whatever it leaves behind (pool
        # children) goes with it, and Ctrl-C reaches the launcher, which stops each in order.
        process = subprocess.Popen(self.commands[name], env=self.env, start_new_session=True)
        self.processes[name] = process
        click.echo(f"{name} started (pid {process.pid})", err=True)

    def _may_restart(self, name: str) -> bool:
        now = time.monotonic()
        recent = self.restarts[name]
        while recent and now - recent[0] > self.RESTART_WINDOW_SECONDS:
            recent.popleft()
        if len(recent) >= self.RESTART_LIMIT:
            return False
        recent.append(now)
        return True

    def _stop(self, *_args) -> None:
        self.stopping = True

    def _stop_all(self) -> None:
        # SIGTERM to each main process (a warm shutdown: it stops its own children), then
        # SIGKILL to whatever of its group is left after the grace period.
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            _signal_group(process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    """Signal the process and everything it started (its own session, see Supervisor._start)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
