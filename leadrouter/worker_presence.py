"""Worker heartbeats: each worker says which queues it consumes; /readyz asks who consumes routing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from leadrouter.extensions import ROUTING_QUEUE, db
from leadrouter.models import WorkerHeartbeat, utcnow

# A worker that missed this many heartbeats in a row is presumed gone.
MISSED_HEARTBEATS = 3
# Rows of workers gone this long are removed by the next heartbeat of any worker.
FORGET_AFTER = timedelta(days=1)


def record_heartbeat(hostname: str, pid: int, queues: list[str], now: datetime | None = None) -> None:
    """Refresh this worker's row (flushes; the caller commits)."""
    now = now or utcnow()
    framed = "," + ",".join(sorted(queues)) + ","
    changed = db.session.execute(
        update(WorkerHeartbeat)
        .where(WorkerHeartbeat.hostname == hostname)
        .values(pid=pid, queues=framed, seen_at=now)
    ).rowcount
    if not changed:
        db.session.add(
            WorkerHeartbeat(hostname=hostname, pid=pid, queues=framed, started_at=now, seen_at=now)
        )
    db.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < now - FORGET_AFTER))
    db.session.flush()


def forget_worker(hostname: str) -> None:
    """A worker shutting down cleanly takes its row with it (flushes; the caller commits)."""
    db.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.hostname == hostname))


def queue_consumers(
    queue: str, heartbeat_seconds: int, now: datetime | None = None
) -> tuple[int, datetime | None]:
    """How many live workers consume the queue, and when one was last heard from (live or not)."""
    now = now or utcnow()
    consumes = WorkerHeartbeat.queues.like(f"%,{queue},%")
    live_since = now - timedelta(seconds=heartbeat_seconds * MISSED_HEARTBEATS)
    live = db.session.scalar(
        select(func.count())
        .select_from(WorkerHeartbeat)
        .where(consumes, WorkerHeartbeat.seen_at >= live_since)
    )
    last_seen = db.session.scalar(select(func.max(WorkerHeartbeat.seen_at)).where(consumes))
    return live or 0, last_seen


def routing_workers_warning(heartbeat_seconds: int, now: datetime | None = None) -> str | None:
    """None when a worker consumes the routing queue; else what an operator needs to read."""
    now = now or utcnow()
    live, last_seen = queue_consumers(ROUTING_QUEUE, heartbeat_seconds, now)
    if live:
        return None
    window = heartbeat_seconds * MISSED_HEARTBEATS
    if last_seen is None:
        return (
            f"no worker consuming the '{ROUTING_QUEUE}' queue has ever been seen: new leads wait "
            "unassigned (start `celery -A workers worker`)"
        )
    ago = int((now - last_seen).total_seconds())
    return (
        f"no worker consuming the '{ROUTING_QUEUE}' queue in the last {window} s "
        f"(last seen {ago} s ago): new leads wait unassigned"
    )
