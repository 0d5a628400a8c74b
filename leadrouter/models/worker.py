"""Which Celery workers are alive, and which queues they consume (their heartbeats)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from leadrouter.extensions import db
from leadrouter.models.base import UTCDateTime


class WorkerHeartbeat(db.Model):
    """One row per worker, refreshed while it is connected to the broker."""

    __tablename__ = "worker_heartbeats"

    hostname: Mapped[str] = mapped_column(String(255), primary_key=True)
    pid: Mapped[int] = mapped_column(Integer)
    # Comma-framed (",default,notify,routing,") so one LIKE finds the consumers of a queue.
    queues: Mapped[str] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
