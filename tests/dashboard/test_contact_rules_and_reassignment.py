"""Follow-ups keep the calling hours, a contact attempt answers the first callback, and a
manager's reassignment shows who can take the lead and confirms what routing would refuse."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from leadrouter.assignment import operations
from leadrouter.models import Advisor, AuditEntry, Event, FollowUp, utcnow
from leadrouter.pipeline import operations as pipeline
from tests.factories import make_advisor, make_lead


def _assigned_lead(session, **fields):
    lead = make_lead(**fields)
    operations.route_lead(lead.id)
    session.commit()
    return lead


def _tomorrow_at(lead, hour: int):
    local = (utcnow() + timedelta(days=1)).astimezone(ZoneInfo(lead.timezone))
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def _follow_ups(session, lead, kind="follow_up"):
    return session.scalars(select(FollowUp).where(FollowUp.lead_id == lead.id, FollowUp.kind == kind)).all()


def test_a_follow_up_at_eleven_at_night_their_time_is_refused_keeping_what_was_typed(
    advisor_client, advisor_user, session
):
    lead = _assigned_lead(session, state="TX")
    late = _tomorrow_at(lead, 23).strftime("%Y-%m-%dT%H:%M")
    response = advisor_client.post(
        f"/leads/{lead.id}/follow-ups", data={"due_at": late, "note": "try her again"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert (
        "due date and time" in page
        and "23:00 their time is outside the calling hours (08:00 to 21:00)" in page
    )
    assert f'value="{late}"' in page and 'value="try her again"' in page
    assert "due_at:" not in page and "PipelineError" not in page
    assert _follow_ups(session, lead) == []


def test_a_time_the_person_asked_for_is_kept_with_their_words_on_the_timeline(
    advisor_client, advisor_user, session
):
    lead = _assigned_lead(session, state="TX")
    late = _tomorrow_at(lead, 22)
    response = advisor_client.post(
        f"/leads/{lead.id}/follow-ups",
        data={
            "due_at": late.strftime("%Y-%m-%dT%H:%M"),
            "requested_time": "on",
            "requested_time_note": "after her night shift ends",
        },
    )
    assert response.status_code == 303
    (follow_up,) = _follow_ups(session, lead)
    assert follow_up.requested_time_note == "after her night shift ends"
    assert follow_up.due_at == late
    page = advisor_client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "a time the person asked for: after her night shift ends" in page
    assert "by Ana Torres" in page and "user:" not in page


def test_ticking_that_they_asked_without_saying_what_is_refused(advisor_client, advisor_user, session):
    lead = _assigned_lead(session, state="TX")
    late = _tomorrow_at(lead, 6).strftime("%Y-%m-%dT%H:%M")
    response = advisor_client.post(
        f"/leads/{lead.id}/follow-ups",
        data={"due_at": late, "requested_time": "on", "requested_time_note": " "},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "what the person asked for" in page and "say what time the person asked for" in page
    assert _follow_ups(session, lead) == []


def test_every_way_to_create_or_move_a_follow_up_keeps_the_calling_hours(session):
    make_advisor(regions=["TX"])
    lead = make_lead(state="TX")
    operations.route_lead(lead.id)
    with pytest.raises(pipeline.PipelineError) as refused:
        pipeline.schedule_follow_up(lead, _tomorrow_at(lead, 22), "test")
    assert refused.value.field == "due_at"
    follow_up = pipeline.schedule_follow_up(lead, _tomorrow_at(lead, 9), "test")
    with pytest.raises(pipeline.PipelineError):
        pipeline.reschedule_follow_up(follow_up, _tomorrow_at(lead, 7), "test")
    pipeline.reschedule_follow_up(follow_up, _tomorrow_at(lead, 7), "test", requested_time_note="before work")
    assert follow_up.requested_time_note == "before work"


def test_a_critical_lead_may_be_called_back_at_any_hour(session):
    make_advisor(regions=["TX"])
    lead = make_lead(state="TX", message="he overdosed and is not breathing")
    operations.route_lead(lead.id)
    assert lead.urgency == "critical"
    follow_up = pipeline.schedule_follow_up(lead, _tomorrow_at(lead, 23), "test")
    assert follow_up.requested_time_note is None


def test_any_contact_attempt_completes_the_first_callback_on_the_timeline(
    advisor_client, advisor_user, session
):
    lead = _assigned_lead(session, state="TX")
    (callback,) = _follow_ups(session, lead, "callback")
    assert callback.status == "open"
    response = advisor_client.post(f"/leads/{lead.id}/attempts", data={"outcome": "no_answer"})
    assert response.status_code == 303
    session.refresh(callback)
    assert callback.status == "done"
    page = advisor_client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "First callback done by the contact attempt" in page


def _reassign_section(page: str) -> str:
    return page[page.index("Reassign (manager)") : page.index('aria-labelledby="follow-h"')]


def test_the_reassign_list_shows_states_languages_status_and_load_and_starts_empty(
    manager_client, advisor_user, other_advisor_user, session
):
    lead = _assigned_lead(session, state="TX")
    make_advisor(
        name="Pool Paz", regions=["*"], languages=["en", "es"], status="offline", capacity=4, open_leads=4
    )
    session.commit()
    section = _reassign_section(manager_client.get(f"/leads/{lead.id}").get_data(as_text=True))
    assert "checked" not in section  # nobody preselected
    assert "Choose an advisor" in section and "could take this lead" not in section, (
        "the list holds advisors who need confirming too"
    )
    assert "Ana Torres" not in section  # the current owner is not a choice
    assert "Ben Carter" in section and "CA" in section and "English" in section
    assert "all states (national pool)" in section and "English, Spanish" in section
    assert "4/4" in section and "offline" in section and "at capacity" in section
    assert "outside the lead&#39;s state" in section


def test_an_offline_advisor_outside_the_state_needs_each_concern_confirmed_and_the_reason_is_kept(
    manager_client, manager_user, advisor_user, session
):
    lead = _assigned_lead(session, state="TX")
    kara = make_advisor(name="Kara Lane", regions=["FL"], status="offline")
    session.commit()
    form = {"advisor_id": str(kara.id), "why": "Kara knows the family"}
    response = manager_client.post(f"/leads/{lead.id}/reassign", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    start = page.index('class="error-summary"')
    summary = page[start : page.index("</div>", start)]
    assert (
        "Routing would not choose Kara Lane: Kara Lane is offline; "
        "Kara Lane does not cover Texas (covers FL). Tick each point below to reassign anyway."
    ) in summary
    assert "confirmation" not in summary and "confirm:" not in summary, "no field key before the sentence"
    assert "Kara Lane is offline" in page and "Kara Lane does not cover Texas (covers FL)" in page
    assert 'value="Kara knows the family"' in page and f'value="{kara.id}" checked' in page
    assert lead.owner_id == advisor_user.advisor.id

    partly = manager_client.post(
        f"/leads/{lead.id}/reassign", data={**form, "confirm": ["not_available"], "confirm_for": str(kara.id)}
    )
    assert partly.status_code == 422 and lead.owner_id == advisor_user.advisor.id
    lee = make_advisor(name="Lee Offline", regions=["FL"], status="offline")
    session.commit()
    ticked_for_kara = {
        "advisor_id": str(lee.id),
        "why": "x",
        "confirm": ["not_available", "outside_state"],
        "confirm_for": str(kara.id),
    }
    other = manager_client.post(f"/leads/{lead.id}/reassign", data=ticked_for_kara)
    assert other.status_code == 422 and "Lee Offline is offline" in other.get_data(as_text=True)
    assert lead.owner_id == advisor_user.advisor.id

    confirmed = {**form, "confirm": ["not_available", "outside_state"], "confirm_for": str(kara.id)}
    assert manager_client.post(f"/leads/{lead.id}/reassign", data=confirmed).status_code == 303
    session.refresh(lead)
    assert lead.owner_id == kara.id
    event = session.scalars(select(Event).where(Event.lead_id == lead.id, Event.type == "reassigned")).one()
    assert event.detail["confirmed"] == ["not_available", "outside_state"]
    audit = session.scalars(select(AuditEntry).where(AuditEntry.target == f"lead:{lead.id}")).one()
    assert audit.actor == f"user:{manager_user.id}" and audit.detail["why"] == "Kara knows the family"
    timeline = manager_client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "Reassigned to Kara Lane, because: Kara knows the family" in timeline
    assert "confirmed although not available, outside the lead&#39;s state" in timeline
    assert "by Morgan Reyes" in timeline


def test_the_first_callback_moves_with_the_lead_to_its_new_owner(manager_client, advisor_user, session):
    lead = _assigned_lead(session, state="TX")
    dana = make_advisor(name="Dana Cruz", regions=["TX"])
    session.commit()
    (callback,) = _follow_ups(session, lead, "callback")
    assert callback.advisor_id == advisor_user.advisor.id
    response = manager_client.post(
        f"/leads/{lead.id}/reassign", data={"advisor_id": dana.id, "why": "Ana left"}
    )
    assert response.status_code == 303
    session.refresh(callback)
    assert callback.advisor_id == dana.id and callback.status == "open"


def test_reassigning_to_the_current_owner_is_refused_in_words(manager_client, advisor_user, session):
    lead = _assigned_lead(session, state="TX")
    owner = session.get(Advisor, advisor_user.advisor.id)
    response = manager_client.post(
        f"/leads/{lead.id}/reassign", data={"advisor_id": owner.id, "why": "again"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Ana Torres already has this lead; choose another advisor" in page
    assert re.search(r"<strong>advisor</strong>", page)
    assert (
        session.scalars(select(Event).where(Event.lead_id == lead.id, Event.type == "reassigned")).all() == []
    )


def test_the_lead_page_and_the_decision_explorer_say_rules_and_people_in_words(
    manager_client, manager_user, advisor_user, session
):
    lead = _assigned_lead(session, state="TX")
    dana = make_advisor(name="Dana Cruz", regions=["TX"])
    session.commit()
    manager_client.post(f"/leads/{lead.id}/reassign", data={"advisor_id": dana.id, "why": "Ana is at lunch"})
    page = manager_client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "chosen by advisors for the lead&#39;s state: first in line" in page
    explorer = manager_client.get(f"/reports/leads/{lead.id}/routing").get_data(as_text=True)
    assert "Morgan Reyes moved the lead. Reason given: Ana is at lunch" in explorer
    assert "Times in" in explorer
    for raw in ("chosen chosen", "exact_state", "user:", "web_form", "{&#39;"):
        assert raw not in page and raw not in explorer


def test_a_refused_lead_action_names_the_field_in_words_and_keeps_the_choice(
    advisor_client, advisor_user, session
):
    lead = _assigned_lead(session, state="TX")
    response = advisor_client.post(f"/leads/{lead.id}/status", data={"status": "closed", "reason": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<strong>reason</strong>: closing needs a reason: one of not interested, unreachable" in page
    assert '<option value="closed" selected>' in page
    assert "not_interested" not in page.split("error-summary")[1].split("</div>")[0]


def test_a_late_first_contact_moves_the_lead_and_its_follow_ups_to_the_next_advisor(session):
    first = make_advisor(name="First Owner", regions=["TX"])
    lead = make_lead(state="TX")
    operations.route_lead(lead.id)
    assert lead.owner_id == first.id
    planned = pipeline.schedule_follow_up(lead, _tomorrow_at(lead, 10), "test")
    second = make_advisor(name="Next Owner", regions=["TX"])
    assert operations.enforce_sla(lead.id, now=lead.sla_due_at + timedelta(minutes=5)) is not None
    assert lead.owner_id == second.id
    (callback,) = _follow_ups(session, lead, "callback")
    assert callback.advisor_id == planned.advisor_id == second.id


def test_the_screen_pop_history_reads_in_the_same_words_as_the_lead_page(
    advisor_client, advisor_user, session
):
    from leadrouter.leads.timeline import add_event

    lead = _assigned_lead(session, state="TX")
    add_event(lead, "call", "twilio", {"outcome": "answered"})
    session.commit()

    def summaries(html: str, start: str) -> list[str]:
        timeline = html[html.index(start) : html.index("</ol>", html.index(start))]
        return re.findall(r"<strong>(.*?)</strong>", timeline)

    pop = advisor_client.get(f"/leads/{lead.id}/pop").get_data(as_text=True)
    page = advisor_client.get(f"/leads/{lead.id}").get_data(as_text=True)

    history = summaries(pop, 'id="pop-history"')
    assert history and history == summaries(page, '<ol class="timeline">')[: len(history)]
    assert not [line for line in history if "exact_state" in line or line.strip().lower() == "call"]
