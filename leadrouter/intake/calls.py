"""What a call does, step by step, keyed by CallSid (texts are in texts.py).

Operations flush and never commit; the webhook commits once and then answers with
TwiML. Twilio retries, repeats and reorders callbacks, so every step is idempotent:

- the row for a CallSid / MessageSid is claimed first, inside a savepoint, so a
  replay (or twenty at once) finds it and changes nothing else;
- timeline events carry dedupe keys made from the same ids;
- a call's status only moves forward (CALL_STATUS_ORDER) and its outcome only up
  OUTCOME_RANK, so a late or duplicate callback never undoes a later one;
- urgency only rises (raise_only).

The live call never waits on the broker: choosing whom to ring while the caller listens
is the synchronous offer_caller() (assignment); anything for later is enqueued after the
commit. A caller nobody can take at once holds in a loop of hold turns, served most
urgent first then longest holding, and leaves the line for a call back (1, the max wait,
nobody on duty); while a ring is open, any request for the call repeats that ring.

Every lead is contacted only with consent: a callback follow-up is opened only for a lead
that may be called (assignment.queries.callable_lead_ids, what enables "Call the lead").
A caller who heard the first hold turn ("if we get cut off, we call you back; press 9 if
that is not safe") and leaves the line without an advisor and without pressing 9 gave that
consent (PHONE_HOLD_CALLBACK_VERSION); pressing 9 is remembered as a lead event.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Select, func, select, text
from sqlalchemy.exc import IntegrityError

from leadrouter.assignment.facts import active_advisor_facts, lead_facts
from leadrouter.assignment.operations import (
    offer_caller,
    reassign_lead,
    release_missed_ring,
    respond_to_urgency_rise,
)
from leadrouter.assignment.policy_store import load_policy
from leadrouter.assignment.queries import callable_lead_ids, on_a_live_call
from leadrouter.database import is_postgres
from leadrouter.extensions import db
from leadrouter.intake.consent import (
    PHONE_CALLBACK_VERSION,
    PHONE_HOLD_CALLBACK_VERSION,
    PHONE_VOICEMAIL_VERSION,
    phone_consent_text,
)
from leadrouter.intake.contact_time import promised_contact_time
from leadrouter.intake.operations import LeadInput, record_lead
from leadrouter.jobs import enqueue
from leadrouter.leads.deadlines import refresh_next_due
from leadrouter.leads.timeline import add_event
from leadrouter.models import (
    ANSWERED_WITH_LENGTH,
    CALL_STATUS_ORDER,
    SET_AWAY_ACTION,
    Advisor,
    AuditEntry,
    Call,
    CallOffer,
    ConsentRecord,
    ContactPreference,
    Event,
    FollowUp,
    Lead,
    Recording,
    TrackingNumber,
    holding_now,
    utcnow,
)
from leadrouter.pipeline.operations import TRANSITIONS, change_status
from leadrouter.routing.calls import (
    RING_AGAIN_AFTER,
    Hold,
    MissedOffer,
    Ring,
    caller_gone_after,
    expected_wait_seconds,
    first_hold_turn,
    missed_offer_reason,
    next_staffed_at,
    notice_due,
    offer_outcome,
    place_in_line,
    recently_missed,
    should_set_away,
    waited_too_long,
)
from leadrouter.routing.engine import LeadFacts
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
# How many of the latest answered calls the expected wait on hold is estimated from.
TALK_SAMPLE = 50
# Keys on hold: a call back now; no call back if the call drops (twiml.DIGIT_CALL_BACK / _NO_CALL_BACK).
HOLD_CALL_BACK = "1"
HOLD_NO_CALL_BACK = "9"


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
    """What the caller hears next, decided by an operation and spoken by the webhook.

    kind: blocked | menu | emergency | dial | hold | callback (left the line: the promise and
    a message) | closed (nobody on duty: when the line is staffed, then as callback) |
    on_call (ON_CALL_NUMBER) | voicemail | crisis_line | answered | ended.
    """

    kind: str
    call: Call | None = None
    lead: Lead | None = None
    rung: tuple[tuple[Advisor, CallOffer], ...] = ()  # advisors rung at once and their offers, for "dial"
    place_in_line: int | None = None  # for "hold"
    expected_wait_seconds: int | None = None
    say_notice: bool = False
    staffed_at: datetime | None = None  # for "closed", when it is known
    wait_long: bool = False  # for "hold": the estimate is beyond the longest we keep anyone holding
    nobody_answered: bool = False  # for "callback": advisors were rung for this call, none took it
    advisors_on_calls: bool = True  # for "hold": someone is on (or being rung for) a live call
    first_hold_turn: bool = False  # for "hold": the first turn, which says we call back unless 9

    @property
    def may_call_back(self) -> bool:
        """For "callback" / "closed": the lead may be called back now (consent on record), so the
        call back is promised; otherwise only a message left after the tone makes it one."""
        return self.lead is not None and self.lead.id in callable_lead_ids([self.lead])

    @property
    def advisor(self) -> Advisor | None:
        return self.rung[0][0] if self.rung else None

    @property
    def offer(self) -> CallOffer | None:
        return self.rung[0][1] if self.rung else None


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


def hold_turn(caller: CallerInfo, digits: str | None) -> CallStep:
    """One turn of the hold loop: `1` asks for a call back; `9` asks for none if the call drops
    (and keeps holding); otherwise look for a free advisor again."""
    # Every turn locks the call: lock it as it is read, not in a second statement.
    start = start_call(caller, lock=True)
    if start.blocked:
        return CallStep("blocked")
    key = (digits or "").strip()
    if key == HOLD_CALL_BACK:
        return ask_for_call_back(start.call)
    if key == HOLD_NO_CALL_BACK:
        refuse_call_back(start.call)
    return connect_caller(start.call, locked=True)


def after_emergency(caller: CallerInfo, digits: str | None) -> CallStep:
    """After the emergency guidance: 9 connects to the 988 Lifeline, anything else to an advisor."""
    start = start_call(caller)
    if start.blocked:
        return CallStep("blocked")
    if (digits or "").strip() == "9":
        record_crisis_line(start.call)
        return CallStep("crisis_line", start.call, _lead_of(start.call))
    return connect_caller(start.call, emergency=True)


def finish_dial(
    caller: CallerInfo,
    dial_status: str | None,
    offer_id: str | int | None = None,
    dial_call_sid: str | None = None,
    *,
    on_call: bool = False,
    dial_seconds: str | int | None = None,
) -> CallStep:
    """<Dial> ended: the advisor took the call, the next advisor is rung, the caller holds, or voicemail.

    ``offer_id`` (carried in the Dial action's URL) names the ring that ended, so a replayed
    callback finds it already ended and only repeats what the caller heard. ``on_call``
    marks the Dial to ON_CALL_NUMBER.
    """
    start = start_call(caller)
    if start.blocked:
        return CallStep("blocked")
    if on_call:
        return end_on_call(start.call, dial_status, _to_int(dial_seconds))
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


def advisor_accepted(parent_call_sid: str | None, offer_id: str | int | None = None) -> Call | None:
    """The advisor pressed a key after the whisper (``offer_id`` says which advisor, when several rang)."""
    call = find_call(parent_call_sid)
    if call is not None:
        accept_call(call, offer_id=_to_int(offer_id))
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
        # Option 0 skips the question: the lead's stored default ("self") was never said.
        for_whom=call.for_whom
        or ("not_asked" if call.menu_choice == MENU_CHOICES["emergency"] else lead.for_whom),
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


def start_call(caller: CallerInfo, *, lock: bool = False) -> CallStart:
    """Record an incoming call and its lead once per CallSid; a blocked number gets neither.

    With ``lock``, a call already recorded is read with its row locked (see `_relock`).
    """
    existing = find_call(caller.call_sid, lock=lock)
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
    # The welcome that answers this request says the 911 / 988 notice.
    call.notice_said_at = call.started_at = utcnow()
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


def connect_caller(
    call: Call, now: datetime | None = None, *, emergency: bool = False, locked: bool = False
) -> CallStep:
    """Ring the advisor(s) who can take the caller now, or hold, or voicemail; never via the broker.

    A repeated request while a ring is going repeats that ring; a caller who already left
    the line hears the same thing again. An emergency (option 0, or a caller scored
    critical) rings up to RING_ALL_SIZE advisors at once and, with ON_CALL_NUMBER set, is
    never sent to hold or voicemail before that number has been tried. ``locked``: the caller
    read the call with its row lock (or inserted it) in this transaction.
    """
    now = now or utcnow()
    call = call if locked else _relock(call)
    lead = _lead_of(call)
    # One read of the call's rings gives both the rings going and the advisors who missed it.
    offers = _offers_of(call)
    ringing = [offer for offer in offers if offer.ended_at is None]
    if ringing:
        return _dial_step(call, lead, ringing)
    if call.outcome != "in_progress" or call.answered_at is not None or call.ended_at is not None:
        return _current_step(call, lead)
    emergency = emergency or call.menu_choice == "0"
    return _next_for_caller(call, lead, now, emergency=emergency, missed=_missed_of(offers))


def ask_for_call_back(call: Call, now: datetime | None = None) -> CallStep:
    """The caller pressed 1 on hold: a call back instead of waiting (they may leave a message)."""
    now = now or utcnow()
    call = _relock(call)
    lead = _lead_of(call)
    if _open_offers(call) or call.outcome != "in_progress" or call.answered_at is not None:
        return _current_step(call, lead)
    if lead is not None:
        record_phone_consent(call, lead, PHONE_CALLBACK_VERSION, now)
    return _leave_line(call, lead, "asked for a call back while holding", now)


def refuse_call_back(call: Call, now: datetime | None = None) -> None:
    """The caller pressed 9 on hold: no call back if the call drops; they keep their place in line.

    Remembered as a lead event keyed by the call, which the ways out of the line check
    (`_refused_call_back`); a later 1 or message is an explicit request and still counts.
    """
    now = now or utcnow()
    call = _relock(call)
    lead = _lead_of(call)
    if lead is None or call.outcome != "in_progress" or call.answered_at is not None:
        return
    add_event(
        lead,
        "call",
        ACTOR,
        {
            "call_sid": call.call_sid,
            "step": "no_call_back",
            "detail": "asked not to be called back if the call drops",
        },
        dedupe_key=_no_call_back_key(call),
        at=now,
    )
    db.session.flush()


def _no_call_back_key(call: Call) -> str:
    return f"call:{call.call_sid}:no-call-back"


def _refused_call_back(call: Call) -> bool:
    return db.session.scalar(select(Event.id).where(Event.dedupe_key == _no_call_back_key(call))) is not None


def _consent_from_hold(call: Call, lead: Lead, now: datetime) -> None:
    """The caller leaves the line without an advisor after the first hold turn told them we would
    call back unless they pressed 9: without a 9, that is their consent (the words they heard)."""
    if call.hold_started_at is None or _refused_call_back(call) or _consent_on_call(call, lead):
        return  # not told, said no, or already asked for the call back (1) on this call
    record_phone_consent(call, lead, PHONE_HOLD_CALLBACK_VERSION, now)


def _consent_on_call(call: Call, lead: Lead) -> bool:
    page = f"call:{call.call_sid}"
    found = select(ConsentRecord.id).where(ConsentRecord.lead_id == lead.id, ConsentRecord.page_url == page)
    return db.session.scalar(found.limit(1)) is not None


def record_phone_consent(call: Call, lead: Lead, version: str, now: datetime) -> ConsentRecord | None:
    """The caller answered a call-back prompt: consent to be called back, once per call and prompt.

    The stored text is the prompt in the language the caller heard it; the call's sid stands
    where a form's page address would.
    """
    page = f"call:{call.call_sid}"
    exists = db.session.scalar(
        select(ConsentRecord.id).where(
            ConsentRecord.lead_id == lead.id, ConsentRecord.version == version, ConsentRecord.page_url == page
        )
    )
    if exists is not None:
        return None
    consent = ConsentRecord(
        lead_id=lead.id,
        given=True,
        text=phone_consent_text(version, lead.language),
        version=version,
        given_at=now,
        page_url=page,
        source="call",
    )
    db.session.add(consent)
    db.session.flush()
    return consent


def _next_for_caller(
    call: Call,
    lead: Lead | None,
    now: datetime,
    *,
    emergency: bool,
    after_ring_all: bool = False,
    missed: list[MissedOffer] | None = None,
) -> CallStep:
    """Ring, hold, the on-call line or voicemail: what comes next for a caller nobody is talking to.

    A critical caller nobody can take goes to the on-call line (when set) rather than hold or
    voicemail; after an emergency ring of several advisors went unanswered, the on-call line
    comes next, before any other advisor is rung.
    """
    if lead is None:
        return _leave_line(call, lead, "no lead for the call", now)
    settings = current_app.config
    critical = emergency or lead.urgency == "critical"
    on_call = bool(critical and settings.get("ON_CALL_NUMBER") and not _on_call_tried(call))
    if on_call and after_ring_all:
        return _dial_on_call(call, lead, now)
    missed = _missed_offers(call) if missed is None else missed
    step = offer_caller(
        lead,
        now,
        missed=missed,
        line=lambda: callers_in_line(now, except_call_id=call.id),
        waiting_since=call.hold_started_at or now,
        ring_all_size=settings["RING_ALL_SIZE"] if critical else 1,
    )
    if isinstance(step, Ring):
        return _ring(call, lead, step.advisor_ids, now)
    if on_call:
        return _dial_on_call(call, lead, now)
    if isinstance(step, Hold):
        # Only the order of the line tells the place in it: who missed whom does not matter here.
        line = callers_in_line(now, except_call_id=call.id, with_misses=False)
        return _hold(call, lead, now, on_duty=step.on_duty, line=line)
    return _nobody_on_duty(call, lead, now, missed)


def _dial_on_call(call: Call, lead: Lead, now: datetime) -> CallStep:
    add_event(
        lead,
        "call",
        ACTOR,
        {
            "call_sid": call.call_sid,
            "step": "on_call",
            "detail": "no advisor took it: dialed the on-call line",
        },
        dedupe_key=f"call:{call.call_sid}:on_call",
        at=now,
    )
    return CallStep("on_call", call, lead)


def _hold(call: Call, lead: Lead, now: datetime, *, on_duty: int, line: list[LeadFacts]) -> CallStep:
    """Advisors who could take the call are busy: another turn in line, or voicemail after the max wait."""
    settings = current_app.config
    if waited_too_long(call.started_at, now, settings["CALL_MAX_WAIT_SECONDS"]):
        return _leave_line(call, lead, "waited the longest we keep a caller on hold", now)
    # A retried first turn says the call-back sentence again: the consent stored when the caller
    # leaves the line rests on it, and Twilio plays the answer to the request that succeeded.
    first_turn = first_hold_turn(call.hold_started_at, now, settings["HOLD_ANNOUNCE_SECONDS"]) and not (
        call.hold_started_at is not None and _refused_call_back(call)
    )
    if call.hold_started_at is None:
        call.hold_started_at = now
        add_event(
            lead,
            "call",
            ACTOR,
            {"call_sid": call.call_sid, "step": "hold", "detail": "all advisors who could take it are busy"},
            dedupe_key=f"call:{call.call_sid}:hold",
            at=now,
        )
    say_notice = notice_due(call.notice_said_at, now, settings["HOLD_ANNOUNCE_SECONDS"])
    if say_notice:
        call.notice_said_at = now
    db.session.flush()
    me = LeadFacts(
        id=lead.id,
        urgency=lead.urgency,
        region=lead.region,
        language=lead.language,
        created_at=call.started_at,
        queued_since=call.hold_started_at,
    )
    return _hold_step(
        call, lead, on_duty=on_duty, say_notice=say_notice, line=[*line, me], first_turn=first_turn
    )


def _hold_step(
    call: Call,
    lead: Lead | None,
    *,
    on_duty: int,
    say_notice: bool,
    line: list[LeadFacts],
    first_turn: bool = False,
) -> CallStep:
    place = place_in_line(lead.id, line) if lead is not None else None
    average_talk, on_calls = _line_figures(utcnow())
    wait = expected_wait_seconds(place, on_duty, average_talk) if place else None
    # The caller leaves the line for a call back at the max wait: a longer estimate is never said.
    left = current_app.config["CALL_MAX_WAIT_SECONDS"] - (utcnow() - call.started_at).total_seconds()
    wait_long = wait is not None and wait > left
    return CallStep(
        "hold",
        call,
        lead,
        place_in_line=place,
        expected_wait_seconds=None if wait_long else wait,
        say_notice=say_notice,
        wait_long=wait_long,
        advisors_on_calls=on_calls,
        first_hold_turn=first_turn,
    )


def _line_figures(now: datetime) -> tuple[float | None, bool]:
    """What a hold turn tells the caller, read in one statement: the average length of the latest
    answered calls (for the expected wait), and whether any active advisor is on a live call or
    being rung for one (what "helping other callers" claims)."""
    on_call = select(Advisor.id).where(Advisor.active.is_(True), on_a_live_call(Advisor.id, now))
    average, on_calls = db.session.execute(select(_average_talk().scalar_subquery(), on_call.exists())).one()
    return (float(average) if average else None), on_calls is True


def _nobody_on_duty(call: Call, lead: Lead, now: datetime, missed: list[MissedOffer]) -> CallStep:
    """Nobody who could take the call is working: when the line is staffed, then a call back at once."""
    if missed:
        # Advisors were just rung (and set away for missing it): "nobody on duty" is not what happened.
        _leave_line(call, lead, "no advisor rung for the call answered", now)
        return CallStep("callback", call, lead, nobody_answered=True)
    staffed_at = next_staffed_at(active_advisor_facts(now), lead_facts(lead), now)
    _leave_line(call, lead, "nobody who could take it is on duty", now)
    return CallStep("closed", call, lead, staffed_at=staffed_at)


def _leave_line(call: Call, lead: Lead | None, why: str, now: datetime) -> CallStep:
    """The caller goes to voicemail / a call back: the lead needs a callback soon (at least high).

    The callback is opened only with consent: pressing 1 (stored before this), the first hold
    turn's promise without a 9, or later a message (record_voicemail opens it then).
    """
    _set_outcome(call, "voicemail")
    if lead is not None:
        _raise_urgency(lead, missed_call=True)
        _consent_from_hold(call, lead, now)
        schedule_call_back(lead, why, now, call=call, no_permission=NO_PERMISSION_LEFT_LINE)
        add_event(
            lead,
            "call",
            ACTOR,
            {"call_sid": call.call_sid, "outcome": "voicemail", "detail": why},
            dedupe_key=f"call:{call.call_sid}:left_line",
            at=now,
        )
        _route_later(lead)
    db.session.flush()
    return CallStep("callback", call, lead)


# Why nobody will call back (timeline event steps; the dashboard words them, presenters).
NO_PERMISSION_HUNG_UP = "hung_up_no_permission"
NO_PERMISSION_LEFT_LINE = "left_line_no_permission"
_NO_PERMISSION_DETAIL = {
    NO_PERMISSION_HUNG_UP: "hung up before reaching an advisor; no permission to call back",
    NO_PERMISSION_LEFT_LINE: "left the line before reaching an advisor; no permission to call back"
    " unless they leave a message",
}


def schedule_call_back(
    lead: Lead, why: str, now: datetime, *, call: Call | None = None, no_permission: str | None = None
) -> FollowUp | None:
    """Make the lead a callback lead: an open callback due when the person was promised it.

    Only for a lead that may be called (consent on record, a phone, not do-not-contact: the
    check that enables "Call the lead"). Without consent the lead stays open as it is and,
    with `call` and `no_permission` (a step above), the timeline says why nobody calls back.
    """
    if not lead.is_open:
        return None
    if lead.id not in callable_lead_ids([lead]):
        if call is not None and no_permission is not None and not lead.do_not_contact and lead.phone:
            add_event(
                lead,
                "call",
                ACTOR,
                {
                    "call_sid": call.call_sid,
                    "step": no_permission,
                    "detail": _NO_PERMISSION_DETAIL[no_permission],
                },
                dedupe_key=f"call:{call.call_sid}:{no_permission}",
                at=now,
            )
        return None
    existing = db.session.scalar(
        select(FollowUp).where(
            FollowUp.lead_id == lead.id, FollowUp.kind == "callback", FollowUp.status == "open"
        )
    )
    due = promised_contact_time(lead, now)
    if existing is not None:
        existing.due_at = min(existing.due_at, due)
        refresh_next_due(lead)
        return existing
    callback = FollowUp(
        lead_id=lead.id,
        advisor_id=lead.owner_id,
        kind="callback",
        due_at=due,
        note=f"Call back: {why}",
        status="open",
        created_by=ACTOR,
        created_at=now,
    )
    db.session.add(callback)
    db.session.flush()
    refresh_next_due(lead)
    return callback


def end_offer(
    call: Call,
    dial_status: str | None,
    offer_id: int | None = None,
    dial_call_sid: str | None = None,
    now: datetime | None = None,
) -> CallStep:
    """The advisors' ring ended: answered, or hunt for the next advisor, hold, or voicemail.

    Every advisor rung by that <Dial> (several for an emergency) gets their offer's outcome;
    the ones who missed it are not rung again for this call within a minute (the pure rule
    in routing.calls), and each miss is a line on the lead's timeline.
    """
    now = now or utcnow()
    call = _relock(call)
    lead = _lead_of(call)
    named = _offer_of(call, offer_id)
    if named is None or named.ended_at is not None:
        return _current_step(call, lead)  # a replay: the caller hears the same thing again
    answered = record_dial_result(call, dial_status, now)
    ended = _open_offers(call)
    for offer in ended:
        offer.ended_at = now
        offer.ring_seconds = max(0, round((now - offer.rang_at).total_seconds()))
        if answered:
            taken = offer.advisor_id == call.advisor_id
            offer.outcome = "answered" if taken else "canceled"
        else:
            offer.outcome = offer_outcome(dial_status, False)
    took = next((offer for offer in ended if offer.outcome == "answered"), named)
    if dial_call_sid and not _dial_sid_taken(dial_call_sid):
        took.dial_call_sid = dial_call_sid[:64]
    db.session.flush()
    if answered:
        if lead is not None and lead.is_open and call.advisor_id not in (None, lead.owner_id):
            advisor = db.session.get(Advisor, call.advisor_id)
            reassign_lead(lead, advisor, ACTOR, "took the call when several advisors rang", now)
        return CallStep("answered", call, lead)
    # Each miss is on the timeline before whatever comes next (the next ring's assignment, the
    # hold): same time, so the order they happened in is the order they are written in.
    missed = [
        (offer, _missed_offer_event(call, lead, offer, now) if lead is not None else None) for offer in ended
    ]
    for offer in ended:
        if lead is not None:
            release_missed_ring(lead, offer.advisor_id, offer.rang_at, now)
        set_away_after_misses(offer.advisor_id, call, now)
    step = _next_for_caller(call, lead, now, emergency=call.menu_choice == "0", after_ring_all=len(ended) > 1)
    if lead is not None:
        # Who the caller was offered to next is known only now: each miss's line says it.
        next_advisor = step.advisor if step.kind == "dial" else None
        names = dict(
            db.session.execute(
                select(Advisor.id, Advisor.name).where(Advisor.id.in_([o.advisor_id for o in ended]))
            ).all()
        )
        for offer, event in missed:
            if event is None:
                continue
            event.detail = {
                **event.detail,
                "offered_to": next_advisor.id if next_advisor is not None else None,
                "reason": missed_offer_reason(
                    names.get(offer.advisor_id) or "The advisor",
                    offer.outcome,
                    offer.ring_seconds,
                    next_advisor.name if next_advisor is not None else None,
                    then=step.kind,
                ),
            }
        db.session.flush()
    return step


def _missed_offer_event(call: Call, lead: Lead, offer: CallOffer, now: datetime) -> Event | None:
    """The timeline line of one advisor's ring that ended without them taking the call."""
    return add_event(
        lead,
        "call",
        ACTOR,
        {
            "call_sid": call.call_sid,
            "step": "offer",
            "outcome": offer.outcome,
            "advisor_id": offer.advisor_id,
            "seconds": offer.ring_seconds,
        },
        dedupe_key=f"call:{call.call_sid}:offer:{offer.id}",
        at=now,
    )


def end_on_call(
    call: Call, dial_status: str | None, talk_seconds: int | None, now: datetime | None = None
) -> CallStep:
    """The Dial to ON_CALL_NUMBER ended: answered there, or back to the advisors (hold or voicemail)."""
    now = now or utcnow()
    call = _relock(call)
    lead = _lead_of(call)
    if _open_offers(call) or call.outcome != "in_progress" or call.answered_at is not None:
        return _current_step(call, lead)
    status = (dial_status or "").strip().lower()
    ended = lead is None or add_event(
        lead,
        "call",
        ACTOR,
        {"call_sid": call.call_sid, "step": "on_call_ended", "dial_status": status[:16]},
        dedupe_key=f"call:{call.call_sid}:on_call_ended",
        at=now,
    )
    if not ended:
        return _current_step(call, lead)  # a replay of the on-call Dial's end
    call.dial_status = status[:16] or None
    if status in ANSWERED_DIAL_STATUSES and talk_seconds:
        # The on-call person is not an advisor: answered, with no advisor on the call.
        call.answered_at = now - timedelta(seconds=talk_seconds)
        _set_outcome(call, "answered")
        if lead is not None:
            add_event(
                lead,
                "call",
                ACTOR,
                {"call_sid": call.call_sid, "outcome": "answered", "detail": "answered on the on-call line"},
                dedupe_key=f"call:{call.call_sid}:answered",
                at=now,
            )
        return CallStep("answered", call, lead)
    return _next_for_caller(call, lead, now, emergency=False)


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


def callers_in_line(
    now: datetime, except_call_id: int | None = None, *, with_misses: bool = True
) -> list[LeadFacts]:
    """Callers holding now and not being rung, as the line orders them (urgency, then wait).

    Each caller's `exclude_ids` are the advisors who missed that call within the minute: they
    are not rung again for it yet, so that caller has no claim on them (left out, one
    statement fewer, `with_misses=False`: for the place in line, which they do not change).
    """
    settings = current_app.config
    gone_after = caller_gone_after(settings["CALL_MAX_WAIT_SECONDS"], settings["HOLD_ANNOUNCE_SECONDS"])
    ringing = select(CallOffer.id).where(CallOffer.call_id == Call.id, CallOffer.ended_at.is_(None))
    query = (
        select(Lead.id, Lead.urgency, Lead.region, Lead.language, Call.started_at, Call.hold_started_at)
        .join(Lead, Lead.id == Call.lead_id)
        .where(holding_now(now, gone_after), ~ringing.exists())
    )
    if except_call_id is not None:
        query = query.where(Call.id != except_call_id)
    rows = db.session.execute(query.add_columns(Call.id.label("call_id"), Lead.owner_id)).all()
    missed: dict[int, list[MissedOffer]] = {}
    if rows and with_misses:
        recent = db.session.execute(
            select(CallOffer.call_id, CallOffer.advisor_id, CallOffer.ended_at).where(
                # By the call's id: `row.id` would be the lead's (the first "id" column).
                CallOffer.call_id.in_([row.call_id for row in rows]),
                CallOffer.ended_at > now - RING_AGAIN_AFTER,
                CallOffer.outcome != "answered",
            )
        )
        for call_id, advisor_id, ended_at in recent:
            missed.setdefault(call_id, []).append(MissedOffer(advisor_id, ended_at))
    return [
        LeadFacts(
            id=lead_id,
            urgency=urgency,
            region=region,
            language=language,
            source="call",
            created_at=started_at,
            queued_since=hold_started_at,
            owner_id=owner_id,
            exclude_ids=recently_missed(missed.get(call_id, ()), now),
            exclude_reason="did not answer this call a moment ago",
        )
        for lead_id, urgency, region, language, started_at, hold_started_at, call_id, owner_id in rows
    ]


def _average_talk() -> Select:
    """How long the latest answered calls lasted, on average (for the expected wait).

    The latest TALK_SAMPLE only, newest first from the index of answered calls
    (ix_calls_answered_started), so a hold turn never averages, nor walks past, a day of calls.
    """
    latest = (
        select(Call.duration_seconds)
        .where(text(ANSWERED_WITH_LENGTH))
        .order_by(Call.started_at.desc())
        .limit(TALK_SAMPLE)
        .subquery()
    )
    return select(func.avg(latest.c.duration_seconds))


def _ring(call: Call, lead: Lead | None, advisor_ids: tuple[int, ...], now: datetime) -> CallStep:
    """Ring the claimed advisors at once: one offer per advisor, all ended by the one Dial action."""
    rung = []
    for advisor_id in advisor_ids:
        offer = CallOffer(call_id=call.id, advisor_id=advisor_id, rang_at=now)
        db.session.add(offer)
        rung.append(offer)
    db.session.flush()
    call.advisor_id = advisor_ids[0]
    return _dial_step(call, lead, rung)


def _dial_step(call: Call, lead: Lead | None, offers: list[CallOffer]) -> CallStep:
    advisors = {
        a.id: a
        for a in db.session.scalars(select(Advisor).where(Advisor.id.in_([o.advisor_id for o in offers])))
    }
    return CallStep("dial", call, lead, rung=tuple((advisors[o.advisor_id], o) for o in offers))


def _open_offers(call: Call) -> list[CallOffer]:
    return list(
        db.session.scalars(
            select(CallOffer)
            .where(CallOffer.call_id == call.id, CallOffer.ended_at.is_(None))
            .order_by(CallOffer.id)
        )
    )


def _offers_of(call: Call) -> list[CallOffer]:
    query = select(CallOffer).where(CallOffer.call_id == call.id).order_by(CallOffer.id)
    return list(db.session.scalars(query))


def _missed_offers(call: Call) -> list[MissedOffer]:
    return _missed_of(_offers_of(call))


def _missed_of(offers: Iterable[CallOffer]) -> list[MissedOffer]:
    return [
        MissedOffer(offer.advisor_id, offer.ended_at)
        for offer in offers
        if offer.ended_at is not None and offer.outcome != "answered"
    ]


def _on_call_tried(call: Call) -> bool:
    return (
        db.session.scalar(select(Event.id).where(Event.dedupe_key == f"call:{call.call_sid}:on_call"))
        is not None
    )


def _offer_of(call: Call, offer_id: int | None) -> CallOffer | None:
    """The ring that ended: the one named, else (an older Dial action URL) the latest open one."""
    query = select(CallOffer).where(CallOffer.call_id == call.id)
    if offer_id is not None:
        return db.session.scalar(query.where(CallOffer.id == offer_id))
    return db.session.scalar(query.where(CallOffer.ended_at.is_(None)).order_by(CallOffer.id.desc()).limit(1))


def _current_step(call: Call, lead: Lead | None) -> CallStep:
    """What the caller is hearing now, for a replayed request: nothing is changed."""
    ringing = _open_offers(call)
    if ringing:
        return _dial_step(call, lead, ringing)
    if call.outcome == "answered":
        return CallStep("answered", call, lead)
    if call.outcome == "in_progress" and call.ended_at is None:
        return _hold_step(call, lead, on_duty=0, say_notice=True, line=callers_in_line(utcnow()))
    return CallStep("callback", call, lead)


def _dial_sid_taken(dial_call_sid: str) -> bool:
    return db.session.scalar(select(CallOffer.id).where(CallOffer.dial_call_sid == dial_call_sid)) is not None


def accept_call(call: Call, now: datetime | None = None, *, offer_id: int | None = None) -> None:
    """An advisor pressed a key after the whisper: the call is about to be bridged to them.

    When several advisors rang at once the first to accept takes it (Twilio bridges one).
    """
    call = _relock(call)
    if call.answered_at is not None:
        return
    call.answered_at = now or utcnow()
    offer = db.session.get(CallOffer, offer_id) if offer_id is not None else None
    if offer is not None and offer.call_id == call.id:
        call.advisor_id = offer.advisor_id


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
            add_event(
                lead,
                "call",
                ACTOR,
                {"call_sid": call.call_sid, "outcome": "answered", "advisor_id": call.advisor_id},
                dedupe_key=f"call:{call.call_sid}:answered",
                at=now,
            )
            _first_contact(lead, now)
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
        # The message was left after "we will call you back": consent to that call.
        record_phone_consent(call, lead, PHONE_VOICEMAIL_VERSION, now)
        _raise_urgency(lead, source="voicemail")
        # Leaving the line opened no callback for a caller without consent; the message is it.
        schedule_call_back(lead, "left a message", now)
        event = add_event(
            lead,
            "voicemail",
            ACTOR,
            {"call_sid": call.call_sid, "recording_sid": recording_sid, "duration_seconds": seconds},
            dedupe_key=f"voicemail:{recording_sid}",
            at=now,
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
    for offer in _open_offers(call):
        # The caller hung up while advisors rang: nobody missed anything.
        offer.ended_at, offer.outcome = now, "canceled"
        offer.ring_seconds = max(0, round((now - offer.rang_at).total_seconds()))
    if call.direction != "inbound":
        # Our own click-to-call leg: its end says nothing about a caller giving up.
        if call.outcome == "in_progress":
            _set_outcome(call, "answered" if status == "completed" else "missed")
        return call
    if call.outcome == "in_progress" and call.answered_at is not None:
        # An advisor took it; this callback came before the Dial action that says so.
        _set_outcome(call, "answered")
    elif call.outcome == "in_progress":
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
                at=now,
            )
            _consent_from_hold(call, lead, now)
            schedule_call_back(
                lead,
                "hung up before reaching an advisor",
                now,
                call=call,
                no_permission=NO_PERMISSION_HUNG_UP,
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
    if urgency.level == "critical" and previous["level"] != "critical":
        _promise_critical_minutes(lead, utcnow())
    respond_to_urgency_rise(lead, previous["level"])


def _promise_critical_minutes(lead: Lead, now: datetime) -> None:
    """A caller who turned critical on this call is promised the critical minutes, at any hour.

    The promise stored when the call began (the normal SLA, maybe the next morning) was never
    said to the caller; only an earlier one is kept.
    """
    if lead.first_contact_at is not None:
        return
    due = now + timedelta(minutes=load_policy().sla_minutes["critical"] or 5)
    lead.promised_contact_at = min(lead.promised_contact_at or due, due)


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
