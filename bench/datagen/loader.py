"""Write rows with COPY: the small tables from the main process, lead chunks from worker processes.

Each worker holds one connection and loads a chunk (leads first, then the rows that point
at them) in one transaction, so foreign keys and the partial unique index stay in force
during the load and a failed run leaves only whole chunks behind.
"""

from __future__ import annotations

import json
import os
import time
import traceback

import psycopg
from sqlalchemy.engine import make_url

from bench.datagen.render import TABLES, Renderer, at
from bench.datagen.world import MANAGERS, PARTNERS, TRACKING_NUMBERS, World, stable_hex

PEOPLE = {
    "users": (
        "id", "email", "name", "password_hash", "role", "active", "totp_secret", "session_version",
        "created_at", "last_login_at",
    ),
    "advisors": (
        "id", "user_id", "name", "email", "phone", "regions", "languages", "capacity", "open_leads",
        "status", "timezone", "shift_hours", "active", "last_assigned_at", "status_changed_at",
        "created_at", "updated_at",
    ),
    "api_keys": ("id", "name", "role", "prefix", "key_hash", "created_at", "last_used_at", "revoked_at"),
    "tracking_numbers": ("id", "number", "campaign", "created_at"),
}  # fmt: skip


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL (postgresql+psycopg://...) as a plain libpq URL for psycopg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def connect(url: str) -> psycopg.Connection:
    conn = psycopg.connect(libpq_url(url), autocommit=True)
    # Per session only: a crash loses at most the last chunks, which a rerun replaces anyway.
    conn.execute("SET synchronous_commit = off")
    return conn


def copy_rows(cursor: psycopg.Cursor, table: str, columns: tuple[str, ...], rows) -> int:
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def check_schema(conn: psycopg.Connection) -> list[str]:
    """Refuse to load when a NOT NULL column has no value and no default, or a column is gone."""
    problems = []
    rows = conn.execute(
        "SELECT table_name, column_name, is_nullable = 'YES', column_default IS NOT NULL"
        " FROM information_schema.columns WHERE table_schema = current_schema()"
    ).fetchall()
    schema: dict[str, dict[str, tuple[bool, bool]]] = {}
    for table, column, nullable, has_default in rows:
        schema.setdefault(table, {})[column] = (nullable, has_default)
    for table, columns in {**PEOPLE, **TABLES}.items():
        existing = schema.get(table)
        if existing is None:
            problems.append(f"table {table} does not exist")
            continue
        for column in columns:
            if column not in existing:
                problems.append(f"{table}.{column} is written by the generator but not in the database")
        for column, (nullable, has_default) in existing.items():
            if column not in columns and not nullable and not has_default:
                problems.append(
                    f"{table}.{column} is NOT NULL with no default and the generator does not fill it"
                )
    return problems


def app_tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        " AND table_type = 'BASE TABLE' AND table_name <> 'alembic_version' ORDER BY table_name"
    ).fetchall()
    return [row[0] for row in rows]


def truncate(conn: psycopg.Connection) -> None:
    tables = app_tables(conn)
    conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def load_people(conn: psycopg.Connection, world: World, now: float, on_shift_now: list[bool], rng) -> None:
    """Users, advisor profiles (open_leads is set once the leads are in), API keys, tracking numbers."""
    users, advisors = [], []
    for advisor, working in zip(world.advisors, on_shift_now, strict=True):
        last_login = now - rng.uniform(0.1, 30) * 3600 if advisor.active else advisor.left_at - 3600
        users.append(
            (
                advisor.user_id,
                advisor.email,
                advisor.name,
                world.password_hash,
                "advisor",
                advisor.active,
                None,
                1,
                at(advisor.created_at),
                at(last_login),
            )
        )
        status = "offline"
        if advisor.active and working:
            status = "available" if rng.random() < 0.8 else "busy"
        advisors.append(
            (
                advisor.id,
                advisor.user_id,
                advisor.name,
                advisor.email,
                advisor.phone,
                _json(advisor.regions),
                _json(advisor.languages),
                advisor.capacity,
                0,
                status,
                advisor.timezone,
                None if advisor.shift_hours is None else _json(advisor.shift_hours),
                advisor.active,
                None,
                at(now - rng.uniform(1, 240) * 60),
                at(advisor.created_at),
                at(now),
            )
        )
    first = len(world.advisors) + 1
    for offset in range(MANAGERS + 2):
        role = "manager" if offset < MANAGERS else "admin"
        number = offset + 1 if role == "manager" else offset - MANAGERS + 1
        users.append(
            (
                first + offset,
                f"{role}{number}@bench.leadrouter.test",
                f"{role.title()} {number}",
                world.password_hash,
                role,
                True,
                None,
                1,
                at(now - 800 * 86400),
                at(now - rng.uniform(0.1, 48) * 3600),
            )
        )
    keys = [
        (
            index,
            name,
            "partner",
            stable_hex("prefix", index, length=8),
            stable_hex("key", index, length=64),
            at(now - 400 * 86400),
            at(now - rng.uniform(1, 600)),
            None,
        )
        for index, name in enumerate(PARTNERS, start=1)
    ]
    numbers = [
        (index, number, campaign, at(now - 400 * 86400))
        for index, (number, campaign) in enumerate(TRACKING_NUMBERS, start=1)
    ]
    with conn.transaction(), conn.cursor() as cursor:
        for table, rows in (
            ("users", users),
            ("advisors", advisors),
            ("api_keys", keys),
            ("tracking_numbers", numbers),
        ):
            copy_rows(cursor, table, PEOPLE[table], rows)


def finish_advisors(conn: psycopg.Connection, state: list[tuple[int, float | None]]) -> None:
    """Set each advisor's open_leads and last_assigned_at to what the simulation ended with."""
    rows = [(index + 1, open_leads, at(last)) for index, (open_leads, last) in enumerate(state)]
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE advisor_load (id int, open_leads int, last_assigned_at timestamptz)"
        )
        copy_rows(cursor, "advisor_load", ("id", "open_leads", "last_assigned_at"), rows)
        cursor.execute(
            "UPDATE advisors a SET open_leads = l.open_leads, last_assigned_at = l.last_assigned_at"
            " FROM advisor_load l WHERE l.id = a.id"
        )
        cursor.execute("DROP TABLE advisor_load")


def reset_sequences(conn: psycopg.Connection) -> None:
    """Explicit ids were written: move each id sequence past the largest id."""
    tables = conn.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND column_name = 'id' AND column_default LIKE 'nextval(%%'"
    ).fetchall()
    for (table,) in tables:
        sequence = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,)).fetchone()
        conn.execute(
            f"SELECT setval(%s, COALESCE((SELECT max(id) FROM {table}), 1),"  # noqa: S608 (catalog names)
            f" (SELECT max(id) FROM {table}) IS NOT NULL)",
            (sequence[0],),
        )


def table_counts(conn: psycopg.Connection) -> dict[str, int]:
    return {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 (catalog names)
        for table in app_tables(conn)
    }


def backend_cpu_seconds(conn: psycopg.Connection) -> float | None:
    """CPU time of this connection's server process, when the server runs on this machine."""
    try:
        with open(f"/proc/{conn.info.backend_pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def skip_foreign_key_triggers(conn: psycopg.Connection) -> bool:
    """Skip the per-row foreign key triggers in this session only (superuser); orphans are checked after."""
    try:
        conn.execute("SET session_replication_role = replica")
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


def worker(url: str, world: World, seed: int, now: float, tasks, results, fast: bool) -> None:
    """Render and COPY chunks until the None sentinel; report counts and timings per chunk."""
    try:
        conn = connect(url)
        if fast:
            skip_foreign_key_triggers(conn)
        backend_before = backend_cpu_seconds(conn)
        while True:
            task = tasks.get()
            if task is None:
                backend_after = backend_cpu_seconds(conn)
                backend = None if backend_before is None else backend_after - backend_before
                results.put(("cpu", time.process_time(), backend))
                break
            index, plans = task
            started = time.perf_counter()
            rows = Renderer(world, seed, index, now).chunk(plans)
            rendered = time.perf_counter()
            with conn.transaction(), conn.cursor() as cursor:
                for table, columns in TABLES.items():
                    if rows[table]:
                        copy_rows(cursor, table, columns, rows[table])
            counts = {table: len(table_rows) for table, table_rows in rows.items()}
            results.put(
                ("done", index, len(plans), counts, rendered - started, time.perf_counter() - rendered)
            )
        conn.close()
    except BaseException:  # noqa: BLE001 (reported to the main process, which stops the run)
        results.put(("error", traceback.format_exc()))


def _json(value) -> str:
    return json.dumps(value)
