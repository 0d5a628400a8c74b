"""WSGI entry point for gunicorn: `gunicorn leadrouter.wsgi:app`."""

from leadrouter import create_app

app = create_app()
