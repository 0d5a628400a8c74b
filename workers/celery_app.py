"""The worker process: a Flask app context per task, a fresh pool per child, a clean session after."""

from __future__ import annotations

import gc
import logging
import os

from celery import bootsteps
from celery.signals import task_postrun, task_prerun, worker_process_init
from sqlalchemy.exc import SQLAlchemyError

from leadrouter import create_app, tracing
from leadrouter.extensions import ROUTING_QUEUE, db
from leadrouter.worker_presence import forget_worker, record_heartbeat
from workers.schedule import beat_schedule

log = logging.getLogger("workers")

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
celery_app.conf.beat_schedule = beat_schedule(flask_app.config)
celery_app.conf.imports = ("workers.tasks.routing", "workers.tasks.reports", "workers.tasks.diagnostics")
# What the import made lives as long as the worker: out of the collector's full passes, and
# not written to by the pool processes' collections after the fork (see leadrouter/wsgi.py).
gc.freeze()


@worker_process_init.connect
def _reset_pool(**_kwargs) -> None:
    """Connections inherited from the parent across fork must not be shared."""
    with flask_app.app_context():
        db.engine.dispose(close=False)


@task_prerun.connect
def _begin_trace(task=None, **_kwargs) -> None:
    if flask_app.config["TRACE_SLOW_MS"] is not None:
        tracing.begin(f"task {getattr(task, 'name', '?')}")


@task_postrun.connect
def _remove_session(state=None, **_kwargs) -> None:
    with flask_app.app_context():
        db.session.remove()
    trace = tracing.current()
    if trace is not None:
        tracing.finish(trace, flask_app.config["TRACE_SLOW_MS"], str(state or ""))


class Heartbeat(bootsteps.StartStopStep):
    """While connected to the broker, the worker says which queues it consumes (for /readyz).

    A consumer step: Celery stops it when the broker connection is lost and starts it again
    once reconnected, so a worker cut off from its broker stops counting as alive.
    """

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, consumer, **_kwargs):
        self.timer_entry = None

    def start(self, consumer) -> None:
        queues = sorted(queue.name for queue in consumer.task_consumer.queues)
        log.info(
            "worker %s (pid %d) consumes the queues: %s", consumer.hostname, os.getpid(), ", ".join(queues)
        )
        if ROUTING_QUEUE not in queues:
            log.warning(
                "this worker does not consume the '%s' queue: leads are assigned only if another "
                "worker does (a plain `celery -A workers worker` consumes every queue)",
                ROUTING_QUEUE,
            )
        interval = flask_app.config["WORKER_HEARTBEAT_SECONDS"]
        self._beat(consumer.hostname, queues)
        self.timer_entry = consumer.timer.call_repeatedly(interval, self._beat, (consumer.hostname, queues))

    def stop(self, consumer) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None

    def shutdown(self, consumer) -> None:
        self.stop(consumer)
        self._write(forget_worker, consumer.hostname)

    def _beat(self, hostname: str, queues: list[str]) -> None:
        self._write(record_heartbeat, hostname, os.getpid(), queues)

    @staticmethod
    def _write(operation, *args) -> None:
        # The database may be down as well: the worker must go on; readiness will say so.
        with flask_app.app_context():
            try:
                operation(*args)
                db.session.commit()
            except SQLAlchemyError as error:
                db.session.rollback()
                log.warning("could not write the worker heartbeat (%s)", type(error).__name__)
            finally:
                db.session.remove()


celery_app.steps["consumer"].add(Heartbeat)
