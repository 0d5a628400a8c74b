"""The team and dashboard forms read submitted text into what the operations take."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from leadrouter.dashboard.schemas import DoNotContactForm, ReassignForm, StatusForm
from leadrouter.team.schemas import AdvisorForm, RoutingSettingsForm


def test_the_advisor_form_becomes_api_fields():
    form = MultiDict(
        {
            "regions": " TX, ,OK ",
            "languages": "en,es",
            "capacity": " 7 ",
            "status": "busy",
            "timezone": "America/Chicago",
            "shift_limited": "on",
            "shift_mon_from": "08:00",
            "shift_mon_to": "17:00",
            "shift_fri_from": "22:00",
            "shift_fri_to": "06:00",
            "shift_sat_from": "09:00",
            "shift_sat_to": "12:00",
            "shift_sat_from_2": "14:00",
            "shift_sat_to_2": "18:30",
            "csrf_token": "ignored",
        }
    )
    assert AdvisorForm().load(form) == {
        "regions": ["TX", "OK"],
        "languages": ["en", "es"],
        "capacity": 7,
        "status": "busy",
        "timezone": "America/Chicago",
        "shift_hours": {
            "mon": [["08:00", "17:00"]],
            "fri": [["22:00", "06:00"]],
            "sat": [["09:00", "12:00"], ["14:00", "18:30"]],
        },
        "active": False,
    }


def test_an_advisor_form_keeps_a_bad_capacity_for_the_schema_to_refuse():
    assert AdvisorForm().load(MultiDict({"capacity": "lots", "active": "on"}))["capacity"] == "lots"
    assert AdvisorForm().load(MultiDict({"active": "on"}))["active"] is True


def test_shift_hours_unticked_mean_no_limits_whatever_the_table_says():
    form = MultiDict({"shift_mon_from": "08:00", "shift_mon_to": "17:00"})
    assert AdvisorForm().load(form)["shift_hours"] is None


def test_a_day_with_half_a_range_or_a_bad_time_is_named_in_the_error():
    form = MultiDict(
        {"shift_limited": "on", "shift_mon_from": "08:00", "shift_tue_from": "8am", "shift_tue_to": "5pm"}
    )
    with pytest.raises(ValidationError) as refused:
        AdvisorForm().load(form)
    assert refused.value.messages == {
        "shift_mon": ["give both a start and an end time, or leave both empty"],
        "shift_tue": ["use times like 08:00 and 17:30"],
    }
    with pytest.raises(ValidationError) as empty:
        AdvisorForm().load(MultiDict({"shift_limited": "on"}))
    assert list(empty.value.messages) == ["shift_hours"]


def test_the_settings_form_reads_minutes_and_blank_slas():
    form = MultiDict({"sla_critical": "5", "sla_low": " ", "pool_overflow_minutes": "12"})
    assert RoutingSettingsForm().load(form) == {
        "sla_minutes": {"critical": 5, "high": None, "normal": None, "low": None},
        "pool_overflow_minutes": 12,
        "max_reassignments": 2,
    }
    with pytest.raises(ValidationError) as refused:
        RoutingSettingsForm().load(MultiDict({"max_reassignments": "two", "sla_high": "abc", "sla_low": "0"}))
    assert refused.value.messages == {
        "sla_high": ["enter whole minutes from 1 to 10080 (a week), or leave it empty"],
        "sla_low": ["enter whole minutes from 1 to 10080 (a week), or leave it empty"],
        "max_reassignments": ["enter a whole number from 0 to 10"],
    }


def test_dashboard_forms_fill_the_defaults_the_pages_rely_on():
    assert StatusForm().load(MultiDict({"status": "closed", "reason": ""})) == {
        "status": "closed",
        "reason": None,
    }
    assert DoNotContactForm().load(MultiDict()) == {"value": False, "why": "marked by advisor"}
    assert ReassignForm().load(MultiDict({"advisor_id": "x", "why": "  away  "})) == {
        "advisor_id": None,
        "why": "away",
        "confirm": frozenset(),
    }
    assert ReassignForm().load(MultiDict({"advisor_id": "12"}))["advisor_id"] == 12
    ticked = {"advisor_id": "12", "confirm": ["off_shift"]}
    assert ReassignForm().load({**ticked, "confirm_for": "12"})["confirm"] == {"off_shift"}
    assert ReassignForm().load({**ticked, "confirm_for": "7"})["confirm"] == frozenset()
