"""LEADROUTER_TRACE_SLOW_MS: slow requests log each SQL statement, Redis call, lock wait and GC pause.

Each case runs in a fresh interpreter: tracing installs process-wide hooks once, and the
point of the "off" case is that a process without the setting never installs any.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import gc, json, logging, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine

records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(record.getMessage())
logging.getLogger("leadrouter.slow").addHandler(Keep())

from flask_migrate import upgrade
from leadrouter import create_app, tracing
from leadrouter.auth.api_keys import issue_api_key
from leadrouter.extensions import db

instance = sys.argv[1]
app = create_app({
    "TESTING": True,
    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/leadrouter.sqlite",
    "CELERY_BROKER_URL": "memory://",
    "INSTANCE_PATH": instance,
    "SECRET_KEY": "test-secret-key-0123456789",
    "RATELIMIT_ENABLED": False,
})
with app.app_context():
    upgrade()
    _, raw = issue_api_key("partner", "Traced partner")
    db.session.commit()
client = app.test_client()
response = client.post(
    "/api/v1/leads",
    json={"name": "Robin Tracewell", "phone": "+15125550188", "state": "TX"},
    headers={"Authorization": f"Bearer {raw}"},
)
response.close()  # as a WSGI server does once the body is sent: the trace ends there
print(json.dumps({
    "status": response.status_code,
    "installed": tracing._installed,
    "wrapped": isinstance(app.wsgi_app, tracing.SlowRequestTracer),
    "gc_hook": tracing._gc_callback in gc.callbacks,
    "records": records,
}))
"""


def run(tmp_path, **env) -> dict:
    environment = {k: v for k, v in os.environ.items() if k != "LEADROUTER_TRACE_SLOW_MS"}
    environment.update(env, PYTHONPATH=str(ROOT))
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"):
        environment.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_the_setting_nothing_is_installed_and_nothing_logged(tmp_path):
    outcome = run(tmp_path)

    assert outcome["status"] == 201
    assert not outcome["installed"] and not outcome["wrapped"] and not outcome["gc_hook"]
    assert outcome["records"] == []


def test_a_request_over_the_threshold_logs_each_statement_and_lock_wait_without_personal_data(tmp_path):
    outcome = run(tmp_path, LEADROUTER_TRACE_SLOW_MS="0")

    assert outcome["status"] == 201 and outcome["installed"] and outcome["wrapped"]
    [line] = [record for record in outcome["records"] if record.startswith("slow ")]
    trace = json.loads(line.removeprefix("slow "))
    assert trace["what"] == "POST /api/v1/leads" and trace["status"] == "201"
    statements = [step["what"] for step in trace["steps"] if step["kind"] == "sql"]
    assert any(statement.startswith("INSERT INTO leads") for statement in statements)
    # SQLite's one writer: the wait for the write lock is a step of its own, then COMMIT.
    kinds = [step["kind"] for step in trace["steps"]]
    assert "lock" in kinds and kinds[-1] == "commit"
    assert trace["by_kind"]["sql"]["count"] == len(statements)
    steps_ms = sum(step["ms"] for step in trace["steps"])
    assert steps_ms <= trace["total_ms"] + 0.01
    assert abs(trace["total_ms"] - steps_ms - trace["unexplained_ms"]) < 0.1
    # Statement text only, never the bound values.
    assert "Tracewell" not in line and "5550188" not in line


def test_a_request_under_the_threshold_logs_nothing(tmp_path):
    outcome = run(tmp_path, LEADROUTER_TRACE_SLOW_MS="60000")

    assert outcome["installed"]
    assert [record for record in outcome["records"] if record.startswith("slow ")] == []


def test_lock_waits_and_commits_are_named_apart_from_other_statements():
    from leadrouter.tracing import statement_label

    assert statement_label("SELECT pg_advisory_xact_lock(%(key)s)")[0] == "lock"
    locking = "SELECT leads.id FROM leads\n  WHERE leads.id IN (1) FOR UPDATE SKIP LOCKED"
    assert statement_label(locking)[0] == "lock"
    assert statement_label("BEGIN IMMEDIATE")[0] == "lock"
    assert statement_label("INSERT INTO leads (name) VALUES (%(name)s)") == (
        "sql",
        "INSERT INTO leads (name) VALUES (%(name)s)",
    )
    assert len(statement_label("SELECT " + "x, " * 200 + "y FROM t")[1]) == 200


def test_the_summary_adds_the_steps_by_kind_and_says_what_no_step_explains():
    from leadrouter.tracing import Trace

    trace = Trace("POST /api/v1/leads", began=100.0)
    trace.add("sql", "INSERT INTO leads …", 100.001, 0.002)
    trace.add("redis", "EVALSHA", 100.004, 0.001)
    trace.add("sql", "INSERT INTO events …", 100.006, 0.003)

    summary = trace.summary(total=0.010, status="201")

    assert summary["total_ms"] == 10.0 and summary["unexplained_ms"] == 4.0
    assert summary["by_kind"] == {"redis": {"count": 1, "ms": 1.0}, "sql": {"count": 2, "ms": 5.0}}
    assert [step["at_ms"] for step in summary["steps"]] == [1.0, 4.0, 6.0]
