"""Working a lead: status moves, reopening, contact attempts, notes, follow-ups, do-not-contact."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from leadrouter.assignment.operations import release_lead
from leadrouter.assignment.policy_store import load_policy
from leadrouter.extensions import db
from leadrouter.i18n import N_
from leadrouter.jobs import enqueue
from leadrouter.leads.deadlines import refresh_next_due
from leadrouter.leads.timeline import add_event
from leadrouter.models import ContactPreference, FollowUp, Lead, utcnow
from leadrouter.routing.hours import to_local, within_contact_window
from leadrouter.routing.vocabulary import DEFAULT_TIMEZONE

REQUESTED_TIME_NOTE_MAX = 200  # follow_ups.requested_time_note

# Where a lead may go next from each status (SPEC §3 pipeline); closing needs a reason.
TRANSITIONS = {
    "new": ("queued", "assigned", "contacted", "closed"),
    "queued": ("assigned", "contacted", "closed"),
    "assigned": ("contacted", "assessment", "closed"),
    "contacted": ("assessment", "referred", "admitted", "closed"),
    "assessment": ("referred", "admitted", "closed"),
    "referred": ("admitted", "closed"),
    "admitted": ("closed",),
    "closed": ("new",),
}
CLOSE_REASONS = (
    "not_interested",
    "unreachable",
    "wrong_number",
    "declined_treatment",
    "referred_elsewhere",
    "no_coverage",
    "duplicate",
    "other",
)
CONTACT_OUTCOMES = (
    "reached",
    "no_answer",
    "voicemail_left",
    "wrong_number",
    "asked_not_to_be_contacted",
)


class PipelineError(ValueError):
    """A move the pipeline does not allow; the message names the field and why.

    `message` is an English catalog message (marked with N_) with `%(name)s` placeholders
    filled from `params`; a page shows its translation, with the params' keys (statuses,
    reasons) in words (dashboard.presenters.explain).
    """

    def __init__(self, field: str, message: str, **params):
        self.field, self.message, self.params = field, message, params
        super().__init__(f"{field}: {message % params if params else message}")


def change_status(
    lead: Lead, new_status: str, actor: str, reason: str | None = None, now: datetime | None = None
) -> None:
    """Move the lead along the pipeline, recording who and when."""
    now = now or utcnow()
    if new_status not in TRANSITIONS.get(lead.status, ()):
        raise PipelineError(
            "status", N_("cannot move from %(current)s to %(target)s"), current=lead.status, target=new_status
        )
    if new_status == "closed" and reason not in CLOSE_REASONS:
        raise PipelineError("reason", N_("closing needs a reason: one of %(choices)s"), choices=CLOSE_REASONS)
    was_open = lead.is_open
    old_status = lead.status
    if new_status == "new":
        reopen(lead, actor, now)
        enqueue("routing.route_lead", lead.id)
        return
    if new_status == "contacted" and lead.owner_id is None:
        raise PipelineError("status", N_("assign the lead to an advisor before marking it contacted"))
    lead.set_status(new_status)
    lead.closed_reason = reason if new_status == "closed" else None
    if new_status == "contacted" and lead.first_contact_at is None:
        lead.first_contact_at = now
    detail = {"from": old_status, "to": new_status}
    if reason:
        detail["reason"] = reason
    add_event(lead, "status_changed", actor, detail, at=now)
    if was_open and not lead.is_open:
        release_lead(lead, f"status {new_status}", now)
        _cancel_open_follow_ups(lead, now)
    refresh_next_due(lead)


def log_contact_attempt(
    lead: Lead, outcome: str, actor: str, note: str | None = None, now: datetime | None = None
) -> None:
    """Record a call attempt and its outcome; the first attempt stops the SLA clock."""
    now = now or utcnow()
    if outcome not in CONTACT_OUTCOMES:
        raise PipelineError("outcome", N_("must be one of %(choices)s"), choices=CONTACT_OUTCOMES)
    if lead.first_contact_at is None:
        lead.first_contact_at = now
    detail = {"outcome": outcome}
    if note:
        detail["note"] = note
    add_event(lead, "contact_attempt", actor, detail, at=now)
    # Any attempt answers the first callback routing scheduled; leaving it open showed the
    # lead overdue to an advisor who had just called.
    _complete_open_callbacks(lead, actor, now)
    if outcome == "reached":
        if lead.status in ("new", "queued", "assigned"):
            change_status(lead, "contacted", actor, now=now)
    elif outcome == "asked_not_to_be_contacted":
        set_do_not_contact(lead, True, actor, "asked during a call", now=now)
    refresh_next_due(lead)


def add_note(lead: Lead, text: str, actor: str, now: datetime | None = None) -> None:
    text = (text or "").strip()
    if not text:
        raise PipelineError("note", N_("must not be empty"))
    if len(text) > 5000:
        raise PipelineError("note", N_("must be at most 5000 characters"))
    add_event(lead, "note", actor, {"text": text}, at=now or utcnow())


def schedule_follow_up(
    lead: Lead,
    due_at: datetime,
    actor: str,
    note: str | None = None,
    advisor_id: int | None = None,
    now: datetime | None = None,
    requested_time_note: str | None = None,
) -> FollowUp:
    """Plan the next call, inside the person's calling hours unless they asked for that time."""
    now = now or utcnow()
    if due_at.tzinfo is None:
        raise PipelineError("due_at", N_("must include a time zone"))
    requested = check_contact_window(lead, due_at, requested_time_note)
    follow_up = FollowUp(
        lead_id=lead.id,
        advisor_id=advisor_id or lead.owner_id,
        kind="follow_up",
        due_at=due_at,
        note=note,
        created_by=actor,
        created_at=now,
        requested_time_note=requested,
    )
    db.session.add(follow_up)
    db.session.flush()
    detail = {"action": "scheduled", "id": follow_up.id, "due_at": due_at.isoformat()}
    if requested:
        detail["requested_time"] = requested
    add_event(lead, "follow_up", actor, detail, at=now)
    refresh_next_due(lead)
    return follow_up


def check_contact_window(lead: Lead, due_at: datetime, requested_time_note: str | None) -> str | None:
    """Refuse a time outside the calling hours in the lead's zone unless the person asked for it
    (a critical lead may be called back at any hour).

    Returns the note saying what they asked for (None inside the window), to keep on record.
    """
    requested = (requested_time_note or "").strip() or None
    if requested and len(requested) > REQUESTED_TIME_NOTE_MAX:
        raise PipelineError(
            "requested_time_note",
            N_("must be at most %(limit)s characters"),
            limit=str(REQUESTED_TIME_NOTE_MAX),
        )
    zone = lead.timezone or DEFAULT_TIMEZONE
    start, end = load_policy().contact_window
    if within_contact_window(due_at, zone, start, end):
        return None
    # SPEC §3 holds non-critical callbacks to the window; someone in danger is called back
    # whenever it is needed.
    if requested is None and lead.urgency != "critical":
        raise PipelineError(
            "due_at",
            N_(
                "%(time)s their time is outside the calling hours (%(start)s to %(end)s); choose a time "
                "inside them, or tick that the person asked for this time and say what they asked"
            ),
            time=to_local(due_at, zone).strftime("%H:%M"),
            start=start.strftime("%H:%M"),
            end=end.strftime("%H:%M"),
        )
    return requested


def complete_follow_up(follow_up: FollowUp, actor: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    if follow_up.status != "open":
        raise PipelineError("follow_up", N_("is not open"))
    follow_up.status, follow_up.completed_at = "done", now
    lead = db.session.get(Lead, follow_up.lead_id)
    add_event(lead, "follow_up", actor, {"action": "completed", "id": follow_up.id}, at=now)
    refresh_next_due(lead)


def reschedule_follow_up(
    follow_up: FollowUp,
    due_at: datetime,
    actor: str,
    now: datetime | None = None,
    requested_time_note: str | None = None,
) -> None:
    """Move an open follow-up, by the same calling-hours rule as scheduling one."""
    if follow_up.status != "open":
        raise PipelineError("follow_up", N_("is not open"))
    lead = db.session.get(Lead, follow_up.lead_id)
    requested = check_contact_window(lead, due_at, requested_time_note)
    old_due = follow_up.due_at
    follow_up.due_at, follow_up.requested_time_note = due_at, requested
    detail = {
        "action": "rescheduled",
        "id": follow_up.id,
        "from": old_due.isoformat(),
        "to": due_at.isoformat(),
    }
    if requested:
        detail["requested_time"] = requested
    add_event(lead, "follow_up", actor, detail, at=now or utcnow())
    refresh_next_due(lead)


def set_do_not_contact(lead: Lead, value: bool, actor: str, why: str, now: datetime | None = None) -> None:
    """Mark the lead and its phone number (so future leads inherit it) do-not-contact, or undo it."""
    now = now or utcnow()
    lead.do_not_contact = value
    if lead.phone:
        preference = db.session.get(ContactPreference, lead.phone)
        if preference is None:
            preference = ContactPreference(phone=lead.phone)
            db.session.add(preference)
        preference.do_not_contact, preference.reason, preference.updated_by = value, why, actor
    add_event(lead, "opted_out" if value else "opted_in", actor, {"why": why}, at=now)
    if value:
        _cancel_open_follow_ups(lead, now)
        refresh_next_due(lead)


def _cancel_open_follow_ups(lead: Lead, now: datetime) -> None:
    open_follow_ups = db.session.scalars(
        select(FollowUp).where(FollowUp.lead_id == lead.id, FollowUp.status == "open")
    )
    for follow_up in open_follow_ups:
        follow_up.status, follow_up.completed_at = "cancelled", now


def _complete_open_callbacks(lead: Lead, actor: str, now: datetime) -> None:
    """A contact attempt fulfils the callback that routing scheduled, on the timeline too."""
    callbacks = db.session.scalars(
        select(FollowUp).where(
            FollowUp.lead_id == lead.id, FollowUp.kind == "callback", FollowUp.status == "open"
        )
    )
    for callback in callbacks:
        callback.status, callback.completed_at = "done", now
        add_event(
            lead,
            "follow_up",
            actor,
            {"action": "completed", "id": callback.id, "kind": "callback", "by": "contact_attempt"},
            at=now,
        )


def reopen(lead: Lead, actor: str, now: datetime) -> None:
    """A finished lead that gets in touch again is a new request: back to routing, no owner."""
    old_status = lead.status
    lead.set_status("new")
    lead.closed_reason = None
    lead.owner_id = None  # the last owner's assignment ended when the lead was finished
    lead.escalated_at = None
    lead.routed_at = None
    lead.sla_due_at = None
    add_event(
        lead,
        "status_changed",
        actor,
        {"from": old_status, "to": "new", "why": "new contact"},
        at=now,
    )
    # Waiting again, it is due by its promise (kept: the person was told it once).
    refresh_next_due(lead)
