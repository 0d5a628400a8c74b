"""The routing policy managers edit, kept in the settings table with an audit trail."""

from __future__ import annotations

import json
from functools import lru_cache

from leadrouter.extensions import db
from leadrouter.models import AuditEntry, Setting
from leadrouter.routing.policy import RoutingPolicy, default_policy, policy_from_dict

POLICY_KEY = "routing_policy"


def load_policy() -> RoutingPolicy:
    """The stored policy, or the SPEC defaults when none was saved."""
    row = db.session.get(Setting, POLICY_KEY)
    return stored_policy_or_default(None if row is None else row.value)


def stored_policy_or_default(value: dict | None) -> RoutingPolicy:
    """The policy from a stored settings value read along with something else; defaults when none."""
    return default_policy() if value is None else policy_from_dict(value)


def stored_policy_from_text(text: str | None) -> RoutingPolicy:
    """The policy from the stored value read as JSON text; defaults when none was saved.

    Parsed once per distinct text: the text is the version, so a manager's change is a
    different key and is used from the very next read (nothing to invalidate).
    """
    return default_policy() if text is None else _parsed_policy(text)


@lru_cache(maxsize=8)
def _parsed_policy(text: str) -> RoutingPolicy:
    # RoutingPolicy and its parts are frozen: sharing one instance between tasks is safe.
    return policy_from_dict(json.loads(text))


def save_policy(data: dict, actor: str) -> RoutingPolicy:
    """Validate and store a policy (ValueError names the bad key); audit old and new."""
    policy = policy_from_dict(data)
    row = db.session.get(Setting, POLICY_KEY)
    before = None if row is None else row.value
    if row is None:
        row = Setting(key=POLICY_KEY, value=policy.to_dict(), updated_by=actor)
        db.session.add(row)
    else:
        row.value, row.updated_by = policy.to_dict(), actor
    db.session.add(
        AuditEntry(
            actor=actor,
            action="routing_policy.updated",
            target=POLICY_KEY,
            detail={"before": before, "after": policy.to_dict()},
        )
    )
    return policy
