"""Turn rows into what a tired advisor can read at a glance: local times, countdowns, labels."""

from __future__ import annotations

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


def lead_view(lead, detail, now: datetime) -> dict:
    """Display values for the lead page."""
    count = count_criteria(lead.dsm_criteria or ())
    return {
        "local_now": local_time(now, lead.timezone, "h:mm a"),
        "criteria": [
            (key, gettext(DSM_LABELS[key]), key in (lead.dsm_criteria or ())) for key in DSM_CRITERIA
        ],
        "criteria_count": count,
        "level_of_care": label(suggested_level_of_care(lead.severity)),
        "substances": [SUBSTANCE_LABELS.get(s, s) for s in lead.substances or ()],
        "first_contact": countdown(lead.first_contact_due, now) if lead.first_contact_at is None else None,
        "promised": local_time(lead.promised_contact_at, lead.timezone) if lead.promised_contact_at else None,
        "speed_to_lead": duration_words((lead.first_contact_at - lead.created_at).total_seconds())
        if lead.first_contact_at
        else None,
        "open_follow_ups": [f for f in detail.follow_ups if f.status == "open"],
        "region": state_name(lead.region),
    }


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
}


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


FILTERS = {
    "local_time": local_time,
    "wall_clock": wall_clock,
    "state_name": state_name,
    "source_label": lambda source: str(SOURCE_LABELS.get(source, source)),
    "label": label,
    "queue_due": queue_due,
    "ago": ago,
}
