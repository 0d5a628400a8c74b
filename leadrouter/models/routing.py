"""Routing decisions, the ownership history they produce, and the notification outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, event, text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from leadrouter.extensions import db
from leadrouter.models.base import JSONType, UTCDateTime, utcnow
from leadrouter.models.lead import Lead


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


@event.listens_for(Session, "before_flush")
def _touch_the_leads_of_changed_assignments(session: Session, _flush_context, _instances) -> None:
    """An assignment written or changed writes its lead's row too (`leads.updated_at` moves).

    The report rollups find the hours to recompute by `leads.updated_at` (reports/rollups.py),
    and an assignment moves report numbers (reassignments, assignment latency, who held the
    lead at first contact) even when nothing on the lead changes: a lead reassigned to the
    advisor who already owns it keeps its `owner_id`.
    """
    lead_ids = {
        instance.lead_id
        for instance in (*session.new, *session.dirty)
        if isinstance(instance, Assignment)
        and instance.lead_id is not None
        and (instance in session.new or session.is_modified(instance, include_collections=False))
    }
    if not lead_ids:
        return
    now = utcnow()
    with session.no_autoflush:
        for lead_id in lead_ids:
            lead = session.get(Lead, lead_id)
            if lead is not None:
                lead.updated_at = now


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
