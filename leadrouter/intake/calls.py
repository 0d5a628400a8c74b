"""What a call does, step by step, keyed by CallSid (texts are in texts.py).

Operations flush and never commit; the webhook commits once and then answers with
TwiML. Twilio retries, repeats and reorders callbacks, so every step is idempotent:

- the row for a CallSid / MessageSid is claimed first, inside a savepoint, so a
  replay (or twenty at once) finds it and changes nothing else;
- timeline events carry dedupe keys made from the same ids;
- a call's status only moves forward (CALL_STATUS_ORDER) and its outcome only up
  OUTCOME_RANK, so a late or duplicate callback never undoes a later one;
- urgency only rises (raise_only).

The live call never waits on the broker: routing while the caller listens is the
synchronous route_lead(); anything for later is enqueued after the commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from leadrouter.assignment.operations import (
    hand_over_for_call,
    offer_call_elsewhere,
    respond_to_urgency_rise,
    route_lead,
)
from leadrouter.database import is_postgres
from leadrouter.extensions import db
from leadrouter.intake.operations import LeadInput, record_lead
from leadrouter.jobs import enqueue
from leadrouter.leads.timeline import add_event
from leadrouter.models import (
    CALL_STATUS_ORDER,
    SET_AWAY_ACTION,
    Advisor,
    AuditEntry,
    Call,
    CallOffer,
    ContactPreference,
    Lead,
    Recording,
    TrackingNumber,
    utcnow,
)
from leadrouter.pipeline.operations import TRANSITIONS, change_status
from leadrouter.routing.calls import MissedOffer, missed_offer_reason, offer_outcome, should_set_away
from leadrouter.routing.phone import mask_phone, parse_phone
from leadrouter.routing.states import US_STATES, normalize_state
from leadrouter.routing.urgency import UrgencySignals, raise_only, score_urgency

log = logging.getLogger(__name__)
ACTOR = "twilio"

# A call's outcome only moves up: a late "caller hung up" never hides a voicemail.
OUTCOME_RANK = {
    "in_progress": 0,
    "abandoned": 1,
    "missed": 2,
    "crisis_line": 3,
    "voicemail": 4,
    "answered": 5,
}
TERMINAL_STATUSES = frozenset(
    s for s, rank in CALL_STATUS_ORDER.items() if rank == CALL_STATUS_ORDER["completed"]
)
ANSWERED_DIAL_STATUSES = frozenset({"completed", "answered"})
MENU_CHOICES = {"self": "1", "loved_one": "2", "emergency": "0"}


@dataclass(frozen=True)
class CallerInfo:
    """The parameters every voice webhook carries, as Twilio sent them."""

    call_sid: str
    from_number: str | None = None
    to_number: str | None = None
    from_state: str | None = None
    caller_name: str | None = None
    status: str | None = None
    language: str = "en"


@dataclass(frozen=True)
class CallStart:
    call: Call | None
    lead: Lead | None
    blocked: bool = False
    created: bool = False


@dataclass(frozen=True)
class CallStep:
    """What the caller hears next, decided by an operation and spoken by the webhook."""

    kind: str  # blocked | menu | emergency | dial | voicemail | crisis_line | answered | ended
    call: Call | None = None
    lead: Lead | None = None
    advisor: Advisor | None = None
    offer: CallOffer | None = None  # the advisor's ring, for "dial"


@dataclass(frozen=True)
class WhisperFacts:
    """What the advisor hears before the bridge: never a name or a number."""

    region: str | None
    urgency: str
    for_whom: str
    caller_language: str


# --- calls -----------------------------------------------------------------------------


def answer_call(caller: CallerInfo) -> CallStep:
    """An incoming call: record it and its lead once; a blocked number hears a polite no."""
    start = start_call(caller)
    if start.blocked:
        return CallStep("blocked")
    return CallStep("menu", start.call, start.lead)


def choose_from_menu(caller: CallerInfo, choice: str, speech: str | None = None) -> CallStep:
    """The caller answered the welcome menu: emergency guidance, or ring an advisor now."""
    start = start_call(caller)
    if start.blocked:
        return CallStep("blocked")
    apply_menu_choice(start.call, choice, speech)
    if choice == "emergency":
        return CallStep("emergency", start.call, _lead_of(start.call))
    return connect_caller(start.call)


def after_emergency(caller: CallerInfo, digits: str | None) -> CallStep:
    """After the emergency guidance: 9 connects to the 988 Lifeline, anything else to an advisor."""
    start = start_call(caller)
    if start.blocked:
        return CallStep("blocked")
    if (digits or "").strip() == "9":
        record_crisis_line(start.call)
        return CallStep("crisis_line", start.call, _lead_of(start.call))
    return connect_caller(start.call)


def finish_dial(
    caller: CallerInfo,
    dial_status: str | None,
    offer_id: str | int | None = None,
    dial_call_sid: str | None = None,
) -> CallStep:
    """<Dial> ended: the advisor took the call, the next advisor is rung, or voicemail.

    ``offer_id`` (carried in the Dial action's URL) names the ring that ended, so a replayed
    callback finds it already ended and only repeats what the caller heard.
    """
    start = start_call(caller)
    if start.blocked:
        return CallStep("blocked")
    return end_offer(start.call, dial_status, _to_int(offer_id), dial_call_sid)


def take_voicemail(
    call_sid: str | None, recording_sid: str | None, url: str | None, duration: str | int | None
) -> CallStep:
    """The Record action or the recording callback: store the voicemail (once)."""
    call = find_call(call_sid)
    if call is None:
        return CallStep("ended")
    if recording_sid and _to_int(duration) != 0:
        record_voicemail(call, recording_sid, url, duration)
    return CallStep("ended", call, _lead_of(call))


def advisor_accepted(parent_call_sid: str | None) -> Call | None:
    """The advisor pressed a key after the whisper."""
    call = find_call(parent_call_sid)
    if call is not None:
        accept_call(call)
    return call


def whisper_for(parent_call_sid: str | None) -> WhisperFacts | None:
    """Region, urgency and who the call is for, for the advisor's whisper."""
    call = find_call(parent_call_sid)
    lead = _lead_of(call)
    if lead is None:
        return None
    return WhisperFacts(
        region=US_STATES.get(lead.region or ""),
        urgency=lead.urgency,
        for_whom=call.for_whom or lead.for_whom,
        caller_language=lead.language,
    )


def find_call(call_sid: str | None, *, lock: bool = False) -> Call | None:
    """The call for a CallSid; with ``lock`` its row is locked for this transaction."""
    if not call_sid:
        return None
    query = select(Call).where(Call.call_sid == call_sid)
    if lock and is_postgres():
        query = query.with_for_update()
    return db.session.scalar(query.execution_options(populate_existing=lock))


def start_call(caller: CallerInfo) -> CallStart:
    """Record an incoming call and its lead once per CallSid; a blocked number gets neither."""
    existing = find_call(caller.call_sid)
    if existing is not None:
        return CallStart(existing, _lead_of(existing))
    phone = parse_phone(caller.from_number)
    if phone.e164 and is_blocked(phone.e164):
        audit_once("blocked_call", f"call:{caller.call_sid}", phone.e164)
        log.info("blocked caller %s declined", mask_phone(phone.e164))
        return CallStart(None, None, blocked=True)
    to_number = parse_phone(caller.to_number).e164
    call = Call(
        call_sid=caller.call_sid,
        direction="inbound",
        to_number=to_number,
        status=caller.status if caller.status in CALL_STATUS_ORDER else "ringing",
    )
    if not insert_once(call):
        # Another delivery of this CallSid committed first: it owns the lead and events.
        existing = find_call(caller.call_sid)
        return CallStart(existing, _lead_of(existing))
    data = LeadInput(
        source="call",
        phone=phone.e164,
        name=_clean_name(caller.caller_name),
        from_state=normalize_state(caller.from_state),
        campaign=campaign_for(to_number),
        language=caller.language,
        occurred_at=call.started_at,
    )
    lead = record_lead(data, ACTOR, route=False).lead
    call.lead_id = lead.id
    db.session.flush()
    log.info("call %s from %s started for lead %s", caller.call_sid, mask_phone(phone.e164), lead.id)
    return CallStart(call, lead, created=True)


def apply_menu_choice(call: Call, choice: str, speech: str | None = None) -> None:
    """Store who the call is for; the emergency option (or emergency words) makes the lead critical."""
    call = _relock(call)
    call.menu_choice = MENU_CHOICES.get(choice, "1")
    if choice in ("self", "loved_one"):
        call.for_whom = choice
    lead = _lead_of(call)
    if lead is None:
        return
    if choice in ("self", "loved_one"):
        lead.for_whom = choice
    texts = (speech,) if speech else ()
    _raise_urgency(lead, emergency_pressed=choice == "emergency", texts=texts)
    add_event(
        lead,
        "call",
        ACTOR,
        {"call_sid": call.call_sid, "step": "menu", "choice": choice},
        dedupe_key=f"call:{call.call_sid}:menu",
    )


def connect_caller(call: Call, now: datetime | None = None) -> CallStep:
    """Pick the advisor to ring now, routing the lead synchronously (never via the broker).

    A lead that already has an owner rings that owner (continuity); nobody free, or an
    owner who is not available, means voicemail and a high-urgency callback.
    """
    now = now or utcnow()
    call = _relock(call)
    lead = _lead_of(call)
    advisor = None
    if call.advisor_id is not None:
        # A repeated request for the same call rings the same advisor.
        advisor = db.session.get(Advisor, call.advisor_id)
    elif lead is not None:
        if lead.owner_id is None and lead.is_open:
            route_lead(lead.id, trigger="call", now=now, notify=False, wait_for_lock=True)
        if lead.owner_id is not None:
            advisor = db.session.get(Advisor, lead.owner_id)
        if advisor is not None and not _can_take_call(advisor) and hand_over_for_call(lead, now):
            advisor = db.session.get(Advisor, lead.owner_id)
    if advisor is not None and not _can_take_call(advisor):
        advisor = None
    if advisor is None:
        _mark_missed(call, lead, "no advisor free", now)
        return CallStep("voicemail", call, lead)
    return _ring(call, lead, advisor, now)


def end_offer(
    call: Call,
    dial_status: str | None,
    offer_id: int | None = None,
    dial_call_sid: str | None = None,
    now: datetime | None = None,
) -> CallStep:
    """One advisor's ring ended: answered, or hunt for the next advisor before voicemail.

    The advisor who missed it is not rung again for this call within a minute (the pure
    rule in routing.calls); each missed offer is a line on the lead's timeline.
    """
    now = now or utcnow()
    call = _relock(call)
    lead = _lead_of(call)
    offer = _offer_of(call, offer_id)
    if offer is None or offer.ended_at is not None:
        return _current_step(call, lead)  # a replay: the caller hears the same thing again
    answered = record_dial_result(call, dial_status, now)
    offer.ended_at = now
    offer.ring_seconds = max(0, round((now - offer.rang_at).total_seconds()))
    offer.outcome = offer_outcome(dial_status, answered)
    if dial_call_sid and not _dial_sid_taken(dial_call_sid):
        offer.dial_call_sid = dial_call_sid[:64]
    db.session.flush()
    if answered:
        return CallStep("answered", call, lead)
    set_away_after_misses(offer.advisor_id, call, now)
    next_advisor = None
    if lead is not None:
        missed = [
            MissedOffer(o.advisor_id, o.ended_at)
            for o in db.session.scalars(select(CallOffer).where(CallOffer.call_id == call.id))
            if o.ended_at is not None and o.outcome != "answered"
        ]
        advisor_id = offer_call_elsewhere(lead, missed, now)
        next_advisor = db.session.get(Advisor, advisor_id) if advisor_id is not None else None
        if next_advisor is not None and not _can_take_call(next_advisor):
            next_advisor = None
        missed_name = db.session.scalar(select(Advisor.name).where(Advisor.id == offer.advisor_id))
        add_event(
            lead,
            "call",
            ACTOR,
            {
                "call_sid": call.call_sid,
                "step": "offer",
                "outcome": offer.outcome,
                "advisor_id": offer.advisor_id,
                "seconds": offer.ring_seconds,
                "offered_to": next_advisor.id if next_advisor is not None else None,
                "reason": missed_offer_reason(
                    missed_name or "The advisor",
                    offer.outcome,
                    offer.ring_seconds,
                    next_advisor.name if next_advisor is not None else None,
                ),
            },
            dedupe_key=f"call:{call.call_sid}:offer:{offer.id}",
            at=now,
        )
    if next_advisor is not None:
        return _ring(call, lead, next_advisor, now)
    _mark_missed(call, lead, f"advisor did not answer ({call.dial_status or 'unknown'})", now)
    return CallStep("voicemail", call, lead)


def set_away_after_misses(advisor_id: int, call: Call, now: datetime) -> bool:
    """Two offers in a row rang out since the advisor last chose a status: set them away.

    Routing skips an away advisor until they choose `available` again on their dashboard;
    the managers see it on the team board (an audit entry says why).
    """
    advisor = db.session.get(Advisor, advisor_id)
    if advisor is None or advisor.status != "available":
        return False
    outcomes = list(
        db.session.scalars(
            select(CallOffer.outcome)
            .where(
                CallOffer.advisor_id == advisor_id,
                CallOffer.ended_at.is_not(None),
                CallOffer.rang_at >= advisor.status_changed_at,
            )
            .order_by(CallOffer.ended_at.desc(), CallOffer.id.desc())
            .limit(10)
        )
    )
    if not should_set_away(outcomes):
        return False
    advisor.status, advisor.status_changed_at = "away", now
    db.session.add(
        AuditEntry(
            at=now,
            actor=ACTOR,
            action=SET_AWAY_ACTION,
            target=f"advisor:{advisor.id}",
            detail={"reason": "missed two calls in a row", "call_sid": call.call_sid},
        )
    )
    db.session.flush()
    log.warning("advisor %s set away after missing two calls in a row", advisor.id)
    return True


def _ring(call: Call, lead: Lead | None, advisor: Advisor, now: datetime) -> CallStep:
    """Ring ``advisor`` for the call: one offer per advisor's ring (a repeated request reuses it)."""
    offer = db.session.scalar(
        select(CallOffer)
        .where(CallOffer.call_id == call.id, CallOffer.advisor_id == advisor.id, CallOffer.ended_at.is_(None))
        .order_by(CallOffer.id.desc())
        .limit(1)
    )
    if offer is None:
        offer = CallOffer(call_id=call.id, advisor_id=advisor.id, rang_at=now)
        db.session.add(offer)
        db.session.flush()
    call.advisor_id = advisor.id
    return CallStep("dial", call, lead, advisor, offer)


def _offer_of(call: Call, offer_id: int | None) -> CallOffer | None:
    """The ring that ended: the one named, else (an older Dial action URL) the latest open one."""
    query = select(CallOffer).where(CallOffer.call_id == call.id)
    if offer_id is not None:
        return db.session.scalar(query.where(CallOffer.id == offer_id))
    return db.session.scalar(query.where(CallOffer.ended_at.is_(None)).order_by(CallOffer.id.desc()).limit(1))


def _current_step(call: Call, lead: Lead | None) -> CallStep:
    """What the caller is hearing now, for a replayed Dial action."""
    ringing = db.session.scalar(
        select(CallOffer)
        .where(CallOffer.call_id == call.id, CallOffer.ended_at.is_(None))
        .order_by(CallOffer.id.desc())
        .limit(1)
    )
    if ringing is not None:
        return CallStep("dial", call, lead, db.session.get(Advisor, ringing.advisor_id), ringing)
    return CallStep("answered" if call.outcome == "answered" else "voicemail", call, lead)


def _dial_sid_taken(dial_call_sid: str) -> bool:
    return db.session.scalar(select(CallOffer.id).where(CallOffer.dial_call_sid == dial_call_sid)) is not None


def accept_call(call: Call, now: datetime | None = None) -> None:
    """The advisor pressed a key after the whisper: the call is about to be bridged."""
    call = _relock(call)
    if call.answered_at is None:
        call.answered_at = now or utcnow()


def record_dial_result(call: Call, dial_status: str | None, now: datetime | None = None) -> bool:
    """Apply <Dial>'s outcome; True when the advisor took the call (end_offer handles a miss).

    "completed" only counts once the advisor accepted after the whisper: otherwise what
    picked up was the advisor's own voicemail, or they declined.
    """
    now = now or utcnow()
    call = _relock(call)
    status = (dial_status or "").strip().lower()
    call.dial_status = status[:16] or None
    lead = _lead_of(call)
    if status in ANSWERED_DIAL_STATUSES and call.answered_at is not None:
        _set_outcome(call, "answered")
        if lead is not None:
            _first_contact(lead, now)
            add_event(
                lead,
                "call",
                ACTOR,
                {"call_sid": call.call_sid, "outcome": "answered", "advisor_id": call.advisor_id},
                dedupe_key=f"call:{call.call_sid}:answered",
            )
        return True
    return False


def record_crisis_line(call: Call) -> None:
    """The caller chose to be connected to the 988 Lifeline."""
    call = _relock(call)
    _set_outcome(call, "crisis_line")
    lead = _lead_of(call)
    if lead is not None:
        add_event(
            lead,
            "call",
            ACTOR,
            {"call_sid": call.call_sid, "outcome": "crisis_line", "detail": "connected to the 988 Lifeline"},
            dedupe_key=f"call:{call.call_sid}:988",
        )


def record_voicemail(
    call: Call,
    recording_sid: str | None,
    url: str | None,
    duration: str | int | None,
    now: datetime | None = None,
) -> Recording | None:
    """Store the voicemail once per RecordingSid; the lead becomes a callback, at least high."""
    now = now or utcnow()
    call = _relock(call)
    seconds = _to_int(duration)
    if not recording_sid:
        return None
    recording = db.session.scalar(select(Recording).where(Recording.recording_sid == recording_sid))
    if recording is None:
        recording = Recording(
            recording_sid=recording_sid,
            call_id=call.id,
            kind="voicemail",
            url=url,
            duration_seconds=seconds,
            created_at=now,
        )
        if not insert_once(recording):
            recording = db.session.scalar(select(Recording).where(Recording.recording_sid == recording_sid))
    if recording is not None:
        # The Record action and the recording callback both carry the details; keep what is known.
        recording.url = recording.url or url
        recording.duration_seconds = (
            recording.duration_seconds if recording.duration_seconds is not None else seconds
        )
    _set_outcome(call, "voicemail")
    lead = _lead_of(call)
    if lead is not None:
        if lead.source == "call":
            lead.source = "voicemail"
        _raise_urgency(lead, source="voicemail")
        event = add_event(
            lead,
            "voicemail",
            ACTOR,
            {"call_sid": call.call_sid, "recording_sid": recording_sid, "duration_seconds": seconds},
            dedupe_key=f"voicemail:{recording_sid}",
        )
        if event is not None:
            _route_later(lead)
    return recording


def update_call_status(
    call_sid: str | None,
    status: str | None,
    duration: str | int | None = None,
    parent_call_sid: str | None = None,
    now: datetime | None = None,
) -> Call | None:
    """Apply a status callback; it only moves forward, and a call nobody answered ends abandoned."""
    now = now or utcnow()
    status = (status or "").strip().lower()
    call = find_call(call_sid, lock=True)
    if call is None:
        # The advisor's leg (its own CallSid, the caller's as ParentCallSid) or an unknown call.
        return None if parent_call_sid is None else find_call(parent_call_sid)
    if status not in CALL_STATUS_ORDER:
        return call
    if CALL_STATUS_ORDER[status] <= CALL_STATUS_ORDER.get(call.status, 0):
        return call  # a duplicate, or older news than what we already have
    call.status = status
    if status not in TERMINAL_STATUSES:
        return call
    call.ended_at = now
    call.duration_seconds = _to_int(duration)
    lead = _lead_of(call)
    if call.direction != "inbound":
        # Our own click-to-call leg: its end says nothing about a caller giving up.
        if call.outcome == "in_progress":
            _set_outcome(call, "answered" if status == "completed" else "missed")
        return call
    if call.outcome == "in_progress":
        _set_outcome(call, "abandoned")
        if lead is not None:
            _raise_urgency(lead, abandoned_call=True)
            add_event(
                lead,
                "call",
                ACTOR,
                {
                    "call_sid": call.call_sid,
                    "outcome": "abandoned",
                    "detail": "caller hung up before reaching an advisor",
                },
                dedupe_key=f"call:{call.call_sid}:abandoned",
            )
    if lead is not None:
        _route_later(lead)
    return call


def campaign_for(to_number: str | None) -> str | None:
    """The campaign a helpline number belongs to (call tracking)."""
    if not to_number:
        return None
    return db.session.scalar(select(TrackingNumber.campaign).where(TrackingNumber.number == to_number))


def is_blocked(phone_e164: str | None) -> bool:
    if not phone_e164:
        return False
    return bool(
        db.session.scalar(select(ContactPreference.blocked).where(ContactPreference.phone == phone_e164))
    )


# --- helpers ---------------------------------------------------------------------------


def insert_once(row) -> bool:
    """Insert a row keyed by a Twilio id; False when another delivery already did."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return False
    return True


def _relock(call: Call) -> Call:
    """Lock the call row so concurrent callbacks for one call apply one at a time."""
    return find_call(call.call_sid, lock=True) or call


def _lead_of(call: Call | None) -> Lead | None:
    if call is None or call.lead_id is None:
        return None
    return db.session.get(Lead, call.lead_id)


def _set_outcome(call: Call, outcome: str) -> None:
    if OUTCOME_RANK[outcome] > OUTCOME_RANK.get(call.outcome, 0):
        call.outcome = outcome


def _mark_missed(call: Call, lead: Lead | None, why: str, now: datetime) -> None:
    """No advisor took the call: the lead needs a callback soon (at least high)."""
    _set_outcome(call, "missed")
    if lead is None:
        return
    _raise_urgency(lead, missed_call=True)
    add_event(
        lead,
        "call",
        ACTOR,
        {"call_sid": call.call_sid, "outcome": "missed", "detail": why},
        dedupe_key=f"call:{call.call_sid}:missed",
        at=now,
    )


def _raise_urgency(
    lead: Lead,
    *,
    texts=(),
    source: str = "call",
    missed_call: bool = False,
    abandoned_call: bool = False,
    emergency_pressed: bool = False,
) -> None:
    """Re-score with the call's signals; urgency only rises, and the SLA tightens with it."""
    signals = UrgencySignals(
        texts=tuple(texts),
        severity=lead.severity,
        dsm_criteria=frozenset(lead.dsm_criteria or ()),
        substances=frozenset(lead.substances or ()),
        source=source,
        missed_call=missed_call,
        abandoned_call=abandoned_call,
        emergency_pressed=emergency_pressed,
        for_whom=lead.for_whom,
    )
    previous = {
        "level": lead.urgency,
        "score": lead.urgency_score,
        "reasons": lead.urgency_reasons,
        "emergency": lead.emergency,
    }
    urgency = raise_only(previous, score_urgency(signals))
    if (
        urgency.level == lead.urgency
        and urgency.score == lead.urgency_score
        and list(urgency.reasons) == list(lead.urgency_reasons or ())
    ):
        return
    lead.set_urgency(urgency.level, urgency.score, urgency.reasons, urgency.emergency)
    respond_to_urgency_rise(lead, previous["level"])


def _first_contact(lead: Lead, now: datetime) -> None:
    """An advisor spoke with the caller: that is the first contact (stops the SLA clock)."""
    if lead.first_contact_at is None:
        lead.first_contact_at = now
    if "contacted" in TRANSITIONS.get(lead.status, ()) and lead.status in ("new", "queued", "assigned"):
        change_status(lead, "contacted", ACTOR, now=now)


def _route_later(lead: Lead) -> None:
    """An unowned callback lead goes to the router after the commit (not in the caller's path)."""
    if lead.owner_id is None and lead.is_open:
        enqueue("routing.route_lead", lead.id)


def _can_take_call(advisor: Advisor) -> bool:
    return bool(advisor.active and advisor.status == "available" and parse_phone(advisor.phone).e164)


def audit_once(action: str, target: str, phone: str) -> None:
    """Audit a declined call or text from a blocked number, once per Twilio id."""
    exists = db.session.scalar(
        select(AuditEntry.id).where(AuditEntry.action == action, AuditEntry.target == target)
    )
    if exists is None:
        db.session.add(
            AuditEntry(actor=ACTOR, action=action, target=target, detail={"phone": mask_phone(phone)})
        )
        db.session.flush()


def _clean_name(name: str | None) -> str | None:
    """Twilio's CNAM caller name, as plain text (it is escaped wherever it is shown)."""
    name = (name or "").strip()
    return name[:200] or None


def _to_int(value) -> int | None:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return None
