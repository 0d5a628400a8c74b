"""Advisor capacity: take and give back one slot atomically, with a conditional UPDATE."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, update
from sqlalchemy.orm.util import identity_key

from leadrouter.extensions import db
from leadrouter.models import Advisor
from leadrouter.routing.engine import Decision
from leadrouter.routing.policy import RoutingPolicy


def _ignores_capacity(policy: RoutingPolicy, decision: Decision) -> bool:
    rule = next((r for r in policy.rules if r.name == decision.rule), None)
    return bool(rule and rule.ignore_capacity)


def claim_for(decision: Decision, now: datetime, policy: RoutingPolicy) -> Row | None:
    """Claim a slot of the decided advisor; None when the decision queues or the slot is gone."""
    if decision.advisor_id is None:
        return None
    return claim_capacity(decision.advisor_id, now, _ignores_capacity(policy, decision))


def claim_capacity(
    advisor_id: int, now: datetime, ignore_capacity: bool = False, *, manual: bool = False
) -> Row | None:
    """Take one slot of the advisor's capacity, atomically: their (name, phone), or None if gone.

    The critical override may exceed capacity but still needs an available human; a
    manager's manual reassignment overrides both.
    """
    conditions = [Advisor.id == advisor_id, Advisor.active.is_(True)]
    if not manual:
        conditions.append(Advisor.status == "available")
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
