"""Advisors: the people leads are routed to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leadrouter.extensions import db
from leadrouter.models.base import JSONType, UTCDateTime, utcnow
from leadrouter.routing.vocabulary import DEFAULT_TIMEZONE, NATIONAL_POOL

# away: set after two calls in a row rang out unanswered (or by the advisor); not routed to.
ADVISOR_STATUSES = ("available", "busy", "away", "offline")
# What the advisors API accepts (its contract in SPEC); it reports `away` as stored.
API_ADVISOR_STATUSES = ("available", "busy", "offline")
# The audit action written when missed calls set an advisor away (the team board shows it).
SET_AWAY_ACTION = "advisor.set_away"


class Advisor(db.Model):
    __tablename__ = "advisors"
    __table_args__ = (
        CheckConstraint("status IN ('available', 'busy', 'away', 'offline')", name="status"),
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        CheckConstraint("open_leads >= 0", name="open_leads_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    # US state codes, or ["*"] for the national pool.
    regions: Mapped[list] = mapped_column(JSONType, default=list)
    languages: Mapped[list] = mapped_column(JSONType, default=lambda: ["en"])
    capacity: Mapped[int] = mapped_column(Integer, default=10)
    # Kept in step with assignments inside the claiming transaction, so a conditional
    # UPDATE ... WHERE open_leads < capacity is the capacity lock.
    open_leads: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="offline", index=True)
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    shift_hours: Mapped[dict | None] = mapped_column(JSONType)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user = relationship("User", backref=db.backref("advisor", uselist=False))

    @property
    def is_national_pool(self) -> bool:
        return NATIONAL_POOL in (self.regions or [])
