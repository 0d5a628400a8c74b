"""Retention: anonymise leads that were closed, referred or admitted long enough ago.

What goes is everything that identifies or describes the person: name, phone, email, the
patient's name, their message, city and ZIP, contact preferences, the pages they came
from, the consent record's address, browser and page, free text on the timeline (notes,
"why" texts), follow-up notes, text message bodies and voicemail links and transcripts.

What stays is everything the routing report counts, so its numbers do not change: the
lead's created_at, source, state, region, urgency, severity, status and close reason,
SLA and first-contact times, escalation; every assignment and routing decision; calls
with their outcomes and times; event rows with their types, actors and times; and the
consent's given / version / time (proof that a call was allowed, without who gave it).

The per-number do-not-contact list (ContactPreference) is kept on purpose: an opt-out
must outlive the lead it came with. Recordings held by Twilio itself must be deleted
there; this command only forgets their links here.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from flask import current_app
from sqlalchemy import exists, func, select

from leadrouter.extensions import db
from leadrouter.leads.timeline import add_event
from leadrouter.models import (
    Call,
    ConsentRecord,
    Event,
    FollowUp,
    Lead,
    Recording,
    TextMessage,
    utcnow,
)

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 365
FINISHED_STATUSES = ("closed", "referred", "admitted")
ANONYMISED_EVENT = "anonymised"
BATCH_SIZE = 500
# Timeline detail keys that can hold what a person or an advisor typed.
FREE_TEXT_KEYS = frozenset({"text", "note", "why", "body", "message", "name", "phone", "email", "speech"})


@dataclass(frozen=True)
class PurgeResult:
    lead_ids: list[int]
    cutoff: datetime
    dry_run: bool


def retention_days() -> int:
    """RETENTION_DAYS from the app config, else a year."""
    return int(current_app.config.get("RETENTION_DAYS") or DEFAULT_RETENTION_DAYS)


def leads_due_for_purge(cutoff: datetime, limit: int | None = None) -> list[int]:
    """Finished leads whose last status change is older than cutoff and not anonymised yet."""
    finished_at = (
        select(func.max(Event.at))
        .where(Event.lead_id == Lead.id, Event.type == "status_changed")
        .scalar_subquery()
    )
    already = exists().where(Event.lead_id == Lead.id, Event.type == ANONYMISED_EVENT)
    query = (
        select(Lead.id)
        .where(
            Lead.status.in_(FINISHED_STATUSES),
            func.coalesce(finished_at, Lead.updated_at) < cutoff,
            ~already,
        )
        .order_by(Lead.id)
    )
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def anonymise_lead(lead: Lead, older_than_days: int) -> None:
    """Blank the lead's personal data and everything that hangs off it; keep what reports count."""
    lead.name = lead.phone = lead.email = lead.patient_name = lead.message = None
    lead.city = lead.zip = lead.preferred_time = lead.page_url = lead.referrer = None
    lead.contact_preferences = {}
    # Old thank-you page links must not find the lead again.
    lead.public_id = uuid.uuid4().hex

    for consent in db.session.scalars(select(ConsentRecord).where(ConsentRecord.lead_id == lead.id)):
        consent.ip = consent.user_agent = consent.page_url = None
    for event in db.session.scalars(select(Event).where(Event.lead_id == lead.id)):
        if FREE_TEXT_KEYS & set(event.detail or {}):
            event.detail = {k: v for k, v in event.detail.items() if k not in FREE_TEXT_KEYS}
    for follow_up in db.session.scalars(select(FollowUp).where(FollowUp.lead_id == lead.id)):
        follow_up.note = None
    for text in db.session.scalars(select(TextMessage).where(TextMessage.lead_id == lead.id)):
        text.body = text.phone = None
    call_ids = select(Call.id).where(Call.lead_id == lead.id)
    for recording in db.session.scalars(select(Recording).where(Recording.call_id.in_(call_ids))):
        recording.url = recording.transcript = None
    add_event(
        lead,
        ANONYMISED_EVENT,
        "retention",
        {"older_than_days": older_than_days},
        dedupe_key=f"anonymised:{lead.id}",
    )


def purge_closed_leads(
    older_than_days: int, *, dry_run: bool = False, now: datetime | None = None
) -> PurgeResult:
    """Anonymise every finished lead older than the retention period, committing per batch."""
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    if dry_run:
        return PurgeResult(leads_due_for_purge(cutoff), cutoff, dry_run=True)
    done: list[int] = []
    while batch := leads_due_for_purge(cutoff, limit=BATCH_SIZE):
        for lead in db.session.scalars(select(Lead).where(Lead.id.in_(batch))):
            anonymise_lead(lead, older_than_days)
        db.session.commit()
        done.extend(batch)
    if done:
        log.info("retention: anonymised %d leads finished before %s", len(done), cutoff.date())
    return PurgeResult(done, cutoff, dry_run=False)


@click.command("purge-closed")
@click.option(
    "--older-than-days",
    type=click.IntRange(min=1),
    default=None,
    help="Anonymise leads closed, referred or admitted more than this many days ago "
    f"(default: RETENTION_DAYS, else {DEFAULT_RETENTION_DAYS}).",
)
@click.option("--dry-run", is_flag=True, help="Only say how many leads would be anonymised.")
def purge_closed_command(older_than_days: int | None, dry_run: bool) -> None:
    """Anonymise finished leads past the retention period; report numbers stay the same."""
    days = older_than_days or retention_days()
    result = purge_closed_leads(days, dry_run=dry_run)
    verb = "would anonymise" if dry_run else "anonymised"
    click.echo(
        f"{verb} {len(result.lead_ids)} leads closed, referred or admitted before "
        f"{result.cutoff:%Y-%m-%d %H:%M} UTC ({days} days)"
    )
