"""Turn rows into what a tired advisor can read at a glance: local times, countdowns, labels."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask_babel import get_locale, gettext, lazy_gettext, lazy_pgettext

from leadrouter.i18n import N_
from leadrouter.routing.severity import DSM_CRITERIA, DSM_LABELS, count_criteria, suggested_level_of_care
from leadrouter.routing.states import US_STATES
from leadrouter.routing.vocabulary import DEFAULT_TIMEZONE
from leadrouter.routing.waiting import why_waiting

# "Call" the noun, not the button's verb: the context keeps their translations apart.
SOURCE_LABELS = {
    "web_form": lazy_pgettext("lead source", "Web form"),
    "call": lazy_pgettext("lead source", "Call"),
    "voicemail": lazy_pgettext("lead source", "Voicemail"),
    "sms": lazy_pgettext("lead source", "Text"),
    "api": lazy_pgettext("lead source", "Partner"),
}
SUBSTANCE_LABELS = {
    "heroin": lazy_gettext("Heroin"),
    "fentanyl": lazy_gettext("Fentanyl"),
    "prescription_opioids": lazy_gettext("Prescription opioids"),
    "alcohol": lazy_gettext("Alcohol"),
    "methamphetamine": lazy_gettext("Methamphetamine"),
    "cocaine": lazy_gettext("Cocaine"),
    "benzodiazepines": lazy_gettext("Benzodiazepines"),
    "other": lazy_gettext("Other"),
}


def local_time(moment: datetime | None, zone: str | None, pattern: str = "EEE MMM d, h:mm a") -> str:
    """A moment as wall time in a zone (the lead's), e.g. 'Tue Nov 24, 2:05 PM CST'.

    ``pattern`` is a Babel (CLDR) date pattern, formatted in the page's language; the zone's
    abbreviation follows it (CLDR has none for US zones in most languages).
    """
    if moment is None:
        return "—"
    local = moment.astimezone(ZoneInfo(zone or DEFAULT_TIMEZONE))
    return f"{wall_clock(local, pattern)} {local.strftime('%Z')}"


def wall_clock(moment: datetime, pattern: str) -> str:
    """``moment`` as it reads on its own clock, by a Babel pattern, in the page's language."""
    text = format_datetime(moment, pattern, tzinfo=moment.tzinfo, locale=str(get_locale() or "en"))
    # CLDR separates "p. m." with narrow no-break spaces; pages use plain ones.
    return text.replace("\u202f", " ").replace("\xa0", " ")


def duration_words(seconds: float) -> str:
    seconds = abs(int(seconds))
    if seconds < 60:
        return gettext("%(seconds)s s", seconds=seconds)
    minutes = seconds // 60
    if minutes < 60:
        return gettext("%(minutes)s min", minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        if minutes:
            return gettext("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
        return gettext("%(hours)s h", hours=hours)
    return gettext("%(days)s days", days=hours // 24)


def countdown(due: datetime | None, now: datetime) -> dict:
    """'due in 12 min' / 'overdue by 5 min', with a CSS state."""
    if due is None or due.year >= 9999:
        return {"text": gettext("nothing due"), "state": "none", "iso": ""}
    delta = (due - now).total_seconds()
    if delta < 0:
        text = gettext("overdue by %(duration)s", duration=duration_words(delta))
        return {"text": text, "state": "overdue", "iso": due.isoformat()}
    state = "soon" if delta < 15 * 60 else "later"
    text = gettext("due in %(duration)s", duration=duration_words(delta))
    return {"text": text, "state": state, "iso": due.isoformat()}


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "—"
    return gettext("%(duration)s ago", duration=duration_words((now - moment).total_seconds()))


def owed_at(lead) -> datetime | None:
    """The moment a queue row is judged by: queries.owed_at, for one loaded lead."""
    if lead.first_contact_at is None and lead.first_contact_due is not None:
        return lead.first_contact_due
    return None if lead.next_due_at is None or lead.next_due_at.year >= 9999 else lead.next_due_at


def is_overdue(lead, now: datetime) -> bool:
    """Whether the row is marked overdue: queries.overdue_condition, for one loaded lead."""
    owed = owed_at(lead)
    return owed is not None and owed < now


def queue_due(lead, now: datetime) -> dict:
    """What a queue row says is due, and whether it is overdue (queries.overdue_condition, row by row).

    Until first contact the row reads against the time promised to the person, which no
    reassignment moves: "first call promised Wed 8:53 PM CST, 14 min late".
    """
    promise = lead.first_contact_due if lead.first_contact_at is None else None
    if promise is not None:
        clock = local_time(promise, lead.timezone, "EEE h:mm a")
        if promise < now:
            late = duration_words((now - promise).total_seconds())
            text = gettext("first call promised %(clock)s, %(late)s late", clock=clock, late=late)
        else:
            text = gettext("first call by %(clock)s", clock=clock)
        return _due(text, promise, now)
    due = lead.next_due_at
    if due is None or due.year >= 9999:
        return {"text": gettext("nothing due"), "overdue": False, "soon": False, "iso": ""}
    clock = local_time(due, lead.timezone, "EEE h:mm a")
    if due < now:
        return _due(gettext("follow-up overdue since %(clock)s", clock=clock), due, now)
    return _due(gettext("follow-up by %(clock)s", clock=clock), due, now)


def _due(text: str, due: datetime, now: datetime) -> dict:
    overdue = due < now
    soon = not overdue and (due - now).total_seconds() < 15 * 60
    return {"text": text, "overdue": overdue, "soon": soon, "iso": due.isoformat()}


def waiting_row(lead, now: datetime) -> dict:
    """A row of the managers' "Waiting for an advisor": how long, and why, in words."""
    return {
        "lead": lead,
        "waited": duration_words((now - lead.created_at).total_seconds()),
        "why": why_words(lead),
        "due": queue_due(lead, now),
    }


BLOCKER_WORDS = {
    "excluded": N_("%(count)s passed over for missing the deadline"),
    "inactive": N_("%(count)s inactive"),
    "offline": N_("%(count)s offline"),
    "busy": N_("%(count)s busy"),
    "away": N_("%(count)s away"),
    "language": N_("%(count)s do not speak the person's language"),
    "off_shift": N_("%(count)s off shift"),
    "at_capacity": N_("%(count)s at capacity"),
    "not_covering": N_("%(count)s do not cover this state"),
    "other": N_("%(count)s for other reasons"),
}


def why_words(lead) -> str:
    """Why a lead waits, from its routing trace: 'No advisor could take it (of 15: 6 offline, …).'"""
    if lead.owner_id is not None and lead.owner is not None and not lead.owner.active:
        return gettext("Its advisor, %(name)s, is no longer active.", name=lead.owner.name)
    reason = why_waiting(lead.routing_trace, escalated=lead.escalated_at is not None)
    if reason.kind == "not_routed":
        return gettext("Not routed yet.")
    parts = ", ".join(gettext(BLOCKER_WORDS[key], count=count) for key, count in reason.blockers.items())
    if reason.kind == "escalated":
        if not parts:
            return gettext("Escalated to managers: assign it by hand.")
        return gettext(
            "Escalated to managers: assign it by hand (of %(considered)s advisors: %(blockers)s).",
            considered=reason.considered,
            blockers=parts,
        )
    if not parts:
        return gettext("No advisor could take it.")
    return gettext(
        "No advisor could take it (of %(considered)s: %(blockers)s).",
        considered=reason.considered,
        blockers=parts,
    )


def state_name(code: str | None) -> str:
    unknown = gettext("Unknown region")
    return US_STATES.get(code or "", unknown) if code else unknown


def first_contact_at(lead, calls) -> datetime | None:
    """When someone first spoke with the person: the recorded first contact, or an advisor's
    answer to their call while it is still live (the call records it only when it ends)."""
    answered = [
        call.answered_at
        for call in calls
        if call.direction == "inbound" and call.answered_at is not None and call.advisor_id is not None
    ]
    moments = [moment for moment in (lead.first_contact_at, min(answered, default=None)) if moment]
    return min(moments, default=None)


def lead_view(lead, detail, now: datetime) -> dict:
    """Display values for the lead page."""
    count = count_criteria(lead.dsm_criteria or ())
    contacted_at = first_contact_at(lead, detail.calls)
    return {
        "local_now": local_time(now, lead.timezone, "h:mm a"),
        "criteria": [
            (key, gettext(DSM_LABELS[key]), key in (lead.dsm_criteria or ())) for key in DSM_CRITERIA
        ],
        "criteria_count": count,
        "level_of_care": label(suggested_level_of_care(lead.severity)),
        "substances": [SUBSTANCE_LABELS.get(s, s) for s in lead.substances or ()],
        "first_contact": countdown(lead.first_contact_due, now) if contacted_at is None else None,
        "promised": local_time(lead.promised_contact_at, lead.timezone) if lead.promised_contact_at else None,
        "speed_to_lead": duration_words(max(0.0, (contacted_at - lead.created_at).total_seconds()))
        if contacted_at
        else None,
        "open_follow_ups": [f for f in detail.follow_ups if f.status == "open"],
        "region": state_name(lead.region),
        "who_for_not_asked": who_for_not_asked(lead, detail.calls),
    }


def who_for_not_asked(lead, calls) -> bool:
    """A phone lead whose caller pressed 0: the who-is-it-for question was skipped.

    leads.for_whom keeps its default ("self") there, which nobody said; a later call that
    answered the question, or a form, is what the lead's value then says.
    """
    if lead.for_whom != "self" or lead.source not in ("call", "voicemail"):
        return False
    return any(call.menu_choice == "0" for call in calls) and not any(call.for_whom for call in calls)


# What staff read for the keys stored and shown on the pages: statuses, urgencies, outcomes,
# reasons, event types, form fields. A key without an entry is shown with spaces for "_".
LABELS = {
    # Lead pipeline
    "new": lazy_pgettext("status", "new"),
    "queued": lazy_pgettext("status", "queued"),
    "assigned": lazy_pgettext("status", "assigned"),
    "contacted": lazy_pgettext("status", "contacted"),
    "assessment": lazy_pgettext("status", "assessment"),
    "referred": lazy_pgettext("status", "referred"),
    "admitted": lazy_pgettext("status", "admitted"),
    "closed": lazy_pgettext("status", "closed"),
    # Advisors and follow-ups
    "available": lazy_pgettext("status", "available"),
    "busy": lazy_pgettext("status", "busy"),
    "offline": lazy_pgettext("status", "offline"),
    "away": lazy_pgettext("status", "away"),
    "open": lazy_pgettext("status", "open"),
    "done": lazy_pgettext("status", "done"),
    "cancelled": lazy_pgettext("status", "cancelled"),
    # Urgency
    "critical": lazy_pgettext("urgency", "critical"),
    "high": lazy_pgettext("urgency", "high"),
    "normal": lazy_pgettext("urgency", "normal"),
    "low": lazy_pgettext("urgency", "low"),
    # Severity (DSM-5) and the level of care it suggests
    "none": lazy_pgettext("severity", "none"),
    "mild": lazy_pgettext("severity", "mild"),
    "moderate": lazy_pgettext("severity", "moderate"),
    "severe": lazy_pgettext("severity", "severe"),
    "information only": lazy_gettext("information only"),
    "outpatient": lazy_gettext("outpatient"),
    "intensive outpatient": lazy_gettext("intensive outpatient"),
    "inpatient": lazy_gettext("inpatient"),
    # Closing reasons
    "not_interested": lazy_gettext("not interested"),
    "unreachable": lazy_gettext("unreachable"),
    "wrong_number": lazy_gettext("wrong number"),
    "declined_treatment": lazy_gettext("declined treatment"),
    "referred_elsewhere": lazy_gettext("referred elsewhere"),
    "no_coverage": lazy_gettext("no coverage"),
    "duplicate": lazy_gettext("duplicate"),
    "other": lazy_gettext("other"),
    # Contact attempts and calls
    "reached": lazy_gettext("reached"),
    "no_answer": lazy_gettext("no answer"),
    "voicemail_left": lazy_gettext("voicemail left"),
    "asked_not_to_be_contacted": lazy_gettext("asked not to be contacted"),
    "in_progress": lazy_gettext("in progress"),
    "abandoned": lazy_gettext("abandoned"),
    "missed": lazy_gettext("missed"),
    "crisis_line": lazy_gettext("crisis line"),
    "answered": lazy_gettext("answered"),
    "inbound": lazy_gettext("inbound"),
    "outbound": lazy_gettext("outbound"),
    # Where the state came from
    "state": lazy_gettext("the state given"),
    "zip": lazy_gettext("the ZIP code"),
    "twilio_from_state": lazy_gettext("the caller's phone line"),
    "area_code": lazy_gettext("the area code"),
    "unknown": lazy_gettext("unknown"),
    # Timeline events and follow-ups
    "created": lazy_gettext("created"),
    "merged": lazy_gettext("merged"),
    "reassigned": lazy_gettext("reassigned"),
    "escalated": lazy_gettext("escalated"),
    "on_call_texted": lazy_gettext("on-call manager texted"),
    "call": lazy_pgettext("event", "call"),
    "voicemail": lazy_gettext("voicemail"),
    "sms": lazy_gettext("text message"),
    "opted_out": lazy_gettext("opted out"),
    "opted_in": lazy_gettext("opted in"),
    "status_changed": lazy_gettext("status changed"),
    "note": lazy_gettext("note"),
    "contact_attempt": lazy_gettext("contact attempt"),
    "follow_up": lazy_gettext("follow-up"),
    "callback": lazy_gettext("callback"),
    "reopened": lazy_gettext("reopened"),
    # Form fields named in error summaries
    "status": lazy_gettext("status"),
    "reason": lazy_gettext("reason"),
    "outcome": lazy_gettext("outcome"),
    "due_at": lazy_gettext("due date and time"),
    "advisor_id": lazy_gettext("advisor"),
    "why": lazy_gettext("why"),
    "lead": lazy_gettext("lead"),
    "do_not_contact": lazy_gettext("do not contact"),
    "requested_time_note": lazy_gettext("what the person asked for"),
    "start": lazy_gettext("start date"),
    "end": lazy_gettext("end date"),
    "advisor": lazy_gettext("advisor"),
    "source": lazy_gettext("source"),
    "format": lazy_gettext("format"),
    "region": lazy_gettext("region"),
    "urgency": lazy_gettext("urgency"),
    "confirm": lazy_gettext("confirmation"),
    "text": lazy_gettext("note"),
    # Routing rules, named in decision traces
    "exact_state": lazy_gettext("advisors for the lead's state"),
    "national_pool": lazy_gettext("the national pool"),
    "critical_override": lazy_gettext("the critical-lead override"),
    "continuity": lazy_gettext("the previous advisor"),
    "manual": lazy_gettext("a manager's choice"),
    # What started a routing decision
    "intake": lazy_gettext("when it came in"),
    "drain": lazy_gettext("when an advisor became free"),
    "sweep": lazy_gettext("by the routing sweep"),
    "sla": lazy_gettext("first contact overdue"),
    # Why a reassignment needed confirming (routing.reassignment)
    "not_available": lazy_gettext("not available"),
    "off_shift": lazy_gettext("off shift"),
    "outside_state": lazy_gettext("outside the lead's state"),
    "other_language": lazy_gettext("does not speak the lead's language"),
    "at_capacity": lazy_gettext("at capacity"),
    "outbound_blocked": lazy_gettext("outbound contact blocked"),
}

LANGUAGE_NAMES = {"en": lazy_gettext("English"), "es": lazy_gettext("Spanish")}


def label(key: str | None) -> str:
    """A stored key (a status, an urgency, a reason, an event type) in words, in the page's language."""
    if key in LABELS:
        return str(LABELS[key])
    return (key or "").replace("_", " ")


def explain(message: str, params: dict) -> str:
    """A catalog message with placeholders, translated, its keys in words (lists joined)."""
    words = {
        name: ", ".join(label(item) for item in value) if isinstance(value, tuple | list) else label(value)
        for name, value in params.items()
    }
    return gettext(message) % words if words else gettext(message)


def language_name(code: str | None) -> str:
    return str(LANGUAGE_NAMES[code]) if code in LANGUAGE_NAMES else (code or "—")


def languages_text(codes) -> str:
    return ", ".join(language_name(code) for code in codes or ()) or "—"


def states_text(codes) -> str:
    codes = list(codes or ())
    if "*" in codes:
        return gettext("all states (national pool)")
    return ", ".join(codes) or "—"


def actor_label(actor: str | None, names: dict[str, str]) -> str:
    """Who did something, as staff know them: a person's name, or the part of the helpline."""
    actor = actor or "system"
    if actor in names:
        return names[actor]
    kind, _, rest = actor.partition(":")
    if kind in ("system", "routing", "retention"):
        return gettext("leadrouter (automatic)")
    if kind == "twilio":
        return gettext("the phone line")
    if kind in ("web_form", "sms"):
        return str(SOURCE_LABELS.get(kind, kind))
    if kind == "api_key":
        return gettext("a partner site")
    if kind == "demo":
        return gettext("demo data (%(source)s)", source=SOURCE_LABELS.get(rest, rest))
    if kind in ("user", "advisor"):
        return gettext("a former staff member")
    return label(actor)


def concern_words(concern: str, advisor, lead) -> str:
    """Why routing would pass this advisor over for this lead, as a sentence to confirm."""
    if concern == "not_available":
        return gettext("%(name)s is %(status)s", name=advisor.name, status=label(advisor.status))
    if concern == "off_shift":
        return gettext("%(name)s is off shift now", name=advisor.name)
    if concern == "outside_state":
        return gettext(
            "%(name)s does not cover %(state)s (covers %(states)s)",
            name=advisor.name,
            state=state_name(lead.region),
            states=states_text(advisor.regions),
        )
    if concern == "other_language":
        return gettext(
            "%(name)s does not speak %(language)s", name=advisor.name, language=language_name(lead.language)
        )
    if concern == "at_capacity":
        return gettext(
            "%(name)s is at capacity (%(open)s of %(capacity)s open leads)",
            name=advisor.name,
            open=advisor.open_leads,
            capacity=advisor.capacity,
        )
    return label(concern)


_TRACE_WORDS = ("critical_override", "exact_state", "national_pool", "continuity", *SOURCE_LABELS)


_SPEAKS = re.compile(r"\bspeak ([a-z]{2})\b")


def trace_words(text: str | None) -> str:
    """A stored routing explanation with its rule, source and language keys in words."""
    text = _SPEAKS.sub(lambda match: f"speak {language_name(match[1])}", text or "")
    for key in _TRACE_WORDS:
        if key in text:
            words = SOURCE_LABELS[key] if key in SOURCE_LABELS else LABELS[key]
            text = text.replace(key, str(words).lower() if key in SOURCE_LABELS else str(words))
    return text


def candidate_verdict(candidate: dict) -> str:
    """'chosen: first in line…' for one advisor in a trace, said once."""
    reasons = [trace_words(reason) for reason in candidate.get("reasons") or ()]
    if candidate.get("chosen"):
        first = reasons[0] if reasons else ""
        for prefix in ("chosen by ", "chosen: ", "chosen "):
            if first.startswith(prefix):
                first = first[len(prefix) :]
                break
        reasons = [gettext("chosen by %(how)s", how=first)] if first else [gettext("chosen")]
        reasons += [trace_words(reason) for reason in (candidate.get("reasons") or ())[1:]]
    return "; ".join(reasons)


# Call events that are a sentence of their own: the caller's wish about a call back, and why
# nobody will call back (intake.calls stores the step).
CALL_STEP_SUMMARIES = {
    "no_call_back": lazy_gettext("Asked not to be called back if the call drops"),
    "hung_up_no_permission": lazy_gettext("Hung up before reaching an advisor; no permission to call back"),
    "left_line_no_permission": lazy_gettext(
        "Left the line before reaching an advisor; no permission to call back unless they leave a message"
    ),
    "hold": lazy_gettext("On hold: every advisor who could take the call was busy"),
    "on_call": lazy_gettext("No advisor took the call: dialed the on-call line"),
}
# The caller's answer to the welcome menu (telephony/twiml.py MENU_*).
MENU_CHOICE_SUMMARIES = {
    "self": lazy_gettext("Chose in the phone menu: calling for themselves"),
    "loved_one": lazy_gettext("Chose in the phone menu: calling for a loved one"),
    "emergency": lazy_gettext("Chose the emergency option in the phone menu"),
}


def event_summary(event, names: dict[str, str], zone: str | None) -> str:
    """One timeline entry as a sentence, without keys or ids."""
    detail = event.detail or {}
    kind = event.type
    if kind == "status_changed":
        text = gettext(
            "Status: %(from)s → %(to)s", **{"from": label(detail.get("from")), "to": label(detail.get("to"))}
        )
        if detail.get("reason"):
            text += " (" + label(detail["reason"]) + ")"
        return text
    if kind == "contact_attempt":
        return gettext("Contact attempt: %(outcome)s", outcome=label(detail.get("outcome")))
    if kind == "follow_up":
        return _follow_up_summary(detail, zone)
    if kind in ("assigned", "reassigned"):
        name = detail.get("advisor") or gettext("an advisor")
        if kind == "assigned":
            return gettext("Assigned to %(name)s", name=name)
        text = gettext("Reassigned to %(name)s", name=name)
        if detail.get("why"):
            text += gettext(", because: %(why)s", why=detail["why"])
        if detail.get("confirmed"):
            confirmed = ", ".join(label(concern) for concern in detail["confirmed"])
            text += gettext(" (confirmed although %(concerns)s)", concerns=confirmed)
        return text
    if kind == "queued":
        return gettext("Waiting for an advisor: %(reason)s", reason=trace_words(detail.get("reason")))
    if kind == "escalated":
        return gettext("Escalated to the managers: %(reason)s", reason=trace_words(detail.get("reason")))
    if kind in ("opted_out", "opted_in"):
        text = gettext("Marked do-not-contact") if kind == "opted_out" else gettext("Contact allowed again")
        return text + (f": {detail['why']}" if detail.get("why") else "")
    if kind == "call" and detail.get("step") in CALL_STEP_SUMMARIES:
        return str(CALL_STEP_SUMMARIES[detail["step"]])
    if kind == "call" and detail.get("step") == "menu" and detail.get("choice") in MENU_CHOICE_SUMMARIES:
        return str(MENU_CHOICE_SUMMARIES[detail["choice"]])
    if kind in ("created", "merged") and detail.get("source"):
        source = str(SOURCE_LABELS.get(detail["source"], detail["source"])).lower()
        return gettext("%(what)s from the %(source)s", what=label(kind).capitalize(), source=source)
    text = label(kind).capitalize()
    if detail.get("direction"):
        text += f" ({label(detail['direction'])})"
    if detail.get("outcome"):
        text += f": {label(detail['outcome'])}"
    if detail.get("why") or detail.get("reason"):
        text += f" — {trace_words(detail.get('why') or detail.get('reason'))}"
    return text


def _follow_up_summary(detail: dict, zone: str | None) -> str:
    action = detail.get("action")
    if action == "scheduled":
        text = gettext("Follow-up scheduled for %(when)s", when=_moment(detail.get("due_at"), zone))
    elif action == "rescheduled":
        text = gettext("Follow-up moved to %(when)s", when=_moment(detail.get("to"), zone))
    elif action == "completed" and detail.get("kind") == "callback":
        text = gettext("First callback done by the contact attempt")
    elif action == "completed":
        text = gettext("Follow-up done")
    elif detail.get("kind") == "callback":
        text = gettext("First callback due %(when)s", when=_moment(detail.get("due_at"), zone))
    else:
        text = label("follow_up").capitalize()
    if detail.get("requested_time"):
        text += gettext(", a time the person asked for: %(note)s", note=detail["requested_time"])
    return text


def _moment(iso: str | None, zone: str | None) -> str:
    try:
        return local_time(datetime.fromisoformat(iso), zone) if iso else "—"
    except ValueError:
        return "—"


# How a caller gave a phone consent version, in the advisor's words (the prompt itself is shown
# above it); keyed by the versions of intake/consent.py, which never change once stored.
PHONE_CONSENT_HOW = {
    "phone-callback-1": lazy_gettext("They pressed 1 while holding to ask for a call back."),
    "phone-voicemail-1": lazy_gettext("They left a message after hearing that we would call them back."),
    "phone-hold-callback-1": lazy_gettext(
        "They held, heard that we call back if the call drops, and did not press 9."
    ),
}


def consent_how(version: str) -> str:
    """A phone consent in plain words; empty for a version given on a page (its address says where)."""
    how = PHONE_CONSENT_HOW.get(version)
    return str(how) if how is not None else ""


FILTERS = {
    "consent_how": consent_how,
    "local_time": local_time,
    "wall_clock": wall_clock,
    "state_name": state_name,
    "source_label": lambda source: str(SOURCE_LABELS.get(source, source)),
    "label": label,
    "queue_due": queue_due,
    "ago": ago,
    "language_name": language_name,
    "languages_text": languages_text,
    "states_text": states_text,
    "trace_words": trace_words,
    "candidate_verdict": candidate_verdict,
}
