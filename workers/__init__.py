"""Celery entry point: `celery -A workers worker` and `celery -A workers beat`.

The Flask app is built lazily, so importing a task module does not read the environment.
"""


def __getattr__(name: str):
    if name in ("app", "celery"):
        from workers.celery_app import celery_app

        return celery_app
    raise AttributeError(name)
