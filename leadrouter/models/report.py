"""The routing report's rollups: a stored partial per UTC hour and scope, kept by the workers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from leadrouter.extensions import db
from leadrouter.models.base import UTCDateTime


class ReportHour(db.Model):
    """One UTC hour whose partials are stored: when they were computed, and until when they hold.

    A row exists for every hour the workers have covered, leads or not, so a report can
    tell an empty hour from one nobody computed yet.
    """

    __tablename__ = "report_hours"
    __table_args__ = (Index("ix_report_hours_stale_at", "stale_at"),)

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)  # wall clock of the refresh
    computed_for: Mapped[datetime] = mapped_column(UTCDateTime)  # the "now" its SLA states are for
    # The earliest due time of a lead counted as pending: after it, the hour must be recomputed.
    stale_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReportPartial(db.Model):
    """The partial (see leadrouter/reports/partials.py) of one scope's leads created in one
    UTC hour (span 1) or one UTC day (span 24, the merge of its hours; not kept per advisor)."""

    __tablename__ = "report_partials"

    scope: Mapped[str] = mapped_column(String(48), primary_key=True)
    span_hours: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class ReportRollupState(db.Model):
    """How far the rollups are known to be current: every lead change before `covered_until`
    is in the stored partials; later ones are found by `leads.updated_at`."""

    __tablename__ = "report_rollup_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    covered_until: Mapped[datetime] = mapped_column(UTCDateTime)
    filled_until: Mapped[datetime] = mapped_column(UTCDateTime)  # hours before it all have a ReportHour
