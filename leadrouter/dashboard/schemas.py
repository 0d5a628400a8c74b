"""The dashboard's forms, parsed: each action's fields by name, with the defaults the pages rely on.

The views validate nothing here that an operation already checks (it says which field is
wrong); a schema only reads the submitted text into the values the operation takes.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, post_load

from leadrouter.database import MAX_ID


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
