"""The team pages' records in words: audit entries as sentences, shift hours as a weekly table."""

from __future__ import annotations

from flask_babel import gettext, lazy_gettext

from leadrouter.dashboard.presenters import actor_label, label, languages_text, states_text
from leadrouter.models import SET_AWAY_ACTION
from leadrouter.routing.policy import default_policy
from leadrouter.routing.vocabulary import URGENCIES, WEEKDAYS

DAY_NAMES = {
    "mon": lazy_gettext("Monday"),
    "tue": lazy_gettext("Tuesday"),
    "wed": lazy_gettext("Wednesday"),
    "thu": lazy_gettext("Thursday"),
    "fri": lazy_gettext("Friday"),
    "sat": lazy_gettext("Saturday"),
    "sun": lazy_gettext("Sunday"),
}

# The form's fields, named in its error summaries.
FIELD_LABELS = {
    **{f"sla_{urgency}": None for urgency in URGENCIES},
    "pool_overflow_minutes": lazy_gettext("wait before the national pool"),
    "max_reassignments": lazy_gettext("reassignments before escalating"),
    "regions": lazy_gettext("states covered"),
    "languages": lazy_gettext("languages"),
    "capacity": lazy_gettext("capacity"),
    "status": lazy_gettext("status"),
    "timezone": lazy_gettext("time zone"),
    "shift_hours": lazy_gettext("shift hours"),
    "email": lazy_gettext("email"),
    "phone": lazy_gettext("phone"),
    "name": lazy_gettext("name"),
    "active": lazy_gettext("active"),
    "share": lazy_gettext("share of calls answered"),
    "within": lazy_gettext("answered within (seconds)"),
    "region": lazy_gettext("region"),
}


def field_name(field: str) -> str:
    """A form field in words, e.g. 'sla_high' -> 'first contact for high urgency'."""
    if field.startswith("sla_"):
        return gettext("first contact for %(urgency)s urgency", urgency=label(field[4:]))
    if field.startswith("shift_") and field[6:9] in DAY_NAMES:
        return gettext("%(day)s shift", day=DAY_NAMES[field[6:9]])
    return str(FIELD_LABELS.get(field) or label(field))


def error_sentences(messages: dict) -> dict[str, str]:
    """marshmallow's nested messages, one sentence per field, catalog messages translated."""
    return {field_name(field): _flatten(value) for field, value in messages.items()}


def _flatten(value) -> str:
    if isinstance(value, dict):
        return " ".join(
            gettext("entry %(number)s: %(problem)s", number=int(key) + 1, problem=_flatten(inner))
            if str(key).isdigit()
            else _flatten(inner)
            for key, inner in value.items()
        )
    if isinstance(value, list | tuple):
        return " ".join(_flatten(item) for item in value)
    return gettext(str(value))


def weekly_rows(shift_hours: dict | None) -> list[dict]:
    """One row per weekday with up to two (from, to) ranges, for the shift table."""
    rows = []
    for day in WEEKDAYS:
        spans = next((list(v) for k, v in (shift_hours or {}).items() if k[:3].lower() == day), [])
        spans = [*spans, ["", ""], ["", ""]][:2]
        rows.append({"day": day, "name": DAY_NAMES[day], "spans": spans})
    return rows


def gap_words(gap) -> str:
    """A staffing gap as a screen reader and a glance both read it: 'short by 2', '3 spare'."""
    if gap.state == "short":
        return gettext("short by %(num)s", num=-gap.difference)
    if gap.state == "even":
        return gettext("just enough")
    return gettext("%(num)s spare", num=gap.difference)


def _minutes(value) -> str:
    if value is None:
        return gettext("the next business day")
    return gettext("%(minutes)s minutes", minutes=value)


def policy_change_sentences(entry, names: dict[str, str]) -> list[str]:
    """A routing-settings audit entry as sentences: who changed what, from what to what."""
    who = actor_label(entry.actor, names)
    before = (entry.detail or {}).get("before") or default_policy().to_dict()
    after = (entry.detail or {}).get("after") or {}
    sentences = []
    for urgency in URGENCIES:
        old = (before.get("sla_minutes") or {}).get(urgency)
        new = (after.get("sla_minutes") or {}).get(urgency)
        if old != new:
            sentences.append(
                gettext(
                    "%(who)s changed the %(urgency)s-urgency SLA from %(old)s to %(new)s",
                    who=who,
                    urgency=label(urgency),
                    old=_minutes(old),
                    new=_minutes(new),
                )
            )
    if before.get("pool_overflow_minutes") != after.get("pool_overflow_minutes"):
        sentences.append(
            gettext(
                "%(who)s changed the wait before offering the national pool from %(old)s to %(new)s",
                who=who,
                old=_minutes(before.get("pool_overflow_minutes")),
                new=_minutes(after.get("pool_overflow_minutes")),
            )
        )
    if before.get("max_reassignments") != after.get("max_reassignments"):
        sentences.append(
            gettext(
                "%(who)s changed the reassignments before escalating from %(old)s to %(new)s",
                who=who,
                old=before.get("max_reassignments"),
                new=after.get("max_reassignments"),
            )
        )
    return sentences or [gettext("%(who)s saved the routing settings without changing them", who=who)]


def _advisor_value(field: str, value) -> str:
    if field == "regions":
        return states_text(value)
    if field == "languages":
        return languages_text(value)
    if field == "status":
        return label(value)
    if field == "active":
        return gettext("yes") if value else gettext("no")
    if field == "shift_hours":
        return shift_words(value)
    return str(value)


def shift_words(shift_hours: dict | None) -> str:
    """'Monday 08:00–17:00; Tuesday 22:00–06:00', or 'no set hours'."""
    if not shift_hours:
        return gettext("no set hours")
    parts = [
        f"{row['name']} " + ", ".join(f"{start}–{end}" for start, end in row["spans"] if start)
        for row in weekly_rows(shift_hours)
        if row["spans"][0][0]
    ]
    return "; ".join(parts)


def advisor_change_sentences(entry, names: dict[str, str]) -> list[str]:
    """An advisor audit entry as sentences."""
    who = actor_label(entry.actor, names)
    detail = entry.detail or {}
    if entry.action == "advisor.created":
        return [gettext("%(who)s added this advisor", who=who)]
    sentences = [
        gettext(
            "%(who)s changed %(field)s from %(old)s to %(new)s",
            who=who,
            field=field_name(field),
            old=_advisor_value(field, change.get("from")),
            new=_advisor_value(field, change.get("to")),
        )
        for field, change in (detail.get("changed") or {}).items()
    ]
    private = [field for field in detail.get("fields") or () if field in ("name", "email", "phone")]
    sentences += [
        gettext("%(who)s changed the %(field)s", who=who, field=field_name(field)) for field in private
    ]
    if entry.action == SET_AWAY_ACTION:
        return [gettext("Set away after two calls in a row rang out")]
    return sentences or [gettext("%(who)s changed this advisor", who=who)]
