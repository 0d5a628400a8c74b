"""The team pages speak to managers in words: errors name the field and keep what was typed,
the audit trail reads as sentences, shift hours are a weekly table."""

from __future__ import annotations

from leadrouter.assignment.policy_store import load_policy
from tests.factories import make_advisor

SETTINGS = {
    "sla_critical": "5",
    "sla_high": "15",
    "sla_normal": "60",
    "sla_low": "",
    "pool_overflow_minutes": "0",
    "max_reassignments": "2",
}


def test_a_word_typed_for_minutes_is_named_in_words_and_kept(manager_client, session):
    response = manager_client.post(
        "/team/settings", data={**SETTINGS, "sla_critical": "abc", "max_reassignments": "-1"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "first contact for critical urgency</strong>: enter whole minutes from 1 to 10080" in page
    assert "reassignments before escalating</strong>: enter a whole number from 0 to 10" in page
    assert 'value="abc"' in page and 'value="-1"' in page
    for raw in ("invalid literal", "base 10", "sla_minutes.", "ValueError", "max_reassignments:"):
        assert raw not in page
    assert load_policy().sla_minutes["critical"] == 5


def test_the_settings_audit_trail_reads_as_sentences(manager_client, manager_user, session):
    assert manager_client.post("/team/settings", data={**SETTINGS, "sla_high": "10"}).status_code == 303
    assert (
        manager_client.post(
            "/team/settings", data={**SETTINGS, "sla_high": "10", "pool_overflow_minutes": "7"}
        ).status_code
        == 303
    )
    page = manager_client.get("/team/settings").get_data(as_text=True)
    assert "Morgan Reyes changed the high-urgency SLA from 15 minutes to 10 minutes" in page
    assert (
        "Morgan Reyes changed the wait before offering the national pool from 0 minutes to 7 minutes" in page
    )
    assert "Times in UTC" in page or "Times in America" in page
    for raw in ("user:", "{&#39;", "{'", "sla_minutes", "pool_overflow_minutes':"):
        assert raw not in page


def test_shift_hours_are_a_weekly_table_shown_and_saved_by_day(manager_client, session):
    advisor = make_advisor(
        name="Nia Night", shift_hours={"mon": [["22:00", "06:00"]], "sat": [["09:00", "13:00"]]}
    )
    session.commit()
    page = manager_client.get(f"/team/advisors/{advisor.id}").get_data(as_text=True)
    assert 'name="shift_mon_from" value="22:00"' in page and 'name="shift_sat_to" value="13:00"' in page
    assert "Monday" in page and "Sunday" in page and '{"mon"' not in page and "JSON" not in page
    form = {
        "regions": "TX",
        "languages": "en",
        "capacity": "5",
        "status": "available",
        "timezone": "America/Chicago",
        "active": "on",
        "shift_limited": "on",
        "shift_tue_from": "08:00",
        "shift_tue_to": "16:00",
        "shift_wed_from": "9",
    }
    bad = manager_client.post(f"/team/advisors/{advisor.id}", data=form)
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "Wednesday shift</strong>: give both a start and an end time" in page
    assert 'name="shift_tue_from" value="08:00"' in page  # kept as typed
    del form["shift_wed_from"]
    assert manager_client.post(f"/team/advisors/{advisor.id}", data=form).status_code == 303
    session.refresh(advisor)
    assert advisor.shift_hours == {"tue": [["08:00", "16:00"]]}
    page = manager_client.get(f"/team/advisors/{advisor.id}").get_data(as_text=True)
    assert (
        "Morgan Reyes changed shift hours from Monday 22:00–06:00; Saturday 09:00–13:00 "
        "to Tuesday 08:00–16:00" in page
    )


def test_advisor_errors_name_the_field_in_words_without_internal_structures(manager_client, session):
    advisor = make_advisor(name="Omar Ortiz", capacity=5)
    session.commit()
    form = {
        "regions": "TX, ZZ",
        "languages": "en",
        "capacity": "lots",
        "status": "available",
        "timezone": "America/Chicago",
        "active": "on",
    }
    page = manager_client.post(f"/team/advisors/{advisor.id}", data=form).get_data(as_text=True)
    assert "states covered</strong>: entry 2: Must be a two-letter USPS state code" in page
    assert "capacity</strong>:" in page and 'value="lots"' in page and 'value="TX, ZZ"' in page
    assert "{1:" not in page and "[&#39;" not in page
    good = manager_client.post(
        f"/team/advisors/{advisor.id}", data={**form, "regions": "TX", "capacity": "8"}
    )
    assert good.status_code == 303
    page = manager_client.get(f"/team/advisors/{advisor.id}").get_data(as_text=True)
    assert "Morgan Reyes changed capacity from 5 to 8" in page
