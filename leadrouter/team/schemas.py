"""The team pages' forms, parsed into what the operations take (the same names as the API)."""

from __future__ import annotations

import json

from marshmallow import EXCLUDE, Schema, fields, post_load

from leadrouter.routing.vocabulary import URGENCIES


class _FormSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # the CSRF token, buttons


class AdvisorForm(_FormSchema):
    """The advisor edit form's plain text fields, as the API's AdvisorSchema expects them.

    Raises ValueError for shift hours that are not JSON (the page shows it on that field).
    """

    regions = fields.String(load_default="")
    languages = fields.String(load_default="")
    capacity = fields.String(load_default=None)
    status = fields.String(load_default=None)
    timezone = fields.String(load_default=None)
    shift_hours = fields.String(load_default="")
    active = fields.String(load_default=None)

    @post_load
    def _as_api_fields(self, form: dict, **_) -> dict:
        shift_text = form["shift_hours"].strip()
        try:
            shift_hours = json.loads(shift_text) if shift_text else None
        except json.JSONDecodeError:
            raise ValueError(
                'shift hours must be JSON like {"mon": [["08:00", "17:00"]]}, or empty'
            ) from None
        capacity = form["capacity"]  # a number, or the text as typed for the schema to refuse
        return {
            "regions": _comma_list(form["regions"]),
            "languages": _comma_list(form["languages"]),
            "capacity": int(capacity) if (capacity or "").strip().isdigit() else capacity,
            "status": form["status"],
            "timezone": form["timezone"],
            "shift_hours": shift_hours,
            "active": form["active"] == "on",
        }


class _RoutingSettingsFields(_FormSchema):
    pool_overflow_minutes = fields.String(load_default="0")
    max_reassignments = fields.String(load_default="2")

    @post_load
    def _as_policy_fields(self, form: dict, **_) -> dict:
        return {
            "sla_minutes": {
                urgency: int(raw) if (raw := form[f"sla_{urgency}"].strip()) else None
                for urgency in URGENCIES
            },
            "pool_overflow_minutes": int(form["pool_overflow_minutes"]),
            "max_reassignments": int(form["max_reassignments"]),
        }


# First-contact minutes per urgency (sla_critical ... sla_low; blank = no SLA), the pool
# overflow delay and the reassignment cap. A number that is not whole raises ValueError,
# which the page shows.
RoutingSettingsForm = _RoutingSettingsFields.from_dict(
    {f"sla_{urgency}": fields.String(load_default="") for urgency in URGENCIES}, name="RoutingSettingsForm"
)


def _comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
