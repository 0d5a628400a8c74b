"""The broker floor: a no-op Celery task on the same broker and worker settings as leadrouter.

    celery -A bench.floor_tasks worker --queues bench --concurrency 2    (environment as for leadrouter)

The benchmark publishes ``bench.noop`` with the time it meant to send it; the task appends
(sent, started) to BENCH_FLOOR_OUT, so publish -> a worker runs it is measured on exactly
the path a routing task takes. The task is registered only here, never in leadrouter.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from celery import Celery

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leadrouter.config import load_settings  # noqa: E402
from leadrouter.extensions import celery_settings  # noqa: E402

app = Celery("bench_floor")
app.config_from_object(
    {
        # The broker leadrouter itself would use: CELERY_BROKER_URL, or the embedded default.
        **celery_settings({"CELERY_BROKER_URL": load_settings()["CELERY_BROKER_URL"]}),
        "task_routes": {"bench.*": {"queue": "bench"}},
        "task_default_queue": "bench",
    }
)


@app.task(name="bench.noop", ignore_result=True)
def noop(sent_at: float) -> None:
    """Do nothing but note when it ran."""
    started = time.time()
    out = os.environ.get("BENCH_FLOOR_OUT")
    if out:
        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{sent_at!r}\t{started!r}\n".encode())
        finally:
            os.close(fd)
