"""SQLite writers queue on a shared flock instead of sleeping in SQLite's busy handler."""

from __future__ import annotations

import fcntl
import sqlite3
import threading

from sqlalchemy import create_engine, text

from leadrouter.extensions import WriterQueuedConnection, tune_sqlite_engine


def _lock_is_free(path) -> bool:
    with open(path, "a") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(probe, fcntl.LOCK_UN)
        return True


def _engine(path):
    engine = create_engine(f"sqlite:///{path}", connect_args={"factory": WriterQueuedConnection})
    tune_sqlite_engine(engine)
    return engine


def test_a_second_writer_waits_for_the_first_to_commit_then_goes_at_once(tmp_path):
    engine = _engine(tmp_path / "app.sqlite")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    started, finished = threading.Event(), threading.Event()

    def second_writer():
        started.set()
        with engine.begin() as connection:  # joins the queue, then BEGIN IMMEDIATE
            connection.execute(text("INSERT INTO t VALUES (2)"))
        finished.set()

    with engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
        assert not _lock_is_free(tmp_path / "app.sqlite.writer-lock")  # held for the transaction
        thread = threading.Thread(target=second_writer)
        thread.start()
        started.wait(5)
        assert not finished.wait(0.3)  # queued behind the open transaction
    assert finished.wait(5)
    thread.join()
    assert _lock_is_free(tmp_path / "app.sqlite.writer-lock")  # and released after each commit
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1, 2]


def test_a_rollback_or_a_closed_connection_leaves_the_queue(tmp_path):
    path = tmp_path / "app.sqlite"
    first = sqlite3.connect(path, factory=WriterQueuedConnection, isolation_level=None)
    first.join_writer_queue()
    first.execute("BEGIN IMMEDIATE")
    first.rollback()
    second = sqlite3.connect(path, factory=WriterQueuedConnection, isolation_level=None)
    second.join_writer_queue()  # would block forever if the rollback had kept the lock
    second.close()
    first.join_writer_queue()  # and so would this, if close() had kept it
    first.close()


def test_an_in_memory_database_has_no_queue():
    connection = sqlite3.connect(":memory:", factory=WriterQueuedConnection)
    connection.join_writer_queue()
    connection.join_writer_queue()
    connection.close()
