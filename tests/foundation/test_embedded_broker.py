"""The embedded SQLite broker survives its file being locked for a while, or removed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from kombu import Connection

import leadrouter.broker  # noqa: F401  (the tuned transport behind sqla+sqlite://)

PUBLISH = """
import sys
from kombu import Connection
import leadrouter.broker
with Connection(sys.argv[1]) as connection:
    connection.SimpleQueue("routing").put({"n": int(sys.argv[2])})
"""


def publish_from_another_process(url: str, number: int) -> None:
    """As the web does: its own process, its own connection to whatever file is at the path."""
    subprocess.run([sys.executable, "-c", PUBLISH, url, str(number)], check=True, timeout=60)


def receive(queue) -> int:
    message = queue.get(timeout=5)
    message.ack()
    return message.payload["n"]


def test_a_consumer_follows_a_broker_file_that_was_removed(tmp_path):
    broker = tmp_path / "broker.sqlite"
    url = f"sqla+sqlite:///{broker}"
    with Connection(url) as connection:
        queue = connection.SimpleQueue("routing")
        publish_from_another_process(url, 1)
        assert receive(queue) == 1

        for suffix in ("", "-wal", "-shm"):
            Path(f"{broker}{suffix}").unlink(missing_ok=True)
        publish_from_another_process(url, 2)

        assert receive(queue) == 2
        assert broker.exists()


def test_a_consumer_waits_out_a_broker_file_locked_for_a_few_seconds(tmp_path):
    broker = tmp_path / "broker.sqlite"
    url = f"sqla+sqlite:///{broker}"
    with Connection(url) as connection:
        queue = connection.SimpleQueue("routing")
        publish_from_another_process(url, 1)
        locker = sqlite3.connect(broker, isolation_level=None, check_same_thread=False)
        locker.execute("BEGIN EXCLUSIVE")
        release = threading.Timer(3, lambda: locker.execute("COMMIT"))
        release.start()
        try:
            assert receive(queue) == 1
        finally:
            release.join()
            locker.close()
