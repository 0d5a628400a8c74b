"""Leads and what hangs off them: consent, follow-ups and the timeline."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leadrouter.extensions import db
from leadrouter.models.base import JSONType, UTCDateTime, utcnow
from leadrouter.routing.vocabulary import URGENCIES

LEAD_SOURCES = ("web_form", "call", "voicemail", "sms", "api")
LEAD_STATUSES = (
    "new",
    "queued",
    "assigned",
    "contacted",
    "assessment",
    "referred",
    "admitted",
    "closed",
)
OPEN_STATUSES = ("new", "queued", "assigned", "contacted", "assessment")
# Sort key stored on the row so "most urgent first" is an index scan.
URGENCY_RANK = {urgency: rank for rank, urgency in enumerate(URGENCIES)}
SEVERITIES = ("none", "mild", "moderate", "severe")
# The substances a form or partner may name (SPEC §2b).
SUBSTANCES = (
    "heroin",
    "fentanyl",
    "prescription_opioids",
    "alcohol",
    "methamphetamine",
    "cocaine",
    "benzodiazepines",
    "other",
)
NOTHING_DUE = datetime(9999, 12, 31, tzinfo=UTC)


def _sql_in(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


def new_public_id() -> str:
    return uuid.uuid4().hex


class Lead(db.Model):
    __tablename__ = "leads"
    __table_args__ = (
        CheckConstraint(f"source IN ({_sql_in(LEAD_SOURCES)})", name="source"),
        CheckConstraint(f"status IN ({_sql_in(LEAD_STATUSES)})", name="status"),
        CheckConstraint(f"urgency IN ({_sql_in(URGENCIES)})", name="urgency"),
        CheckConstraint(f"severity IN ({_sql_in(SEVERITIES)})", name="severity"),
        CheckConstraint("for_whom IN ('self', 'loved_one')", name="for_whom"),
        CheckConstraint("urgency_score BETWEEN 0 AND 100", name="urgency_score_range"),
        # The advisor queue: my open leads, most urgent first, then by what is due next.
        Index("ix_leads_owner_queue", "owner_id", "is_open", "urgency_rank", "next_due_at", "id"),
        # The routing queue and the sweep of never-routed leads.
        Index("ix_leads_waiting", "status", "urgency_rank", "created_at"),
        # Deduplication: the same phone within 24 h.
        Index("ix_leads_phone_created", "phone", "created_at"),
        # Date ranges; INCLUDE carries what the routing report reads (index-only on PostgreSQL).
        Index(
            "ix_leads_created_at",
            "created_at",
            postgresql_include=[
                "id",
                "source",
                "region",
                "urgency",
                "status",
                "closed_reason",
                "is_open",
                "owner_id",
                "first_contact_at",
                "sla_due_at",
                "escalated_at",
            ],
        ),
        Index("ix_leads_sla_due", "is_open", "first_contact_at", "sla_due_at"),
        # What changed since the report rollups were refreshed, and which hour it was created in.
        Index("ix_leads_updated_at", "updated_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="new")
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    closed_reason: Mapped[str | None] = mapped_column(String(64))

    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    for_whom: Mapped[str] = mapped_column(String(16), default="self")
    patient_name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8), default="en")
    preferred_time: Mapped[str | None] = mapped_column(String(120))
    contact_preferences: Mapped[dict] = mapped_column(JSONType, default=dict)
    message: Mapped[str | None] = mapped_column(Text)

    state: Mapped[str | None] = mapped_column(String(2))
    zip: Mapped[str | None] = mapped_column(String(5))
    city: Mapped[str | None] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(2), index=True)
    region_source: Mapped[str] = mapped_column(String(24), default="unknown")
    timezone: Mapped[str | None] = mapped_column(String(64))

    substances: Mapped[list] = mapped_column(JSONType, default=list)
    dsm_criteria: Mapped[list] = mapped_column(JSONType, default=list)
    severity: Mapped[str] = mapped_column(String(16), default="none")
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    urgency_rank: Mapped[int] = mapped_column(SmallInteger, default=2)
    urgency_score: Mapped[int] = mapped_column(SmallInteger, default=30)
    urgency_reasons: Mapped[list] = mapped_column(JSONType, default=list)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)

    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    unknown_caller: Mapped[bool] = mapped_column(Boolean, default=False)

    page_url: Mapped[str | None] = mapped_column(String(2000))
    referrer: Mapped[str | None] = mapped_column(String(2000))
    utm: Mapped[dict] = mapped_column(JSONType, default=dict)
    campaign: Mapped[str | None] = mapped_column(String(200), index=True)

    owner_id: Mapped[int | None] = mapped_column(ForeignKey("advisors.id"))
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The first-contact time told to the person; never moved once set (sla_due_at may be).
    promised_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the owner must do next, and by when: first contact, then the next follow-up.
    # Never NULL (NOTHING_DUE sorts last) so the queue can page with a plain keyset.
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=lambda: NOTHING_DUE)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reassignment_count: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    routing_trace: Mapped[dict | None] = mapped_column(JSONType)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_touch_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner = relationship("Advisor", foreign_keys=[owner_id])
    consent_records = relationship("ConsentRecord", order_by="ConsentRecord.id.desc()", viewonly=True)
    events = relationship("Event", order_by="Event.at", viewonly=True)
    follow_ups = relationship("FollowUp", order_by="FollowUp.due_at", viewonly=True)

    @hybrid_property
    def first_contact_due(self) -> datetime | None:
        """When first contact is due by the promise made to the person (older leads: the SLA).

        Every overdue mark, count and SLA figure reads this one expression, so a count always
        agrees with the rows it sums; `sla_due_at` is only the current owner's working deadline.
        """
        return self.promised_contact_at or self.sla_due_at

    @first_contact_due.inplace.expression
    @classmethod
    def _first_contact_due_expression(cls):
        return func.coalesce(cls.promised_contact_at, cls.sla_due_at)

    @property
    def consent(self):
        """The latest consent record (a later form can withdraw an earlier yes), or None."""
        return self.consent_records[0] if self.consent_records else None

    def set_urgency(self, level: str, score: int, reasons, emergency: bool) -> None:
        self.urgency = level
        self.urgency_rank = URGENCY_RANK[level]
        self.urgency_score = score
        self.urgency_reasons = list(reasons)
        self.emergency = emergency

    def set_status(self, status: str) -> None:
        self.status = status
        self.is_open = status in OPEN_STATUSES


class ConsentRecord(db.Model):
    """Exactly what the person agreed to, when, and from where."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    given: Mapped[bool] = mapped_column(Boolean)
    text: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(String(32))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    page_url: Mapped[str | None] = mapped_column(String(2000))
    source: Mapped[str] = mapped_column(String(16), default="web_form")


class FollowUp(db.Model):
    __tablename__ = "follow_ups"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'done', 'cancelled')", name="status"),
        Index("ix_follow_ups_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("advisors.id"))
    kind: Mapped[str] = mapped_column(String(16), default="callback")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set only when the person asked for a time outside the contact window.
    requested_time_note: Mapped[str | None] = mapped_column(String(200))


class Event(db.Model):
    """One entry on a lead's timeline."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_lead_at", "lead_id", "at"),
        Index("ix_events_type_at", "type", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64), default="system")
    detail: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Twilio retries callbacks; one CallSid/MessageSid-derived key makes a second delivery a no-op.
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
