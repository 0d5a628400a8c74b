"""WSGI entry point for gunicorn: `gunicorn --preload leadrouter.wsgi:app`.

With --preload the master imports the app once and the workers share those pages: PSS per
worker ~82 -> ~51 MB (bench/RESULTS.md, "Memory"). create_app() opens no connection, so
nothing the workers use is inherited across the fork.
"""

from leadrouter import create_app

app = create_app()
