"""The worker process: a Flask app context per task, a fresh pool per child, a clean session after."""

from __future__ import annotations

from celery.signals import task_postrun, worker_process_init

from leadrouter import create_app
from leadrouter.extensions import db
from workers.schedule import BEAT_SCHEDULE

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
celery_app.conf.beat_schedule = BEAT_SCHEDULE
celery_app.conf.imports = ("workers.tasks.routing", "workers.tasks.reports", "workers.tasks.diagnostics")


@worker_process_init.connect
def _reset_pool(**_kwargs) -> None:
    """Connections inherited from the parent across fork must not be shared."""
    with flask_app.app_context():
        db.engine.dispose(close=False)


@task_postrun.connect
def _remove_session(**_kwargs) -> None:
    with flask_app.app_context():
        db.session.remove()
