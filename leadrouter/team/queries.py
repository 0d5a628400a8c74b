"""Read queries for the manager's team board and staffing forecast."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import case, func, select

from leadrouter.dashboard.queries import in_advisor_queue, overdue_condition, owed_at, waiting_condition
from leadrouter.extensions import db
from leadrouter.models import SET_AWAY_ACTION, Advisor, AuditEntry, Call, Lead, holding_now, live_call
from leadrouter.routing.calls import caller_gone_after
from leadrouter.routing.hours import on_shift


@dataclass(frozen=True)
class AdvisorLoad:
    advisor: Advisor
    open: int
    overdue: int
    critical: int
    oldest_overdue_id: int | None
    oldest_overdue_due: datetime | None


def team_board(now: datetime) -> list[AdvisorLoad]:
    """Every advisor with the open leads of their queue, the overdue ones and the oldest of them.

    Counted with the queue's own conditions (an advisor's queue, overdue = first call or
    follow-up past due), so each number equals the rows that advisor's queue shows.
    """
    overdue = overdue_condition(now)
    rows = db.session.execute(
        select(
            Lead.owner_id,
            func.count(Lead.id),
            func.coalesce(func.sum(case((overdue, 1), else_=0)), 0),
            func.coalesce(func.sum(case((Lead.urgency == "critical", 1), else_=0)), 0),
            func.min(case((overdue, owed_at()))),
        )
        .where(in_advisor_queue())
        .group_by(Lead.owner_id)
    ).all()
    per_owner = {row[0]: row for row in rows}
    oldest_ids = _oldest_overdue_ids(now)
    board = []
    for advisor in db.session.scalars(select(Advisor).order_by(Advisor.active.desc(), Advisor.name)):
        row = per_owner.get(advisor.id)
        board.append(
            AdvisorLoad(
                advisor=advisor,
                open=row[1] if row else 0,
                overdue=row[2] if row else 0,
                critical=row[3] if row else 0,
                oldest_overdue_id=oldest_ids.get(advisor.id),
                oldest_overdue_due=_aware(row[4] if row else None),
            )
        )
    return board


@dataclass(frozen=True)
class LineNow:
    """The helpline this moment: callers holding, the longest wait, advisors on a live call."""

    holding: int
    longest_wait_seconds: float | None
    on_call_since: dict[int, datetime]  # advisor id -> when they accepted the call they are on


def line_now(now: datetime) -> LineNow:
    """Callers holding now and the longest of their waits, and who is on a live call, in two queries.

    Holding is the line's own condition and bound (a caller the line dropped is not counted).
    """
    settings = current_app.config
    gone_after = caller_gone_after(settings["CALL_MAX_WAIT_SECONDS"], settings["HOLD_ANNOUNCE_SECONDS"])
    holding, first_held = db.session.execute(
        select(func.count(Call.id), func.min(Call.hold_started_at)).where(holding_now(now, gone_after))
    ).one()
    first_held = _aware(first_held)
    on_call = db.session.execute(
        select(Call.advisor_id, func.max(Call.answered_at)).where(live_call(now)).group_by(Call.advisor_id)
    ).all()
    return LineNow(
        holding=holding or 0,
        longest_wait_seconds=None if first_held is None else max(0.0, (now - first_held).total_seconds()),
        on_call_since={advisor_id: _aware(answered_at) for advisor_id, answered_at in on_call},
    )


@dataclass(frozen=True)
class WaitingSummary:
    count: int
    oldest_created_at: datetime | None


def waiting_summary() -> WaitingSummary:
    """How many open leads wait for an advisor and since when: the managers' waiting list's own condition."""
    count, oldest = db.session.execute(
        select(func.count(Lead.id), func.min(Lead.created_at)).where(waiting_condition())
    ).one()
    return WaitingSummary(count=count, oldest_created_at=_aware(oldest))


def set_away_by_missed_calls() -> list[tuple[Advisor, datetime]]:
    """Advisors away because calls rang out on them, with when (until they choose a status again)."""
    away = {
        f"advisor:{advisor.id}": advisor
        for advisor in db.session.scalars(
            select(Advisor).where(Advisor.status == "away").order_by(Advisor.name)
        )
    }
    if not away:
        return []
    entries = db.session.execute(
        select(AuditEntry.target, func.max(AuditEntry.at))
        .where(AuditEntry.action == SET_AWAY_ACTION, AuditEntry.target.in_(away))
        .group_by(AuditEntry.target)
    ).all()
    when = {target: _aware(at) for target, at in entries}
    return [
        (advisor, when[target])
        for target, advisor in away.items()
        if target in when and when[target] >= _aware(advisor.status_changed_at)
    ]


def _oldest_overdue_ids(now: datetime) -> dict[int, int]:
    """Advisor id -> the id of their longest-overdue lead."""
    ranked = (
        select(
            Lead.owner_id,
            Lead.id,
            func.row_number().over(partition_by=Lead.owner_id, order_by=(owed_at(), Lead.id)).label("n"),
        )
        .where(in_advisor_queue(), overdue_condition(now))
        .subquery()
    )
    return dict(db.session.execute(select(ranked.c.owner_id, ranked.c.id).where(ranked.c.n == 1)).all())


def _aware(moment):
    """Aggregates bypass the column type; SQLite hands back naive (or text) UTC values."""
    if moment is None or getattr(moment, "tzinfo", None) is not None:
        return moment
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC)


def advisor_changes(advisor_id: int, limit: int = 10) -> list[AuditEntry]:
    """The newest audit entries about one advisor."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.target == f"advisor:{advisor_id}")
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def recent_policy_changes(limit: int = 10) -> list[AuditEntry]:
    query = (
        select(AuditEntry)
        .where(AuditEntry.action == "routing_policy.updated")
        .order_by(AuditEntry.at.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class ArrivalProfile:
    """Average calls per hour of the week, and the measured handling time."""

    per_hour: dict[tuple[int, int], float]  # (weekday 0=Mon, hour) -> mean arrivals
    handle_seconds: float
    weeks: int


def arrival_profile(now: datetime, zone: str, weeks: int = 4, region: str | None = None) -> ArrivalProfile:
    """Arrival rates per weekday-hour over the last weeks, in the report time zone."""
    since = now - timedelta(weeks=weeks)
    query = select(Lead.created_at).where(Lead.created_at >= since, Lead.source.in_(("call", "voicemail")))
    if region:
        query = query.where(Lead.region == region)
    tz = ZoneInfo(zone)
    counts = Counter()
    for (created_at,) in db.session.execute(query):
        local = _aware(created_at).astimezone(tz)
        counts[(local.weekday(), local.hour)] += 1
    handle = db.session.scalar(
        select(func.avg(Call.duration_seconds)).where(
            Call.started_at >= since, Call.outcome == "answered", Call.duration_seconds.is_not(None)
        )
    )
    per_hour = {key: count / weeks for key, count in counts.items()}
    return ArrivalProfile(per_hour=per_hour, handle_seconds=float(handle or 600), weeks=weeks)


def active_advisors() -> list[Advisor]:
    return list(db.session.scalars(select(Advisor).where(Advisor.active.is_(True))))


def scheduled_advisors(advisors: list[Advisor], moment: datetime, region: str | None = None) -> int:
    """How many of these advisors' set shift hours cover `moment`.

    An advisor with no set hours may be routed at any hour, but nobody is scheduled around
    the clock: counting them in every hour made the forecast show the whole team as spare.
    """
    return sum(
        1
        for advisor in advisors
        if advisor.shift_hours is not None
        and on_shift(advisor.shift_hours, advisor.timezone, moment)
        and _covers(advisor, region)
    )


def advisors_without_set_hours(advisors: list[Advisor], region: str | None = None) -> list[Advisor]:
    return [advisor for advisor in advisors if advisor.shift_hours is None and _covers(advisor, region)]


def _covers(advisor: Advisor, region: str | None) -> bool:
    return region is None or region in (advisor.regions or ()) or "*" in (advisor.regions or ())
