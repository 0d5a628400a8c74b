"""When a person can expect to hear from us, said in their time zone and language (page and phone alike)."""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.dates import format_date, format_time, get_timezone_name

from leadrouter.assignment.policy_store import load_policy
from leadrouter.i18n import N_, translations_for
from leadrouter.models import Lead
from leadrouter.routing.hours import before_contact_window, sla_due_at, to_local, within_contact_window
from leadrouter.routing.vocabulary import DEFAULT_TIMEZONE

__all__ = ["contact_timing", "describe_local_time", "local_clock", "promised_contact_time"]

# US zone abbreviations, as people say them; other zones get Babel's generic name.
_ZONE_NAMES = {
    "EST": N_("Eastern time"),
    "EDT": N_("Eastern time"),
    "CST": N_("Central time"),
    "CDT": N_("Central time"),
    "MST": N_("Mountain time"),
    "MDT": N_("Mountain time"),
    "PST": N_("Pacific time"),
    "PDT": N_("Pacific time"),
    "AKST": N_("Alaska time"),
    "AKDT": N_("Alaska time"),
    "HST": N_("Hawaii time"),
    "AST": N_("Atlantic time"),
}


def promised_contact_time(lead: Lead, now: datetime) -> datetime:
    """The moment contact_timing promises: within the critical minutes, else the SLA due time."""
    if lead.urgency == "critical":
        return now + timedelta(minutes=load_policy().sla_minutes["critical"] or 5)
    tz_name = lead.timezone or DEFAULT_TIMEZONE
    # The stored promise when one was made: a reassignment never moves what the person heard.
    due = lead.first_contact_due or sla_due_at(
        lead.urgency, lead.created_at, load_policy(), tz_name, lead.region
    )
    return max(due, now)


def contact_timing(lead: Lead, now: datetime, lang: str) -> dict:
    """When to expect first contact, in the lead's own time zone and language.

    ``quiet_now``: outside the hours we call at; ``quiet_early``: quiet because it is early
    morning (the window opens later today), not night.
    """
    tz_name = lead.timezone or DEFAULT_TIMEZONE
    # The stored promise, which nothing moves: what the lead's advisor and the reports measure against.
    promise = lead.first_contact_due
    if lead.urgency == "critical":
        minutes = load_policy().sla_minutes["critical"] or 5
        # A repeat touch that raised the urgency keeps the earlier lead's (later) promise: say that.
        # A caller who turned critical mid-call was promised the minutes from then (calls.py).
        if promise is None or promise <= max(lead.created_at, now) + timedelta(minutes=minutes):
            return {"minutes": minutes, "clock": None, "quiet_now": False, "quiet_early": False}
    due = promise or sla_due_at(lead.urgency, lead.created_at, load_policy(), tz_name, lead.region)
    quiet_now = not within_contact_window(now, tz_name)
    quiet_early = quiet_now and before_contact_window(now, tz_name)
    clock = describe_local_time(due, now, tz_name, lang) if due > now else None
    return {"minutes": None, "clock": clock, "quiet_now": quiet_now, "quiet_early": quiet_early}


def local_clock(moment: datetime, tz_name: str, lang: str) -> str:
    """'3:05 PM Central time' / '3:05 p. m. hora del Centro': a clock in a zone, in the page's language."""
    local = to_local(moment, tz_name)
    return f"{_clock(local, lang)} {_zone_text(local, lang)}"


def _clock(local: datetime, lang: str) -> str:
    # CLDR separates "a. m." with narrow no-break spaces; the page has always used plain ones.
    return format_time(local, "h:mm a", locale=lang).replace("\u202f", " ").replace("\xa0", " ")


def _zone_text(local: datetime, lang: str) -> str:
    zone = _ZONE_NAMES.get(local.strftime("%Z"))
    if zone is not None:
        return translations_for(lang).gettext(zone)
    return get_timezone_name(local.tzinfo, "long", "generic", locale=lang)


def describe_local_time(moment: datetime, now: datetime, tz_name: str, lang: str) -> str:
    """'9:15 AM Central time today' / 'mañana a las 9:15 a. m., hora del Centro' (Babel, catalogs)."""
    local, local_now = to_local(moment, tz_name), to_local(now, tz_name)
    _ = translations_for(lang).gettext
    clock = _clock(local, lang)
    zone_text = _zone_text(local, lang)
    days = (local.date() - local_now.date()).days
    if days == 0:
        day = _("today")
    elif days == 1:
        day = _("tomorrow")
    else:
        # Translators: a Babel (CLDR) date pattern, e.g. "EEEE d 'de' MMMM" for "lunes 6 de julio".
        date = format_date(local, _("EEEE, MMMM d"), locale=lang)
        day = _("on %(date)s") % {"date": date}
    # Translators: e.g. "9:15 AM Central time tomorrow"; reorder the three parts as your language needs.
    return _("%(clock)s %(zone)s %(day)s") % {"clock": clock, "zone": zone_text, "day": day}
