"""A promise is a promise, and every open lead is somebody's: each rule as a person meets it."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from leadrouter.assignment import operations
from leadrouter.dashboard.queries import QueueFilters, queue_counts, waiting_list
from leadrouter.models import AccessLog, Event, Lead
from leadrouter.team.operations import update_advisor
from tests.factories import make_advisor, make_lead
from tests.intake.test_contact import post
from tests.operating_day.conftest import ON_CALL_NUMBER
from workers.tasks.routing import notify_on_call

THANKS = re.compile(r"/thanks/([0-9a-f]{32})$")


def _clock_text(moment, zone="America/Chicago") -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%I:%M %p").lstrip("0")


def test_the_thanks_page_shows_the_stored_promise_which_a_reassignment_does_not_move(client, session, clock):
    make_advisor(name="Kara", regions=["TX"])
    make_advisor(name="Derek", regions=["TX"])
    public_id = THANKS.search(post(client, message="Looking for options for my son").headers["Location"])[1]
    lead = session.scalar(select(Lead).where(Lead.public_id == public_id))
    promised = lead.promised_contact_at
    assert promised is not None and lead.next_due_at == promised
    page = client.get(f"/thanks/{public_id}").get_data(as_text=True)
    assert f"by <strong>{_clock_text(promised)}" in page

    operations.route_lead(lead.id)
    clock.advance(hours=3)  # nobody called: the sweep moves the lead to another advisor
    assert operations.enforce_sla(lead.id) == "reassigned"
    session.commit()

    assert lead.promised_contact_at == promised and lead.sla_due_at > promised
    page = client.get(f"/thanks/{public_id}").get_data(as_text=True)
    # Past the promise, the person is not given the new owner's later deadline as a new promise.
    assert _clock_text(lead.sla_due_at) not in page and "as soon as possible" in page


def test_the_thanks_page_says_before_8_am_in_the_morning_and_tonight_at_night(client, session, clock):
    morning = THANKS.search(post(client, message="Looking for options for my son").headers["Location"])[1]
    page = client.get(f"/thanks/{morning}").get_data(as_text=True)  # 07:00 in Texas
    assert "so we will not call you before 8 AM." in page and "tonight" not in page
    clock.advance(hours=15, minutes=30)  # 22:30 in Texas
    night = THANKS.search(
        post(client, message="Options for my daughter", phone="+15125550177").headers["Location"]
    )
    page = client.get(f"/thanks/{night[1]}").get_data(as_text=True)
    assert "so we will not call you tonight." in page and "before 8 AM" not in page


def test_a_lead_reassigned_after_its_breach_reads_late_against_its_promise(manager_client, session, clock):
    kara = make_advisor(name="Kara", regions=["TX"])
    derek = make_advisor(name="Derek", regions=["TX"])
    lead = make_lead(message="I am in withdrawal and shaking, need detox today")  # high: 15 min
    operations.route_lead(lead.id)
    promised = lead.promised_contact_at
    clock.advance(minutes=(promised - clock.now).total_seconds() // 60 + 14)
    assert operations.enforce_sla(lead.id) == "reassigned"
    session.commit()
    new_owner = derek if lead.owner_id == derek.id else kara

    counts = queue_counts(QueueFilters(owner_id=new_owner.id), clock.now)
    assert (counts.open, counts.overdue) == (1, 1)
    page = manager_client.get(f"/dashboard?advisor={new_owner.id}").get_data(as_text=True)
    row = re.search(rf'<tr class="[^"]*overdue[^"]*" data-lead="{lead.id}">(.*?)</tr>', page, re.S)
    assert row, "the row is marked overdue"
    late = int((clock.now - promised).total_seconds() // 60)
    assert f"first call promised Wed {_clock_text(promised)} CST, {late} min late" in row[1]
    board = manager_client.get("/team").get_data(as_text=True)
    assert f'href="/leads/{lead.id}"' in board  # the oldest overdue lead of its new owner


def test_a_critical_lead_unreached_at_its_deadline_goes_to_the_managers_and_the_on_call_phone(
    manager_client, session, clock, outbox, twilio_http
):
    make_advisor(name="Kara", regions=["TX"])
    make_advisor(name="Derek", regions=["TX"])  # free and eligible: still no second round
    lead = make_lead(message="My brother overdosed and he is not breathing right")
    operations.route_lead(lead.id)
    session.commit()
    owner = lead.owner_id
    clock.advance(minutes=6)

    outbox.messages.append(("routing.enforce_sla", ()))
    outbox.run_all()

    assert lead.escalated_at == clock.now and lead.owner_id == owner and lead.reassignment_count == 0
    texts = [m for m in twilio_http.messages() if m.data["To"] == ON_CALL_NUMBER]
    assert len(texts) == 1 and f"#{lead.id}" in texts[0].data["Body"]
    assert lead.phone not in texts[0].data["Body"] and lead.name not in texts[0].data["Body"]
    assert notify_on_call.run(lead.id) is None  # delivered again: never a second text
    assert len([m for m in twilio_http.messages() if m.data["To"] == ON_CALL_NUMBER]) == 1
    assert session.scalar(select(Event.id).where(Event.lead_id == lead.id, Event.type == "on_call_texted"))

    page = manager_client.get(f"/dashboard?advisor={owner}")
    row = re.search(
        rf'<tr class="[^"]*escalated[^"]*" data-lead="{lead.id}">(.*?)</tr>',
        page.get_data(as_text=True),
        re.S,
    )
    assert row and "escalated" in row[1]


def test_no_on_call_text_without_an_on_call_number(session, clock, outbox, twilio_http, monkeypatch, app):
    monkeypatch.setitem(app.config, "ON_CALL_NUMBER", None)
    make_advisor(name="Kara", regions=["TX"])
    lead = make_lead(message="My brother overdosed and he is not breathing right")
    operations.route_lead(lead.id)
    clock.advance(minutes=6)
    outbox.messages.append(("routing.enforce_sla", ()))
    outbox.run_all()
    assert lead.escalated_at is not None
    assert [m for m in twilio_http.messages() if m.data["To"] == ON_CALL_NUMBER] == []


def test_a_lead_nobody_can_take_waits_first_on_the_managers_dashboard_with_why(
    manager_client, advisor_client, session, clock
):
    make_advisor(name="Kara", regions=["TX"], status="offline")
    lead = make_lead(state="FL", name="Flora Waiting")
    operations.route_lead(lead.id)
    session.commit()
    assert lead.status == "queued"
    clock.advance(minutes=25)

    page = manager_client.get("/dashboard").get_data(as_text=True)
    waiting = page[page.index('id="waiting"') : page.index('id="queue-rows"')]
    assert f'data-lead="{lead.id}"' in waiting and "Flora Waiting" in waiting
    assert "25 min" in waiting and "No advisor could take it" in waiting
    assert page.index('id="waiting"') < page.index('id="queue-rows"')  # shown first
    assert f'data-lead="{lead.id}"' not in advisor_client.get("/dashboard").get_data(as_text=True)
    board = manager_client.get("/team").get_data(as_text=True)
    assert re.search(r'data-count="waiting">1<', board) and "25 min ago" in board


def test_a_deactivated_advisors_leads_wait_for_the_managers(session):
    maya = make_advisor(name="Maya", regions=["TX"])
    lead = make_lead()
    operations.route_lead(lead.id)
    assert lead.owner_id == maya.id
    update_advisor(maya, {"active": False}, "user:1")
    session.flush()

    assert [row.id for row in waiting_list().leads] == [lead.id]
    assert queue_counts(QueueFilters(owner_id=maya.id), lead.created_at).open == 0


def test_managers_search_by_number_phone_or_name_and_each_search_is_access_logged(manager_client, session):
    make_advisor(regions=["TX"])
    dana = make_lead(name="Dana Searchable", phone="+15122060188")
    other = make_lead(name="Robin Other", phone="+15122060189")
    for lead in (dana, other):
        operations.route_lead(lead.id)
    session.commit()

    for query in (f"#{dana.id}", "(512) 206-0188", "searchab"):
        page = manager_client.get("/dashboard", query_string={"q": query}).get_data(as_text=True)
        rows = page[page.index('id="queue-rows"') :]
        assert f'data-lead="{dana.id}"' in rows and f'data-lead="{other.id}"' not in rows, query
    logs = session.scalars(select(AccessLog).where(AccessLog.action == "search_leads")).all()
    assert [log.detail["search"] for log in logs] == ["lead_id", "phone", "name"]
    assert all(log.detail["lead_ids"] == [dana.id] for log in logs)
    assert not any("0188" in str(log.detail) or "earchab" in str(log.detail) for log in logs)


def test_a_filter_that_makes_no_sense_is_named_in_words_and_keeps_what_was_typed(manager_client, session):
    make_advisor(regions=["TX"])
    lead = make_lead()
    operations.route_lead(lead.id)
    session.commit()
    page = manager_client.get("/dashboard?urgency=urgent&region=Texas&q=%23abc").get_data(as_text=True)
    assert "choose critical, high, normal or low" in page
    assert "give a state&#39;s two-letter code, such as TX" in page
    assert "a lead number is # followed by digits" in page
    assert 'value="Texas"' in page and 'value="#abc"' in page
    assert f'data-lead="{lead.id}"' in page  # the other filters still apply; nothing is hidden


def test_the_overdue_filter_and_count_cover_follow_ups_too(manager_client, session, clock):
    from leadrouter.pipeline import operations as pipeline

    make_advisor(regions=["TX"])
    lead = make_lead()
    operations.route_lead(lead.id)
    pipeline.log_contact_attempt(lead, "reached", "test")
    pipeline.schedule_follow_up(lead, clock.now + timedelta(hours=1), "test")
    session.commit()
    clock.advance(hours=2)

    counts = queue_counts(QueueFilters(overdue=True), clock.now)
    assert (counts.open, counts.overdue) == (1, 1)
    page = manager_client.get("/dashboard?overdue=1").get_data(as_text=True)
    assert re.search(r'data-count="overdue">1<', page) and "follow-up overdue since" in page
