"""The one-command embedded helpline: migrate, seed, then web + worker + scheduler."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import click
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import func, select

from leadrouter.extensions import db


def run_embedded(host: str, port: int) -> int:
    """Start every process the helpline needs and stop them all on Ctrl-C."""
    from leadrouter.demo import DEMO_LOGINS, seed_demo
    from leadrouter.models import User

    upgrade()
    if not db.session.scalar(select(func.count(User.id))):
        click.echo(seed_demo())
    db.session.commit()

    env = dict(os.environ, LEADROUTER_INSTANCE_PATH=current_app.instance_path)
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
        "worker": [
            celery,
            "-A",
            "workers",
            "worker",
            "--beat",
            "--schedule",
            schedule_file,
            "--queues",
            "routing,notify,default",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
        ],
    }
    processes = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}

    click.echo("")
    click.echo(f"leadrouter is running at http://{host}:{port}  (Ctrl-C stops everything)")
    click.echo("Demo logins:")
    for email, password, role in DEMO_LOGINS:
        click.echo(f"  {role:8} {email}  /  {password}")
    return _supervise(processes)


def _supervise(processes: dict[str, subprocess.Popen]) -> int:
    stopping = False

    def stop(*_args):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                click.echo(f"{name} exited with {process.returncode}; stopping the rest", err=True)
                exit_code = process.returncode or 1
                stopping = True
        time.sleep(0.5)
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 15
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
    return exit_code
