"""The team and dashboard forms read submitted text into what the operations take."""

from __future__ import annotations

import pytest
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
            "shift_hours": '{"mon": [["08:00", "17:00"]]}',
            "csrf_token": "ignored",
        }
    )
    assert AdvisorForm().load(form) == {
        "regions": ["TX", "OK"],
        "languages": ["en", "es"],
        "capacity": 7,
        "status": "busy",
        "timezone": "America/Chicago",
        "shift_hours": {"mon": [["08:00", "17:00"]]},
        "active": False,
    }


def test_an_advisor_form_keeps_a_bad_capacity_for_the_schema_to_refuse():
    assert AdvisorForm().load(MultiDict({"capacity": "lots", "active": "on"}))["capacity"] == "lots"
    assert AdvisorForm().load(MultiDict({"active": "on"}))["active"] is True


def test_shift_hours_that_are_not_json_are_refused():
    with pytest.raises(ValueError, match="shift hours must be JSON"):
        AdvisorForm().load(MultiDict({"shift_hours": "mon 8-5"}))


def test_the_settings_form_reads_minutes_and_blank_slas():
    form = MultiDict({"sla_critical": "5", "sla_low": " ", "pool_overflow_minutes": "12"})
    assert RoutingSettingsForm().load(form) == {
        "sla_minutes": {"critical": 5, "high": None, "normal": None, "low": None},
        "pool_overflow_minutes": 12,
        "max_reassignments": 2,
    }
    with pytest.raises(ValueError):
        RoutingSettingsForm().load(MultiDict({"max_reassignments": "two"}))


def test_dashboard_forms_fill_the_defaults_the_pages_rely_on():
    assert StatusForm().load(MultiDict({"status": "closed", "reason": ""})) == {
        "status": "closed",
        "reason": None,
    }
    assert DoNotContactForm().load(MultiDict()) == {"value": False, "why": "marked by advisor"}
    assert ReassignForm().load(MultiDict({"advisor_id": "x", "why": "  away  "})) == {
        "advisor_id": None,
        "why": "away",
    }
    assert ReassignForm().load(MultiDict({"advisor_id": "12"}))["advisor_id"] == 12
