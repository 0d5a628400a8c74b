"""The embedded launcher restarts a process that died, and gives up on one that keeps dying."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from leadrouter.embedded import DEMO_REPORT_TIMEZONE, Supervisor, process_environment


def running_in_group(group: int) -> list[int]:
    """Pids of the group's processes still running (zombies awaiting their reaper do not count)."""
    running = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, process_group = fields[0], int(fields[2])
        if process_group == group and state != "Z":
            running.append(int(stat.parent.name))
    return running


def test_a_process_that_keeps_dying_is_restarted_up_to_the_limit_then_everything_stops(capsys, monkeypatch):
    monkeypatch.setattr(Supervisor, "RESTART_LIMIT", 2)
    crashing = [sys.executable, "-c", "import sys; sys.exit(3)"]
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    supervisor = Supervisor({"worker": crashing, "web": sleeper}, dict(os.environ))
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        assert supervisor.run() == 3
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])

    log = capsys.readouterr().err
    assert log.count("worker started (pid") == 3
    assert "restarting it (1 of 2 in 10 minutes)" in log
    assert "restarting it (2 of 2 in 10 minutes)" in log
    assert "it died 2 times in 10 minutes, stopping everything" in log
    assert supervisor.processes["web"].poll() is not None  # the others were stopped too


def test_a_killed_worker_is_started_again_and_the_others_keep_running(capsys):
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    # Like Celery's prefork worker: a main process with a child of its own.
    with_a_child = [
        sys.executable,
        "-c",
        "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)",
    ]
    supervisor = Supervisor({"web": sleeper, "worker": with_a_child}, dict(os.environ))
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    outcome = {}
    web_pid = []

    def kill_the_worker_then_stop():
        deadline = time.monotonic() + 10
        while len(supervisor.processes) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        first = supervisor.processes["worker"]
        web_pid.append(supervisor.processes["web"].pid)
        time.sleep(0.5)  # its child is running
        first.kill()
        while supervisor.processes["worker"] is first and time.monotonic() < deadline:
            time.sleep(0.05)
        outcome["restarted"] = supervisor.processes["worker"] is not first
        time.sleep(0.2)
        outcome["leftovers"] = running_in_group(first.pid)
        outcome["web_unchanged"] = supervisor.processes["web"].pid == web_pid[0]
        supervisor.stopping = True

    helper = threading.Thread(target=kill_the_worker_then_stop)
    helper.start()
    try:
        assert supervisor.run() == 0
    finally:
        helper.join()
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])

    assert outcome == {"restarted": True, "web_unchanged": True, "leftovers": []}
    log = capsys.readouterr().err
    assert f"exited with {-signal.SIGKILL}; restarting it (1 of 5 in 10 minutes)" in log
    assert log.count("worker started (pid") == 2
    assert all(process.poll() is not None for process in supervisor.processes.values())


def test_the_demo_reads_times_in_central_time_unless_report_timezone_is_set(tmp_path):
    demo = process_environment({"PATH": "/usr/bin"}, str(tmp_path))
    assert demo["REPORT_TIMEZONE"] == DEMO_REPORT_TIMEZONE == "America/Chicago"
    assert demo["LEADROUTER_INSTANCE_PATH"] == str(tmp_path) and demo["PATH"] == "/usr/bin"
    chosen = process_environment({"REPORT_TIMEZONE": "America/Denver"}, str(tmp_path))
    assert chosen["REPORT_TIMEZONE"] == "America/Denver"
