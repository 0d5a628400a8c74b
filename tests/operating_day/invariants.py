"""What must hold at every moment of an operating day, read through the queries the pages use."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from leadrouter.dashboard import presenters
from leadrouter.dashboard.queries import QueueFilters, queue_counts, queue_page, waiting_list
from leadrouter.extensions import db
from leadrouter.models import Advisor, FollowUp, Lead
from leadrouter.reports.queries import routing_report
from leadrouter.reports.scan import ReportFilters
from leadrouter.team.queries import team_board, waiting_summary

EVERYTHING = 100_000
CONTACT_WINDOW = (8, 21)  # local hours, [08:00, 21:00)


def check_every_invariant(now: datetime, promises: dict[int, datetime], report_day: date, zone: str) -> dict:
    """Assert the day's rules; return what was seen (for the test's own counts)."""
    seen = check_every_open_lead_is_somebodys(now)
    check_counts_equal_rows(now, seen)
    check_no_promise_moved(promises)
    check_automatic_follow_ups_keep_the_contact_window()
    check_report_equals_the_leads_table(now, report_day, zone)
    return seen


def check_every_open_lead_is_somebodys(now: datetime) -> dict:
    """Each open lead is in exactly one advisor's queue or in the managers' waiting list."""
    queues = {
        advisor.id: queue_page(QueueFilters(owner_id=advisor.id), now, limit=EVERYTHING).leads
        for advisor in db.session.scalars(select(Advisor))
    }
    waiting = waiting_list(limit=EVERYTHING)
    places = Counter(lead.id for leads in queues.values() for lead in leads)
    places.update(lead.id for lead in waiting.leads)
    open_ids = set(db.session.scalars(select(Lead.id).where(Lead.is_open.is_(True))))
    nowhere = open_ids - set(places)
    twice = {lead_id for lead_id, count in places.items() if count > 1}
    assert not nowhere, f"open leads in no queue and not waiting: {sorted(nowhere)}"
    assert not twice, f"leads in more than one place: {sorted(twice)}"
    assert set(places) == open_ids, "a closed lead is still listed"
    return {"queues": queues, "waiting": waiting}


def check_counts_equal_rows(now: datetime, seen: dict) -> None:
    """Every number on a queue, the managers' page and the team board is the count of its rows."""
    board = {row.advisor.id: row for row in team_board(now)}
    for advisor_id, rows in seen["queues"].items():
        counts = queue_counts(QueueFilters(owner_id=advisor_id), now)
        _assert_counts(counts, rows, now, f"advisor {advisor_id}'s queue")
        overdue = [lead for lead in rows if presenters.is_overdue(lead, now)]
        assert board[advisor_id].open == len(rows), f"team board open for advisor {advisor_id}"
        assert board[advisor_id].overdue == len(overdue), f"team board overdue for advisor {advisor_id}"
        if overdue:
            oldest = min(overdue, key=lambda lead: (presenters.owed_at(lead), lead.id))
            assert board[advisor_id].oldest_overdue_id == oldest.id
    everyone = queue_page(QueueFilters(), now, limit=EVERYTHING).leads
    _assert_counts(queue_counts(QueueFilters(), now), everyone, now, "the managers' open leads")
    waiting_rows = queue_page(QueueFilters(waiting=True), now, limit=EVERYTHING).leads
    _assert_counts(queue_counts(QueueFilters(waiting=True), now), waiting_rows, now, "the waiting filter")
    waiting = seen["waiting"]
    assert waiting.count == len(waiting.leads) == len(waiting_rows)
    assert {lead.id for lead in waiting.leads} == {lead.id for lead in waiting_rows}
    oldest = min((lead.created_at for lead in waiting.leads), default=None)
    assert waiting.oldest_created_at == oldest
    summary = waiting_summary()
    assert (summary.count, summary.oldest_created_at) == (waiting.count, oldest), "team board waiting"
    overdue_only = queue_page(QueueFilters(overdue=True), now, limit=EVERYTHING).leads
    assert {lead.id for lead in overdue_only} == {
        lead.id for lead in everyone if presenters.is_overdue(lead, now)
    }


def _assert_counts(counts, rows: list[Lead], now: datetime, where: str) -> None:
    overdue = sum(presenters.is_overdue(lead, now) for lead in rows)
    assert counts.open == len(rows), f"open count of {where}"
    assert counts.overdue == overdue, f"overdue count of {where}: {counts.overdue} shown, {overdue} rows"
    assert counts.critical == sum(lead.urgency == "critical" for lead in rows), f"critical count of {where}"
    assert counts.escalated == sum(lead.escalated_at is not None for lead in rows), f"escalated of {where}"


def check_no_promise_moved(promises: dict[int, datetime]) -> None:
    """Every lead has a promise from the moment it exists, and it never changes."""
    for lead_id, promised in db.session.execute(select(Lead.id, Lead.promised_contact_at)):
        assert promised is not None, f"lead {lead_id} has no stored promise"
        first = promises.setdefault(lead_id, promised)
        assert promised == first, f"lead {lead_id}'s promise moved from {first} to {promised}"


def check_automatic_follow_ups_keep_the_contact_window() -> None:
    """Every follow-up of a non-critical lead, by routing or by an advisor, is due inside 08:00-21:00
    of the lead's time, unless the person asked for that time (and the advisor wrote down what)."""
    rows = db.session.execute(
        select(FollowUp.due_at, Lead.timezone, Lead.urgency, Lead.id)
        .join(Lead, Lead.id == FollowUp.lead_id)
        .where(Lead.urgency != "critical", FollowUp.requested_time_note.is_(None))
    )
    for due_at, zone, _urgency, lead_id in rows:
        local = due_at.astimezone(ZoneInfo(zone or "America/Chicago"))
        assert CONTACT_WINDOW[0] <= local.hour < CONTACT_WINDOW[1], f"lead {lead_id}'s callback at {local}"


def check_report_equals_the_leads_table(now: datetime, day: date, zone: str) -> None:
    """The routing report (rollups and all) says what a direct count of the leads table says."""
    report = routing_report(ReportFilters(start=day, end=day), timezone=zone, now=now)
    leads = list(db.session.scalars(select(Lead)))
    assert report["leads"] == len(leads)
    assert report["by_urgency"] == {
        urgency: sum(lead.urgency == urgency for lead in leads) for urgency in report["by_urgency"]
    }
    assert report["by_source"] == {
        source: sum(lead.source == source for lead in leads) for source in report["by_source"]
    }
    sla = Counter(_sla_state(lead, now) for lead in leads)
    assert report["sla"] == {"met": sla["met"], "missed": sla["missed"], "pending": sla["pending"]}
    assert report["escalations"] == sum(lead.escalated_at is not None for lead in leads)
    assert report["funnel"]["closed"] == sum(lead.status == "closed" for lead in leads)


def _sla_state(lead: Lead, now: datetime) -> str:
    """Met or missed against the time promised to the person."""
    due = lead.promised_contact_at
    if lead.first_contact_at is not None:
        return "met" if lead.first_contact_at <= due else "missed"
    return "missed" if due < now else "pending"
