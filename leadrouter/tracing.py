"""Opt-in timings of slow requests and tasks: each SQL statement, Redis call, lock wait and GC pause.

Set LEADROUTER_TRACE_SLOW_MS=N and every request (or Celery task) that takes N ms or more
writes one line to the `leadrouter.slow` log: its total, then each step it waited on, in
order, with its offset and duration, and how much of the total no step explains (Python
CPU, or the process waiting for a core). Statements are logged as SQL text without their
parameters, Redis calls by command name only: no name or phone number reaches the log.

Off (the default) nothing is installed: no event listener, no wrapper, no cost.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from dataclasses import dataclass, field

log = logging.getLogger("leadrouter.slow")
_local = threading.local()
_installed = False
_install_lock = threading.Lock()
_FIRST = "leadrouter_trace_first_statement"


@dataclass
class Trace:
    """The steps of one request or task, as offsets and durations from its start (seconds)."""

    name: str
    began: float = field(default_factory=time.perf_counter)
    steps: list[tuple[str, str, float, float]] = field(default_factory=list)  # kind, what, offset, seconds

    def add(self, kind: str, what: str, started: float, seconds: float) -> None:
        self.steps.append((kind, what, started - self.began, seconds))

    def summary(self, total: float, status: str = "") -> dict:
        """What the log line says: total, the steps, and the share no step explains."""
        explained = sum(seconds for _kind, _what, _offset, seconds in self.steps)
        by_kind: dict[str, list[float]] = {}
        for kind, _what, _offset, seconds in self.steps:
            by_kind.setdefault(kind, []).append(seconds)
        return {
            "what": self.name,
            "status": status,
            "total_ms": round(total * 1000, 2),
            "unexplained_ms": round(max(0.0, total - explained) * 1000, 2),
            "by_kind": {
                kind: {"count": len(values), "ms": round(sum(values) * 1000, 2)}
                for kind, values in sorted(by_kind.items())
            },
            "steps": [
                {"kind": kind, "what": what, "at_ms": round(offset * 1000, 2), "ms": round(seconds * 1000, 3)}
                for kind, what, offset, seconds in self.steps
            ],
        }


def current() -> Trace | None:
    return getattr(_local, "trace", None)


def begin(name: str) -> Trace:
    """Start collecting this thread's steps."""
    trace = _local.trace = Trace(name)
    return trace


def finish(trace: Trace, threshold_ms: float, status: str = "") -> None:
    """Stop collecting; log the steps if the work took threshold_ms or more."""
    _local.trace = None
    total = time.perf_counter() - trace.began
    if total * 1000 >= threshold_ms:
        log.warning("slow %s", json.dumps(trace.summary(total, status), sort_keys=True))


def statement_label(statement: str) -> tuple[str, str]:
    """The kind of a SQL step (a lock wait is named apart) and its text, shortened, on one line."""
    text = " ".join(statement.split())
    upper = text.upper()
    kind = "sql"
    if "PG_ADVISORY" in upper or "FOR UPDATE" in upper or upper.startswith("BEGIN IMMEDIATE"):
        kind = "lock"
    elif upper.startswith(("COMMIT", "ROLLBACK")):
        kind = "commit"
    return kind, text[:200]


# --- the hooks, installed once per process when tracing is on ------------------------------


def install(threshold_ms: float) -> None:
    """Install the SQLAlchemy, Redis, SQLite writer-lock and GC hooks (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        _installed = True
    _install_sqlalchemy()
    _install_redis()
    _install_sqlite_writer_queue()
    gc.callbacks.append(_gc_callback)
    log.warning("tracing requests and tasks slower than %s ms (LEADROUTER_TRACE_SLOW_MS)", threshold_ms)


def _install_sqlalchemy() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def begin(conn):
        conn.info[_FIRST] = True

    def before(conn, _cursor, _statement, _parameters, context, _executemany):
        if current() is not None and context is not None:
            context._leadrouter_trace_started = time.perf_counter()

    def after(conn, _cursor, statement, _parameters, context, _executemany):
        trace = current()
        started = getattr(context, "_leadrouter_trace_started", None)
        if trace is not None and started is not None:
            kind, what = statement_label(statement)
            if conn.info.pop(_FIRST, False):
                # psycopg sends BEGIN just before a transaction's first statement: its round
                # trip (and the server process waking up) is timed in this step.
                what = "(+BEGIN) " + what
            trace.add(kind, what, started, time.perf_counter() - started)

    event.listen(Engine, "begin", begin)
    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    _wrap_commit_and_rollback()


def _wrap_commit_and_rollback() -> None:
    """COMMIT and ROLLBACK go through the DBAPI connection, not a cursor: time them around it."""
    from sqlalchemy.engine import default

    for name in ("do_commit", "do_rollback"):
        original = getattr(default.DefaultDialect, name)

        def timed(self, dbapi_connection, _original=original, _name=name):
            trace = current()
            if trace is None:
                return _original(self, dbapi_connection)
            started = time.perf_counter()
            try:
                return _original(self, dbapi_connection)
            finally:
                trace.add("commit", _name.removeprefix("do_").upper(), started, time.perf_counter() - started)

        setattr(default.DefaultDialect, name, timed)


def _install_redis() -> None:
    import redis.client

    original_command = redis.client.Redis.execute_command
    original_pipeline = redis.client.Pipeline.execute

    def execute_command(self, *args, **options):
        trace = current()
        if trace is None or isinstance(self, redis.client.Pipeline):
            return original_command(self, *args, **options)
        started = time.perf_counter()
        try:
            return original_command(self, *args, **options)
        finally:
            trace.add("redis", str(args[0]) if args else "?", started, time.perf_counter() - started)

    def execute(self, *args, **kwargs):
        trace = current()
        if trace is None:
            return original_pipeline(self, *args, **kwargs)
        names = ",".join(str(command[0][0]) for command in self.command_stack[:8])
        started = time.perf_counter()
        try:
            return original_pipeline(self, *args, **kwargs)
        finally:
            trace.add("redis", f"pipeline {names}", started, time.perf_counter() - started)

    redis.client.Redis.execute_command = execute_command
    redis.client.Pipeline.execute = execute


def _install_sqlite_writer_queue() -> None:
    from leadrouter.extensions import WriterQueuedConnection

    original = WriterQueuedConnection.join_writer_queue

    def join_writer_queue(self):
        trace = current()
        if trace is None:
            return original(self)
        started = time.perf_counter()
        try:
            return original(self)
        finally:
            trace.add("lock", "SQLite writer queue (flock)", started, time.perf_counter() - started)

    WriterQueuedConnection.join_writer_queue = join_writer_queue


def _gc_callback(phase: str, info: dict) -> None:
    trace = current()
    if trace is None:
        return
    if phase == "start":
        _local.gc_started = time.perf_counter()
    elif getattr(_local, "gc_started", None) is not None:
        started, _local.gc_started = _local.gc_started, None
        trace.add("gc", f"generation {info.get('generation')}", started, time.perf_counter() - started)


# --- where requests and tasks are wrapped ----------------------------------------------------


class SlowRequestTracer:
    """WSGI middleware: the whole request, response body included, inside one trace."""

    def __init__(self, wsgi_app, threshold_ms: float):
        self.wsgi_app = wsgi_app
        self.threshold_ms = threshold_ms

    def __call__(self, environ, start_response):
        # The path only: a query string may carry what a person typed.
        trace = begin(f"{environ.get('REQUEST_METHOD', '?')} {environ.get('PATH_INFO', '?')}")
        status = ["500"]

        def recording_start_response(status_line, headers, *args):
            status[0] = status_line.split(" ", 1)[0]
            return start_response(status_line, headers, *args)

        try:
            body = self.wsgi_app(environ, recording_start_response)
        except BaseException:
            finish(trace, self.threshold_ms, status[0])
            raise
        return _TracedBody(body, lambda: finish(trace, self.threshold_ms, status[0]))


class _TracedBody:
    """The response body, streamed as it was; the trace ends when the server closes it."""

    def __init__(self, body, on_close):
        self.body, self.on_close = body, on_close

    def __iter__(self):
        return iter(self.body)

    def close(self) -> None:
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            self.on_close()


def init_app(app) -> None:
    """Trace the app's slow requests when TRACE_SLOW_MS is set; otherwise do nothing at all."""
    threshold = app.config.get("TRACE_SLOW_MS")
    if threshold is None:
        return
    install(threshold)
    app.wsgi_app = SlowRequestTracer(app.wsgi_app, threshold)
