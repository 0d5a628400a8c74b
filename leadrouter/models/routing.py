"""Routing decisions, the ownership history they produce, and the notification outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leadrouter.extensions import db
from leadrouter.models.base import JSONType, UTCDateTime, utcnow


class RoutingDecision(db.Model):
    """Every decision the engine made, including 'queue', with its full trace."""

    __tablename__ = "routing_decisions"
    __table_args__ = (Index("ix_routing_decisions_lead", "lead_id", "decided_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("advisors.id"))
    outcome: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    trace: Mapped[dict] = mapped_column(JSONType)
    trigger: Mapped[str] = mapped_column(String(32), default="intake")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Assignment(db.Model):
    """One period of ownership of a lead by an advisor."""

    __tablename__ = "assignments"
    __table_args__ = (
        # At most one current owner per lead, enforced by the database itself.
        Index(
            "uq_assignments_current_owner",
            "lead_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
        Index("ix_assignments_advisor_started", "advisor_id", "started_at"),
        # INCLUDE: the routing report reads a range's assignments index-only on PostgreSQL.
        Index(
            "ix_assignments_started",
            "started_at",
            postgresql_include=["lead_id", "advisor_id", "kind", "ended_at"],
        ),
        Index("ix_assignments_lead_started", "lead_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    advisor_id: Mapped[int] = mapped_column(ForeignKey("advisors.id"))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("routing_decisions.id"))
    kind: Mapped[str] = mapped_column(String(16), default="assigned")
    reason: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(64), default="system")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(200))

    advisor = relationship("Advisor")
    decision = relationship("RoutingDecision")


class Notification(db.Model):
    """Outbox row written before any Twilio call, so a retried task never texts twice."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("assignment_id", "channel", name="uq_notifications_assignment_channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
