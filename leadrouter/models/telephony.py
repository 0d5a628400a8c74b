"""Calls, recordings and text messages, keyed by Twilio's own ids."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, ForeignKey, Index, Integer, String, Text, and_, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leadrouter.extensions import db
from leadrouter.models.base import UTCDateTime, utcnow
from leadrouter.routing.calls import LIVE_CALL_HOLDS_FOR

# Twilio can deliver status callbacks out of order; a status never moves backwards.
CALL_STATUS_ORDER = {
    "queued": 0,
    "initiated": 1,
    "ringing": 2,
    "in-progress": 3,
    "answered": 3,
    "completed": 4,
    "busy": 4,
    "no-answer": 4,
    "canceled": 4,
    "failed": 4,
}


# A literal, not a bound parameter: PostgreSQL's generic plan for a prepared statement cannot
# prove a partial index's predicate from `outcome = $1`, and would walk ix_calls_started.
ANSWERED_WITH_LENGTH = "outcome = 'answered' AND duration_seconds IS NOT NULL"


class Call(db.Model):
    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_started", "started_at"),
        # What changed since the report rollups were refreshed, and which hour it started in.
        Index("ix_calls_updated_at", "updated_at", "started_at"),
        Index("ix_calls_holding", "hold_started_at"),
        # Calls not ended yet, by advisor: routing asks "is this advisor on a live call?" for
        # every advisor it reads, and must not scan the calls of the day to answer.
        Index(
            "ix_calls_live_advisor",
            "advisor_id",
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
        # The latest answered calls, newest first: every hold turn averages their length for
        # the expected wait, and must not walk past every unanswered call to find them.
        Index(
            "ix_calls_answered_started",
            "started_at",
            postgresql_where=text(ANSWERED_WITH_LENGTH),
            sqlite_where=text(ANSWERED_WITH_LENGTH),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"), index=True)
    direction: Mapped[str] = mapped_column(String(16), default="inbound")
    to_number: Mapped[str | None] = mapped_column(String(20))
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("advisors.id"))
    status: Mapped[str] = mapped_column(String(16), default="ringing")
    for_whom: Mapped[str | None] = mapped_column(String(16))
    menu_choice: Mapped[str | None] = mapped_column(String(8))
    # answered | missed | abandoned | voicemail | in_progress
    outcome: Mapped[str] = mapped_column(String(16), default="in_progress")
    dial_status: Mapped[str | None] = mapped_column(String(16))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set while the caller is in the hold loop; the notice is repeated by the wall clock.
    hold_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice_said_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    recordings = relationship("Recording", order_by="Recording.id", viewonly=True)
    offers = relationship("CallOffer", order_by="CallOffer.id", viewonly=True)


def live_call(now: datetime) -> ColumnElement[bool]:
    """An advisor is on the call now: they accepted it (calls.advisor_id) and it has not ended."""
    # A call whose status callback never came is not taken for live for ever; the bound on
    # started_at also lets this read use ix_calls_started instead of every call.
    return and_(
        Call.started_at > now - LIVE_CALL_HOLDS_FOR,
        Call.answered_at.is_not(None),
        Call.ended_at.is_(None),
        Call.advisor_id.is_not(None),
    )


def holding_now(now: datetime, gone_after: timedelta) -> ColumnElement[bool]:
    """The caller is in the hold loop now: waiting for an advisor, not answered, not gone.

    A call that started `gone_after` ago or more lost its status callback: the caller has
    gone (routing.calls.caller_gone_after gives the bound from the settings). The line, the
    team board and /metrics all count holding callers with this one condition.
    """
    return and_(
        Call.started_at > now - gone_after,
        Call.hold_started_at.is_not(None),
        Call.outcome == "in_progress",
        Call.answered_at.is_(None),
        Call.ended_at.is_(None),
    )


class CallOffer(db.Model):
    """One advisor rung for one call: when, for how long, and how it ended."""

    __tablename__ = "call_offers"
    __table_args__ = (
        Index("ix_call_offers_call", "call_id", "ended_at"),
        # Rings still going, by advisor (is this advisor being rung right now?).
        Index(
            "ix_call_offers_ringing",
            "advisor_id",
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    advisor_id: Mapped[int] = mapped_column(ForeignKey("advisors.id"), index=True)
    # The advisor's leg, as the <Dial> action reports it (unknown while it rings).
    dial_call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    rang_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ring_seconds: Mapped[int | None] = mapped_column(Integer)
    # ringing | answered | no-answer | busy | failed | canceled | not-accepted
    outcome: Mapped[str] = mapped_column(String(16), default="ringing")


class Recording(db.Model):
    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_sid: Mapped[str] = mapped_column(String(64), unique=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="voicemail")
    url: Mapped[str | None] = mapped_column(String(500))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    transcript: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TextMessage(db.Model):
    __tablename__ = "text_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"), index=True)
    direction: Mapped[str] = mapped_column(String(16), default="inbound")
    phone: Mapped[str | None] = mapped_column(String(20))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrackingNumber(db.Model):
    """A helpline number bound to a campaign, so calls to it are attributed (call tracking)."""

    __tablename__ = "tracking_numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    campaign: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContactPreference(db.Model):
    """Per-number opt-out state, kept apart from leads so STOP also covers future leads."""

    __tablename__ = "contact_preferences"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    do_not_contact: Mapped[bool] = mapped_column(default=True)
    blocked: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str | None] = mapped_column(String(200))
    updated_by: Mapped[str] = mapped_column(String(64), default="system")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
