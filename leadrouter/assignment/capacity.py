"""Advisor capacity: take and give back one slot atomically, with a conditional UPDATE."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, select, update
from sqlalchemy.orm.util import identity_key

from leadrouter.assignment.queries import on_a_live_call
from leadrouter.database import is_postgres
from leadrouter.extensions import db
from leadrouter.models import Advisor, utcnow
from leadrouter.routing.engine import Decision
from leadrouter.routing.policy import RoutingPolicy


def _ignores_capacity(policy: RoutingPolicy, decision: Decision) -> bool:
    rule = next((r for r in policy.rules if r.name == decision.rule), None)
    return bool(rule and rule.ignore_capacity)


def claim_for(
    decision: Decision, now: datetime, policy: RoutingPolicy, *, skip_locked: bool = False
) -> Row | None:
    """Claim a slot of the decided advisor; None when the decision queues or the slot is gone."""
    if decision.advisor_id is None:
        return None
    return claim_capacity(
        decision.advisor_id, now, _ignores_capacity(policy, decision), skip_locked=skip_locked
    )


def claim_capacity(
    advisor_id: int,
    now: datetime,
    ignore_capacity: bool = False,
    *,
    manual: bool = False,
    skip_locked: bool = False,
) -> Row | None:
    """Take one slot of the advisor's capacity, atomically: their (name, phone), or None if gone.

    The critical override may exceed capacity but still needs an available human who is not
    on a live call; a manager's manual reassignment overrides all three.
    """
    conditions = [Advisor.id == advisor_id, Advisor.active.is_(True)]
    if not manual:
        if not _lock_advisor(advisor_id, skip_locked):
            return None
        # Checked after the lock, so every ring committed before it is seen (see free_of_calls).
        conditions += [Advisor.status == "available", ~on_a_live_call(advisor_id, utcnow())]
    if not (ignore_capacity or manual):
        conditions.append(Advisor.open_leads < Advisor.capacity)
    statement = (
        update(Advisor)
        .where(*conditions)
        .values(open_leads=Advisor.open_leads + 1, last_assigned_at=now)
        .returning(Advisor.name, Advisor.phone)
        .execution_options(synchronize_session=False)
    )
    claimed = db.session.execute(statement).first()
    _expire_counters(advisor_id)
    return claimed


def free_of_calls(advisor_id: int, *, skip_locked: bool = False) -> bool:
    """Lock the advisor for this transaction, then check that no live call rings or holds them.

    The lock (PostgreSQL `FOR UPDATE`; SQLite's transactions hold the write lock from their
    first statement) is taken before the check, so the check sees every ring committed by
    whoever held it before: two callers are never offered the same advisor. With
    `skip_locked`, an advisor someone else is claiming right now counts as taken.
    """
    if not _lock_advisor(advisor_id, skip_locked):
        return False
    return not db.session.scalar(select(on_a_live_call(advisor_id, utcnow())))


def _lock_advisor(advisor_id: int, skip_locked: bool) -> bool:
    """Lock the advisor's row (PostgreSQL); False if skipped because another transaction holds it."""
    if not is_postgres():
        return True
    query = select(Advisor.status).where(Advisor.id == advisor_id).with_for_update(skip_locked=skip_locked)
    return db.session.scalar(query) is not None


def release_capacity(advisor_id: int) -> None:
    statement = (
        update(Advisor)
        .where(Advisor.id == advisor_id, Advisor.open_leads > 0)
        .values(open_leads=Advisor.open_leads - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(statement)
    _expire_counters(advisor_id)


def _expire_counters(advisor_id: int) -> None:
    """The UPDATE bypassed the session: an advisor already loaded re-reads its counters on use."""
    advisor = db.session.identity_map.get(identity_key(Advisor, advisor_id))
    if advisor is not None:
        db.session.expire(advisor, ["open_leads", "last_assigned_at", "updated_at"])
