"""WSGI entry point for gunicorn: `gunicorn --preload leadrouter.wsgi:app`.

With --preload the master imports the app once and the workers share those pages: PSS per
worker ~82 -> ~51 MB (bench/RESULTS.md, "Memory"). create_app() opens no connection, so
nothing the workers use is inherited across the fork.

gc.freeze() then moves every object the import made (modules, the app, SQLAlchemy's
mappers) out of the collector's reach, as Python's gc docs advise before a fork: a full
collection no longer walks them, which was the 30-day report's tail at 1M leads (a
generation-2 collection: ~170 ms runs beside ~75 ms ones), and the workers' collections no
longer write to the pages they share with the master.
"""

import gc

from leadrouter import create_app

app = create_app()
gc.freeze()
