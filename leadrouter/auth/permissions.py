"""Who may see which lead: advisors their own (now or before) and those whose calls they took,
managers all."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user, login_required
from sqlalchemy import exists, select

from leadrouter.extensions import db
from leadrouter.models import Assignment, Call, Lead


def current_advisor_id() -> int | None:
    advisor = getattr(current_user, "advisor", None)
    return None if advisor is None else advisor.id


def can_see(lead: Lead) -> bool:
    if current_user.is_manager:
        return True
    advisor_id = current_advisor_id()
    if advisor_id is None:
        return False
    if lead.owner_id == advisor_id:
        return True
    held_before = select(Assignment.id).where(
        Assignment.lead_id == lead.id, Assignment.advisor_id == advisor_id
    )
    # An emergency rings several advisors at once: whoever accepts is speaking with the
    # caller, whether or not the lead is (yet) theirs.
    took_their_call = select(Call.id).where(
        Call.lead_id == lead.id, Call.advisor_id == advisor_id, Call.answered_at.is_not(None)
    )
    return bool(db.session.scalar(select(exists(held_before) | exists(took_their_call))))


def lead_or_404(lead_id: int) -> Lead:
    """The lead, if this user may see it; otherwise 404, so its existence is not revealed."""
    lead = db.session.get(Lead, lead_id)
    if lead is None or not can_see(lead):
        abort(404)
    return lead


def lead_to_act_on(lead_id: int) -> Lead:
    """The lead, if this user may change it: its current owner or a manager.

    A former owner still sees the history but can no longer act on the lead (and so cannot,
    say, stop the new owner's first-contact clock).
    """
    lead = lead_or_404(lead_id)
    if not current_user.is_manager and lead.owner_id != current_advisor_id():
        abort(403, description="This lead now belongs to another advisor.")
    return lead


def manager_required() -> None:
    if not current_user.is_manager:
        abort(403)


def restrict_to_managers(blueprint: Blueprint) -> None:
    """Every page of the blueprint: signed-in managers only (advisors get 403), never cached."""

    @blueprint.before_request
    @login_required
    def _managers_only():
        manager_required()

    @blueprint.after_request
    def _never_cache(response):
        response.headers["Cache-Control"] = "no-store"
        return response
