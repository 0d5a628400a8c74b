"""What an inbound text does: opt out, opt in, help, or a touch on a lead; keyed by MessageSid.

Operations flush and never commit; the SMS webhook commits once and then replies.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import select

from leadrouter.extensions import db
from leadrouter.intake.calls import ACTOR, audit_once, campaign_for, insert_once, is_blocked
from leadrouter.intake.operations import LeadInput, record_lead
from leadrouter.leads.timeline import add_event
from leadrouter.models import ContactPreference, Lead, TextMessage
from leadrouter.pipeline.operations import set_do_not_contact
from leadrouter.routing.phone import mask_phone, parse_phone
from leadrouter.routing.states import normalize_state

log = logging.getLogger(__name__)

OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP"})
# Twilio also treats YES as opt-in; here only for a number that is opted out, since
# "yes" is an ordinary answer in a conversation with an advisor.
OPT_IN_IF_OPTED_OUT = frozenset({"YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})
# Free-text opt-outs must be about our messages: "I can't stop using" is not one.
_FREE_TEXT_OPT_OUT = re.compile(
    r"\b(?:stop|quit|no more)\s+(?:(?:texting|messaging|contacting|calling|sending|texts?|messages?)\b)"
    r"|\b(?:do\s+not|don['’]?t|never)\s+(?:text|message|contact|call|sms)\s+(?:me|us|this number)\b"
    r"|^\W*(?:please\s+)?stop(?:\s+(?:please|now|it|all))*\W*$"
    r"|\b(?:unsubscribe|opt(?:\s|-)?out)\b"
    r"|\b(?:remove|take)\s+(?:me|my number|this number)\s+(?:off|from)\b"
    r"|\bno\s+(?:me|nos)\s+(?:escriban|envíen|envien|manden|contacten|llamen|molesten)\b"
    r"|\bya\s+no\s+(?:me\s+)?(?:escriban|envíen|envien|manden)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class InboundText:
    message_sid: str
    from_number: str | None
    to_number: str | None
    body: str = ""
    from_state: str | None = None


@dataclass(frozen=True)
class TextOutcome:
    """What the inbound text did; ``kind`` picks the reply."""

    kind: str  # opted_out | opted_in | help | lead | blocked | ignored
    lead: Lead | None = None
    created: bool = False
    urgent: bool = False


def classify_text(body: str | None) -> str:
    """Return opt_out, opt_in, opt_in_if_opted_out, help or message for an inbound text."""
    keyword = _keyword(body)
    if keyword in OPT_OUT_WORDS:
        return "opt_out"
    if keyword in OPT_IN_WORDS:
        return "opt_in"
    if keyword in OPT_IN_IF_OPTED_OUT:
        return "opt_in_if_opted_out"
    if keyword in HELP_WORDS:
        return "help"
    if _FREE_TEXT_OPT_OUT.search(body or ""):
        return "opt_out"
    return "message"


def _keyword(body: str | None) -> str:
    """A one-word text as a bare upper-case keyword ("Stop." -> "STOP"); "" for anything longer."""
    text = (body or "").strip()
    if not text or len(text) > 20 or len(text.split()) > 2:
        return ""
    return re.sub(r"[^A-Z]", "", text.upper())


def _opt_out_reason(body: str | None) -> str:
    keyword = _keyword(body)
    return f"texted {keyword}" if keyword in OPT_OUT_WORDS else "asked by text not to be contacted"


def receive_text(text: InboundText) -> TextOutcome:
    """Handle an inbound SMS once per MessageSid: opt out, opt in, help, or a lead touch."""
    phone = parse_phone(text.from_number).e164
    kind = classify_text(text.body)
    if kind == "opt_in_if_opted_out":
        kind = "opt_in" if phone and _opted_out(phone) else "message"
    message = TextMessage(message_sid=text.message_sid, direction="inbound", phone=phone, body=text.body)
    first_delivery = insert_once(message)
    if kind == "opt_out":
        if first_delivery and phone:
            _set_number_preference(phone, do_not_contact=True, why=_opt_out_reason(text.body))
        return TextOutcome("opted_out")
    if kind == "opt_in":
        if first_delivery and phone:
            _set_number_preference(phone, do_not_contact=False, why=f"texted {_keyword(text.body)}")
        return TextOutcome("opted_in")
    if kind == "help":
        return TextOutcome("help")
    if phone and is_blocked(phone):
        if first_delivery:
            audit_once("blocked_sms", f"sms:{text.message_sid}", phone)
        return TextOutcome("blocked")
    if not first_delivery:
        stored = db.session.scalar(select(TextMessage).where(TextMessage.message_sid == text.message_sid))
        lead = db.session.get(Lead, stored.lead_id) if stored and stored.lead_id else None
        return TextOutcome("lead", lead, created=False, urgent=bool(lead and lead.emergency))
    if not (text.body or "").strip():
        return TextOutcome("ignored")
    data = LeadInput(
        source="sms",
        phone=phone,
        message=text.body[:5000],
        from_state=normalize_state(text.from_state),
        campaign=campaign_for(parse_phone(text.to_number).e164),
    )
    result = record_lead(data, ACTOR)
    message.lead_id = result.lead.id
    add_event(
        result.lead,
        "sms",
        ACTOR,
        {"direction": "inbound", "message_sid": text.message_sid},
        dedupe_key=f"sms:{text.message_sid}",
    )
    db.session.flush()
    log.info("sms %s from %s for lead %s", text.message_sid, mask_phone(phone), result.lead.id)
    return TextOutcome("lead", result.lead, created=result.created, urgent=result.lead.emergency)


def _opted_out(phone: str) -> bool:
    return bool(
        db.session.scalar(select(ContactPreference.do_not_contact).where(ContactPreference.phone == phone))
    )


def _set_number_preference(phone: str, *, do_not_contact: bool, why: str) -> None:
    """Opt the number out (or back in) at once: on the number and on every lead that has it."""
    if db.session.get(ContactPreference, phone) is None:
        insert_once(
            ContactPreference(phone=phone, do_not_contact=do_not_contact, reason=why, updated_by=ACTOR)
        )
    leads = list(db.session.scalars(select(Lead).where(Lead.phone == phone).order_by(Lead.created_at.desc())))
    for lead in leads:
        # The newest lead always records the choice on its timeline; older ones when it changes them.
        if lead is leads[0] or lead.do_not_contact != do_not_contact:
            set_do_not_contact(lead, do_not_contact, ACTOR, why)
    preference = db.session.get(ContactPreference, phone)
    preference.do_not_contact, preference.reason, preference.updated_by = do_not_contact, why, ACTOR
    db.session.flush()
    log.info("number %s %s by SMS", mask_phone(phone), "opted out" if do_not_contact else "opted in")
