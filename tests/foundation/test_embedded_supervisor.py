"""The embedded launcher restarts a process that died, and gives up on one that keeps dying."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

from leadrouter.embedded import Supervisor


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
    supervisor = Supervisor({"web": sleeper, "worker": sleeper}, dict(os.environ))
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    outcome = {}
    web_pid = []

    def kill_the_worker_then_stop():
        deadline = time.monotonic() + 10
        while len(supervisor.processes) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        first = supervisor.processes["worker"]
        web_pid.append(supervisor.processes["web"].pid)
        first.kill()
        while supervisor.processes["worker"] is first and time.monotonic() < deadline:
            time.sleep(0.05)
        outcome["restarted"] = supervisor.processes["worker"] is not first
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

    assert outcome == {"restarted": True, "web_unchanged": True}
    log = capsys.readouterr().err
    assert f"exited with {-signal.SIGKILL}; restarting it (1 of 5 in 10 minutes)" in log
    assert log.count("worker started (pid") == 2
    assert all(process.poll() is not None for process in supervisor.processes.values())
