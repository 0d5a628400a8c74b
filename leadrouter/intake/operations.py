"""Turn a touch (form, API call, phone call, text) into one scored, deduplicated lead.

Every channel ends here, so the rules live in one place: normalise the phone, place the
region, score severity and urgency, merge a repeat touch from the same phone within 24 h,
store consent, write the timeline, and enqueue routing after the commit.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import literal, select, text

from leadrouter.assignment.operations import (
    keep_promise,
    respond_to_urgency_rise,
    schedule_callback_if_allowed,
)
from leadrouter.assignment.policy_store import POLICY_KEY, stored_policy_or_default
from leadrouter.database import is_postgres
from leadrouter.extensions import db
from leadrouter.jobs import enqueue
from leadrouter.leads.timeline import add_event
from leadrouter.models import ConsentRecord, ContactPreference, Lead, Setting, utcnow
from leadrouter.pipeline.operations import reopen
from leadrouter.routing.phone import mask_phone, parse_phone
from leadrouter.routing.policy import RoutingPolicy
from leadrouter.routing.region import Region, resolve_region
from leadrouter.routing.severity import severity_for
from leadrouter.routing.timezones import timezone_for
from leadrouter.routing.urgency import Urgency, UrgencySignals, raise_only, score_urgency

log = logging.getLogger(__name__)
MERGE_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class ConsentInput:
    given: bool
    text: str
    version: str
    ip: str | None = None
    user_agent: str | None = None
    page_url: str | None = None


@dataclass(frozen=True)
class LeadInput:
    """One touch, already validated by the channel's schema."""

    source: str
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    for_whom: str = "self"
    patient_name: str | None = None
    state: str | None = None
    zip: str | None = None
    city: str | None = None
    substances: tuple[str, ...] = ()
    dsm_criteria: tuple[str, ...] = ()
    message: str | None = None
    language: str = "en"
    preferred_time: str | None = None
    contact_preferences: dict = field(default_factory=dict)
    consent: ConsentInput | None = None
    page_url: str | None = None
    referrer: str | None = None
    utm: dict = field(default_factory=dict)
    campaign: str | None = None
    # Telephony signals
    from_state: str | None = None
    extra_texts: tuple[str, ...] = ()
    missed_call: bool = False
    abandoned_call: bool = False
    emergency_pressed: bool = False
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class IntakeResult:
    lead: Lead
    created: bool

    @property
    def merged(self) -> bool:
        return not self.created


def record_lead(data: LeadInput, actor: str = "system", *, route: bool = True) -> IntakeResult:
    """Create a lead, or merge into this phone's lead from the last 24 hours; flush, don't commit."""
    now = data.occurred_at or utcnow()
    phone = parse_phone(data.phone)
    # The pure work first: the first statement takes SQLite's one write lock (PostgreSQL: this
    # contact's lock), and nobody else should wait while we score the message.
    placement = _place_new_lead(data, phone)
    _lock_contact(phone.e164 or (data.email or "").lower())
    # Its own statement, after the lock: PostgreSQL snapshots a statement when it starts,
    # so only then does it see the lead a concurrent touch committed while we waited.
    existing, do_not_contact, policy = _recent_lead_and_policy(phone.e164, data.email, now)
    if existing is None:
        lead = _create(data, phone, placement, now, actor, policy)
        created = True
    else:
        lead = existing
        _merge(lead, data, phone, now, actor, policy)
        created = False
    if do_not_contact and lead.phone:
        lead.do_not_contact = True
    if data.consent is not None:
        _store_consent(lead, data.consent, data.source, now)
        db.session.flush()
        if not created and data.consent.given:
            schedule_callback_if_allowed(lead, now)
    db.session.flush()
    if route and lead.owner_id is None and lead.is_open:
        # A new lead is in the backlog every routing task reads, so one waiting message
        # serves a burst of them. A merge publishes its own: the lead may be in a routing
        # batch right now (its row unlocked to us) and leave it queued, out of that backlog.
        enqueue("routing.route_lead", lead.id, coalesce=created)
    log.info(
        "lead %s %s from %s (phone %s, urgency %s)",
        lead.id,
        "created" if created else "merged",
        data.source,
        mask_phone(lead.phone),
        lead.urgency,
    )
    return IntakeResult(lead=lead, created=created)


def find_recent_lead(phone_e164: str | None, email: str | None, now: datetime) -> tuple[Lead | None, bool]:
    """The lead this touch belongs to, and whether the phone asked not to be contacted.

    The lead: same phone (or, with no phone, same email) within 24 h.
    """
    lead, do_not_contact, _policy = _recent_lead_and_policy(phone_e164, email, now)
    return lead, do_not_contact


def _recent_lead_and_policy(
    phone_e164: str | None, email: str | None, now: datetime
) -> tuple[Lead | None, bool, RoutingPolicy]:
    """The recent lead, the phone's do-not-contact flag and the routing policy (for the promise).

    One round trip: the lead's id (if any), the flag and the stored policy as scalar subqueries.
    """
    since = now - MERGE_WINDOW
    stored_policy = select(Setting.value).where(Setting.key == POLICY_KEY).scalar_subquery()
    if phone_e164:
        condition = Lead.phone == phone_e164
    elif email:
        condition = (Lead.email == email.lower()) & Lead.phone.is_(None)
    else:
        return None, False, stored_policy_or_default(db.session.execute(select(stored_policy)).scalar())
    # The id only: a full lead row costs ~50 column descriptions on every intake, and most
    # touches are new people; a merge loads the lead by primary key after.
    recent = (
        select(Lead.id)
        .where(condition, Lead.created_at >= since)
        .order_by(Lead.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    do_not_contact = (
        select(ContactPreference.do_not_contact)
        .where(ContactPreference.phone == phone_e164)
        .scalar_subquery()
        if phone_e164
        else literal(False)
    )
    lead_id, flag, policy = db.session.execute(select(recent, do_not_contact, stored_policy)).one()
    lead = db.session.get(Lead, lead_id) if lead_id is not None else None
    return lead, bool(flag), stored_policy_or_default(policy)


def _lock_contact(contact_key: str) -> None:
    """Serialise intake per phone so two concurrent touches cannot both create a lead.

    PostgreSQL: a transaction-scoped advisory lock on the phone. SQLite already runs one
    writer at a time (every transaction begins IMMEDIATE).
    """
    if not contact_key or not is_postgres():
        return
    digest = hashlib.blake2b(contact_key.encode(), digest_size=8).digest()
    key = int.from_bytes(digest, "big", signed=True)
    db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _score(data: LeadInput, lead: Lead | None = None):
    criteria = frozenset(data.dsm_criteria) | frozenset(lead.dsm_criteria if lead else ())
    texts = [t for t in (data.message, *data.extra_texts) if t]
    signals = UrgencySignals(
        texts=texts,
        severity=severity_for(criteria),
        dsm_criteria=criteria,
        substances=frozenset(data.substances) | frozenset(lead.substances if lead else ()),
        source=data.source,
        missed_call=data.missed_call,
        abandoned_call=data.abandoned_call,
        emergency_pressed=data.emergency_pressed,
        for_whom=data.for_whom,
    )
    return score_urgency(signals)


@dataclass(frozen=True)
class _Placement:
    """What a new lead's region, time zone and urgency would be: plain Python, no database."""

    region: Region
    timezone: str | None
    urgency: Urgency


def _place_new_lead(data: LeadInput, phone) -> _Placement:
    region = resolve_region(data.state, data.zip, data.from_state, phone.e164)
    return _Placement(region, timezone_for(region.code, phone.timezone), _score(data))


def _create(
    data: LeadInput, phone, placement: _Placement, now: datetime, actor: str, policy: RoutingPolicy
) -> Lead:
    region = placement.region
    lead = Lead(
        source=data.source,
        status="new",
        name=data.name,
        phone=phone.e164,
        email=data.email.lower() if data.email else None,
        for_whom=data.for_whom,
        patient_name=data.patient_name,
        language=data.language,
        preferred_time=data.preferred_time,
        contact_preferences=dict(data.contact_preferences),
        message=data.message,
        state=region.code if region.source == "state" else None,
        zip=data.zip,
        city=data.city,
        region=region.code,
        region_source=region.source,
        timezone=placement.timezone,
        substances=sorted(set(data.substances)),
        dsm_criteria=sorted(set(data.dsm_criteria)),
        severity=severity_for(data.dsm_criteria),
        page_url=data.page_url,
        referrer=data.referrer,
        utm=dict(data.utm),
        campaign=data.campaign or data.utm.get("campaign"),
        unknown_caller=data.source in ("call", "voicemail", "sms") and phone.e164 is None,
        created_at=now,
        last_touch_at=now,
    )
    urgency = placement.urgency
    lead.set_urgency(urgency.level, urgency.score, urgency.reasons, urgency.emergency)
    # The thanks page, the text reply and the call tell the person this time: it is set now, once.
    keep_promise(lead, policy)
    db.session.add(lead)
    db.session.flush()
    add_event(
        lead,
        "created",
        actor,
        {
            "source": data.source,
            "urgency": lead.urgency,
            "region": lead.region,
            "region_source": lead.region_source,
        },
        at=now,
    )
    return lead


def _merge(lead: Lead, data: LeadInput, phone, now: datetime, actor: str, policy: RoutingPolicy) -> None:
    """Fold a repeat touch into the lead: fill gaps, widen lists, urgency only rises."""
    for attribute in (
        "name",
        "email",
        "patient_name",
        "preferred_time",
        "city",
        "zip",
        "page_url",
        "referrer",
    ):
        value = getattr(data, attribute)
        if value and not getattr(lead, attribute):
            setattr(lead, attribute, value.lower() if attribute == "email" else value)
    if data.message:
        lead.message = f"{lead.message}\n\n{data.message}" if lead.message else data.message
    lead.substances = sorted(set(lead.substances) | set(data.substances))
    lead.dsm_criteria = sorted(set(lead.dsm_criteria) | set(data.dsm_criteria))
    lead.severity = severity_for(lead.dsm_criteria)
    lead.contact_preferences = {**lead.contact_preferences, **data.contact_preferences}
    if lead.region is None:
        region = resolve_region(data.state, data.zip, data.from_state, phone.e164)
        lead.region, lead.region_source = region.code, region.source
        lead.timezone = timezone_for(region.code, phone.timezone)
    previous = {
        "level": lead.urgency,
        "score": lead.urgency_score,
        "reasons": lead.urgency_reasons,
        "emergency": lead.emergency,
    }
    urgency = raise_only(previous, _score(data, lead))
    lead.set_urgency(urgency.level, urgency.score, urgency.reasons, urgency.emergency)
    lead.last_touch_at = now
    # The person keeps the first time they were told, even if this touch raised the urgency.
    keep_promise(lead, policy)
    add_event(lead, "merged", actor, {"source": data.source, "urgency": lead.urgency}, at=now)
    if not lead.is_open:
        reopen(lead, actor, now)
    else:
        respond_to_urgency_rise(lead, previous["level"], now)


def _store_consent(lead: Lead, consent: ConsentInput, source: str, now: datetime) -> None:
    db.session.add(
        ConsentRecord(
            lead_id=lead.id,
            given=consent.given,
            text=consent.text,
            version=consent.version,
            given_at=now,
            ip=consent.ip,
            user_agent=(consent.user_agent or "")[:512] or None,
            page_url=consent.page_url,
            source=source,
        )
    )
