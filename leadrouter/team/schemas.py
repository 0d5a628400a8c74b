"""The team pages' forms, parsed into what the operations take (the same names as the API)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load

from leadrouter.i18n import N_
from leadrouter.routing.hours import MINUTES_PER_DAY, parse_clock
from leadrouter.routing.states import normalize_state
from leadrouter.routing.vocabulary import URGENCIES, WEEKDAYS


class _FormSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # the CSRF token, buttons


def _whole_number(
    text: str | None, field: str, errors: dict, limits: tuple[int, int, str], *, required=False
):
    """A typed whole number inside its limits (low, high, message); a problem goes on `field`."""
    text = (text or "").strip()
    if not text:
        if required:
            errors[field] = [N_("enter a whole number")]
        return None
    low, high, out_of_range = limits
    if not text.isdigit() or not low <= int(text) <= high:
        errors[field] = [out_of_range]
        return None
    return int(text)


SLA_LIMITS = (1, 7 * MINUTES_PER_DAY, N_("enter whole minutes from 1 to 10080 (a week), or leave it empty"))
POOL_LIMITS = (0, MINUTES_PER_DAY, N_("enter whole minutes from 0 to 1440 (a day)"))
REASSIGNMENT_LIMITS = (0, 10, N_("enter a whole number from 0 to 10"))


class _AdvisorFields(_FormSchema):
    """The advisor edit form's fields, as the API's AdvisorSchema expects them.

    Shift hours are a weekly table: per day up to two ranges (`shift_mon_from`,
    `shift_mon_to`, `shift_mon_from_2`, `shift_mon_to_2`), read only when `shift_limited`
    is ticked. A range that ends before it starts runs overnight. Raises ValidationError
    naming each day whose times are not right.
    """

    regions = fields.String(load_default="")
    languages = fields.String(load_default="")
    capacity = fields.String(load_default=None)
    status = fields.String(load_default=None)
    timezone = fields.String(load_default=None)
    shift_limited = fields.String(load_default=None)
    active = fields.String(load_default=None)

    @post_load
    def _as_api_fields(self, form: dict, **_) -> dict:
        shift_hours = read_weekly_shifts(form) if form["shift_limited"] == "on" else None
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


def _shift_fields() -> dict:
    names = [
        f"shift_{day}_{end}{suffix}" for day in WEEKDAYS for suffix in ("", "_2") for end in ("from", "to")
    ]
    return {name: fields.String(load_default="") for name in names}


AdvisorForm = _AdvisorFields.from_dict(_shift_fields(), name="AdvisorForm")


def read_weekly_shifts(form: dict) -> dict[str, list[list[str]]]:
    """The weekly table as {"mon": [["08:00", "17:00"]], ...}; days left blank are days off."""
    shifts, errors = {}, {}
    for day in WEEKDAYS:
        spans = []
        for suffix in ("", "_2"):
            start = (form.get(f"shift_{day}_from{suffix}") or "").strip()
            end = (form.get(f"shift_{day}_to{suffix}") or "").strip()
            if not start and not end:
                continue
            if not start or not end:
                errors[f"shift_{day}"] = [N_("give both a start and an end time, or leave both empty")]
                break
            try:
                start_minutes, end_minutes = parse_clock(start), parse_clock(end)
            except ValueError:
                errors[f"shift_{day}"] = [N_("use times like 08:00 and 17:30")]
                break
            if start_minutes == end_minutes:
                errors[f"shift_{day}"] = [N_("the start and the end are the same time")]
                break
            spans.append([_clock(start_minutes), _clock(end_minutes)])
        if spans:
            shifts[day] = spans
    if errors:
        raise ValidationError(errors)
    if not shifts:
        raise ValidationError(
            {"shift_hours": [N_("give the hours of at least one day, or untick set shift hours")]}
        )
    return shifts


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class _RoutingSettingsFields(_FormSchema):
    pool_overflow_minutes = fields.String(load_default="0")
    max_reassignments = fields.String(load_default="2")

    @post_load
    def _as_policy_fields(self, form: dict, **_) -> dict:
        errors: dict = {}
        settings = {
            "sla_minutes": {
                urgency: _whole_number(form[f"sla_{urgency}"], f"sla_{urgency}", errors, SLA_LIMITS)
                for urgency in URGENCIES
            },
            "pool_overflow_minutes": _whole_number(
                form["pool_overflow_minutes"], "pool_overflow_minutes", errors, POOL_LIMITS, required=True
            ),
            "max_reassignments": _whole_number(
                form["max_reassignments"], "max_reassignments", errors, REASSIGNMENT_LIMITS, required=True
            ),
        }
        if errors:
            raise ValidationError(errors)
        return settings


# First-contact minutes per urgency (sla_critical ... sla_low; blank = no SLA, the low
# urgency's next business day), the pool overflow delay and the reassignment cap. Raises
# ValidationError naming each field that is not a whole number in its range.
RoutingSettingsForm = _RoutingSettingsFields.from_dict(
    {f"sla_{urgency}": fields.String(load_default="") for urgency in URGENCIES}, name="RoutingSettingsForm"
)


class ForecastForm(_FormSchema):
    """The forecast's service level, typed as a manager says it: "80" % of calls within "20" s.

    Raises ValidationError naming each field that is out of its range; blank means the default.
    """

    share = fields.String(load_default="")
    within = fields.String(load_default="")
    region = fields.String(load_default="")

    @post_load
    def _as_targets(self, form: dict, **_) -> dict:
        errors: dict = {}
        share = _whole_number(form["share"].strip().rstrip("%"), "share", errors, SHARE_LIMITS)
        within = _whole_number(form["within"], "within", errors, WITHIN_LIMITS)
        region = form["region"].strip().upper() or None
        if region is not None and normalize_state(region) != region:
            errors["region"] = [N_("enter a two-letter state code such as TX, or leave it empty")]
        if errors:
            raise ValidationError(errors)
        return {
            "share_percent": DEFAULT_SHARE_PERCENT if share is None else share,
            "within_seconds": DEFAULT_WITHIN_SECONDS if within is None else within,
            "region": region,
        }


DEFAULT_SHARE_PERCENT, DEFAULT_WITHIN_SECONDS = 80, 20
SHARE_LIMITS = (50, 99, N_("enter a percentage from 50 to 99, like 80"))
WITHIN_LIMITS = (5, 600, N_("enter whole seconds from 5 to 600, like 20"))


def _comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
