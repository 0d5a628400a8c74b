"""The dashboard's forms, parsed: each action's fields by name, with the defaults the pages rely on.

The views validate nothing here that an operation already checks (it says which field is
wrong); a schema only reads the submitted text into the values the operation takes.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, post_load

from leadrouter.database import MAX_ID
from leadrouter.i18n import N_
from leadrouter.models import OPEN_STATUSES
from leadrouter.routing.phone import parse_phone
from leadrouter.routing.states import US_STATES
from leadrouter.routing.vocabulary import URGENCIES


class _FormSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # the CSRF token, buttons


class AvailabilityForm(_FormSchema):
    status = fields.String(load_default=None)


class ContactAttemptForm(_FormSchema):
    outcome = fields.String(load_default="")
    note = fields.String(load_default=None)


class NoteForm(_FormSchema):
    text = fields.String(load_default="")


class StatusForm(_FormSchema):
    status = fields.String(load_default="")
    reason = fields.String(load_default=None)

    @post_load
    def _blank_is_none(self, data: dict, **_) -> dict:
        data["reason"] = data["reason"] or None
        return data


class _RequestedTimeFields(_FormSchema):
    """The box an advisor ticks when the person asked to be called outside calling hours."""

    requested_time = fields.String(load_default=None)
    requested_time_note = fields.String(load_default="")

    @post_load
    def _read_requested_time(self, data: dict, **_) -> dict:
        data["requested_time"] = data["requested_time"] == "on"
        data["requested_time_note"] = data["requested_time_note"].strip()
        return data


class FollowUpForm(_RequestedTimeFields):
    due_at = fields.String(load_default=None)
    note = fields.String(load_default=None)

    @post_load
    def _blank_is_none(self, data: dict, **_) -> dict:
        data["note"] = data["note"] or None
        return data


class FollowUpUpdateForm(_RequestedTimeFields):
    action = fields.String(load_default=None)
    due_at = fields.String(load_default=None)


class DoNotContactForm(_FormSchema):
    value = fields.String(load_default=None)
    why = fields.String(load_default=None)

    @post_load
    def _read(self, data: dict, **_) -> dict:
        return {"value": data["value"] == "on", "why": data["why"] or "marked by advisor"}


class ReassignForm(_FormSchema):
    advisor_id = fields.String(load_default=None)
    why = fields.String(load_default="")
    confirm = fields.List(fields.String(), load_default=list)
    confirm_for = fields.String(load_default=None)  # the advisor the ticked points were about

    @post_load
    def _read(self, data: dict, **_) -> dict:
        try:
            advisor_id = int(data["advisor_id"])
        except (TypeError, ValueError):
            advisor_id = None
        if advisor_id is not None and not 0 < advisor_id <= MAX_ID:
            advisor_id = None  # no such advisor (and beyond what the id column holds)
        # Points ticked about one advisor confirm nothing about another chosen since.
        confirmed = (
            data["confirm"] if advisor_id is not None and data["confirm_for"] == str(advisor_id) else ()
        )
        return {"advisor_id": advisor_id, "why": data["why"].strip(), "confirm": frozenset(confirmed)}


class QueueFilterForm(_FormSchema):
    """The managers' queue filters and search, as typed; `read_queue_filters` gives them meaning."""

    status = fields.String(load_default="")
    urgency = fields.String(load_default="")
    region = fields.String(load_default="")
    advisor = fields.String(load_default="")
    overdue = fields.String(load_default="")
    waiting = fields.String(load_default="")
    q = fields.String(load_default="")

    @post_load
    def _strip(self, data: dict, **_) -> dict:
        return {name: value.strip() for name, value in data.items()}


def read_queue_filters(typed: dict) -> tuple[dict, dict]:
    """The filter values a queue query takes, and an error (a catalog message) per field that made no sense.

    The search box takes "#123" (a lead's number), a phone number in any common format, or
    part of a name.
    """
    values: dict = {"overdue": typed["overdue"] == "1", "waiting": typed["waiting"] == "1"}
    errors: dict = {}
    if typed["status"]:
        if typed["status"] in OPEN_STATUSES:
            values["status"] = typed["status"]
        else:
            errors["status"] = N_("choose one of the open statuses")
    if typed["urgency"]:
        if typed["urgency"] in URGENCIES:
            values["urgency"] = typed["urgency"]
        else:
            errors["urgency"] = N_("choose critical, high, normal or low")
    if typed["region"]:
        region = typed["region"].upper()
        if region in US_STATES:
            values["region"] = region
        else:
            errors["region"] = N_("give a state's two-letter code, such as TX")
    if typed["advisor"]:
        advisor_id = _positive_id(typed["advisor"])
        if advisor_id is None:
            errors["advisor"] = N_("choose an advisor from the list")
        else:
            values["advisor_id"] = advisor_id
    search = typed["q"]
    if search.startswith("#"):
        lead_id = _positive_id(search[1:])
        if lead_id is None:
            errors["q"] = N_("a lead number is # followed by digits, such as #1042")
        else:
            values["lead_id"] = lead_id
    elif search:
        phone = parse_phone(search)
        if phone.e164:
            values["phone"] = phone.e164
        elif len(search) >= 2 and not search.isdigit():
            values["name"] = search[:200]
        else:
            errors["q"] = N_("search for #number, a phone number or at least two letters of a name")
    return values, errors


def search_kind(values: dict) -> str | None:
    """What a search looked for, for the access log: never the name or number itself."""
    return next((kind for kind in ("lead_id", "phone", "name") if values.get(kind) is not None), None)


def _positive_id(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 < value <= MAX_ID else None
