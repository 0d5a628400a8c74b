"""Real services a test can break on purpose: a private redis-server, and a worker stack on it.

Each test starts its own ``redis-server`` on a free port, so killing it hurts nobody else,
and restarting it on the same port brings the same broker URL back (empty: it keeps no data
on disk, like a Redis that lost its memory in a crash).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

from leadrouter import create_app
from tests.conftest import base_config, migrate_to_head
from tests.worker_stack import WorkerStack


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server process owned by one test."""

    def __init__(self, log_dir: Path, port: int | None = None):
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed")
        self.port = port or free_port()
        self.log_path = log_dir / f"redis-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        command = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ]
        self.process = subprocess.Popen(command, stdout=self.log_path.open("a"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return self
            except redis.ConnectionError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited: {self.log_path.read_text()[-2000:]}") from None
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: the broker vanishes the way a crashed host does, mid-connection."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def is_down(self) -> bool:
        try:
            redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
        except redis.ConnectionError:
            return True
        return False


class FaultStack(WorkerStack):
    """A WorkerStack whose broker is a given URL (a PrivateRedis the test can kill)."""

    def __init__(self, kind: str, tmp_path: Path, database_url: str, broker_url: str, **config):
        self.kind = kind
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.broker_url = broker_url
        self.app = create_app(
            base_config(database_url, str(tmp_path), CELERY_BROKER_URL=broker_url, **config)
        )
        migrate_to_head(self.app)
        self.workers = []

    def pending_messages(self) -> int:
        client = redis.Redis.from_url(self.broker_url)
        queued = sum(client.llen(queue) for queue in ("routing", "notify", "default"))
        return queued + client.hlen("unacked")
