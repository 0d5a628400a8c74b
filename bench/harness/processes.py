"""Processes the benchmark starts, and what it reads about them (memory, CPU, ports, logs)."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.harness.common import CLOCK_TICKS, ROOT

# --- processes -------------------------------------------------------------------------------


class Processes:
    """Every process this run starts, each in its own process group, and the one way they stop.

    Use it as a context manager around the whole run: inside it SIGINT (Ctrl-C), SIGTERM and
    SIGHUP raise KeyboardInterrupt, and leaving it (normally, on an error or on any of those
    signals) stops every group it started, with its children: gunicorn workers, Celery pool
    processes, generate_data.py's COPY workers. A second Ctrl-C during that cleanup is ignored
    so the cleanup finishes.
    """

    STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.running: dict[str, subprocess.Popen] = {}
        self._previous_handlers: dict[int, object] = {}
        atexit.register(self.stop_all)

    def __enter__(self) -> Processes:
        # Ctrl-C raises KeyboardInterrupt even when the run was started with SIGINT ignored (a
        # shell script's `&` does that): the default handler, which asyncio.run also recognises.
        self._previous_handlers[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
        for signum in (signal.SIGTERM, signal.SIGHUP):
            self._previous_handlers[signum] = signal.signal(signum, _interrupt)
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop_all()
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        self._previous_handlers.clear()

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        if name in self.running:
            self.stop(name)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.running[name] = process
        return process

    def run(self, name: str, command: list[str], env: dict, timeout: float) -> None:
        """Run a command to its end in its own group (logged to <name>.log); raise if it fails.

        Interrupted or timed out, it is stopped with everything it started.
        """
        process = self.start(name, command, env)
        try:
            returncode = process.wait(timeout=timeout)
        finally:
            self.stop(name)
        if returncode != 0:
            raise subprocess.CalledProcessError(returncode, command, f"see {self.log_dir / (name + '.log')}")

    def stop(self, name: str, timeout: float = 20) -> None:
        process = self.running.get(name)
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        # Children (gunicorn workers, Celery pool processes, COPY workers) share the group we
        # created: whatever is left of it goes now, also when the leader had already exited.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        # Forgotten only once stopped: interrupted on the way, stop_all still has it.
        self.running.pop(name, None)

    def stop_all(self) -> None:
        """Stop every group, the last started first, with Ctrl-C and SIGTERM ignored meanwhile."""
        if not self.running:
            return
        ignored = {}
        if threading.current_thread() is threading.main_thread():
            for signum in self.STOP_SIGNALS:
                ignored[signum] = signal.signal(signum, signal.SIG_IGN)
        try:
            for name in reversed(list(self.running)):
                self.stop(name)
        finally:
            for signum, handler in ignored.items():
                signal.signal(signum, handler)


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


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


def parse_smaps_rollup(text: str) -> dict[str, float]:
    """RSS, PSS and USS in MB from /proc/<pid>/smaps_rollup.

    RSS counts every resident page, shared or not; PSS divides each shared page among the
    processes sharing it (what the process really costs the machine, added up across workers);
    USS is its private pages only (what its exit would free).
    """
    kib: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            kib[name.strip()] = int(parts[0])
    return {
        "rss": kib.get("Rss", 0) / 1024,
        "pss": kib.get("Pss", 0) / 1024,
        "uss": (kib.get("Private_Clean", 0) + kib.get("Private_Dirty", 0)) / 1024,
    }


def memory_mb(pid: int) -> dict[str, float] | None:
    """RSS, PSS and USS of a process in MB, or None when it is gone."""
    try:
        return parse_smaps_rollup(Path(f"/proc/{pid}/smaps_rollup").read_text())
    except OSError:
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
