"""`flask --app leadrouter purge-closed`: old finished leads lose every personal detail, and the
routing report computed before and after is identical."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text

from leadrouter.assignment.operations import route_lead
from leadrouter.extensions import db
from leadrouter.intake.operations import ConsentInput
from leadrouter.models import (
    Call,
    ConsentRecord,
    ContactPreference,
    Event,
    FollowUp,
    Lead,
    Recording,
    TextMessage,
    utcnow,
)
from leadrouter.pipeline import operations as pipeline
from leadrouter.reports.queries import ReportFilters, routing_report
from tests.factories import make_advisor, make_lead

NOW = utcnow().replace(microsecond=0)
LONG_AGO = NOW - timedelta(days=400)
RECENTLY = NOW - timedelta(days=30)


def personal(n: int) -> dict:
    """Distinctive personal data for lead n, to search the whole database for afterwards."""
    return {
        "name": f"Zebediah Oldcase{n}",
        "phone": f"+1737206{8800 + n:04d}",
        "email": f"zebediah{n}@example.org",
        "patient_name": f"Hortensia Oldcase{n}",
        "message": f"secret story number {n} about the overdose last winter",
        "city": "Waco",
        "zip": "76701",
        "contact_preferences": {"call_name": f"Zeb{n}", "voicemail_ok": True},
        "page_url": f"https://helpline.example.org/help/tx/waco?ref=person{n}",
        "referrer": f"https://search.example/?q=person{n}",
        "consent": ConsentInput(
            given=True,
            text="You may call or text me.",
            version="v7",
            ip=f"203.0.113.{n}",
            user_agent=f"Browser/{n} (private device)",
            page_url=f"https://helpline.example.org/?person{n}",
        ),
    }


def worked_lead(n: int, final_status: str, at, advisor) -> Lead:
    """A lead taken from arrival to final_status, with notes, a callback, a text and a voicemail."""
    lead = make_lead(state="TX", occurred_at=at, **personal(n))
    route_lead(lead.id, now=at + timedelta(minutes=1))
    assert lead.owner_id == advisor.id
    pipeline.log_contact_attempt(
        lead, "reached", "user:1", f"talked to Zeb{n} about detox", now=at + timedelta(minutes=9)
    )
    pipeline.add_note(
        lead, f"Zebediah{n} has insurance via his employer", "user:1", now=at + timedelta(minutes=10)
    )
    pipeline.schedule_follow_up(
        lead, at + timedelta(days=2), "user:1", f"call Zeb{n} after work", now=at + timedelta(minutes=11)
    )
    db.session.add(
        TextMessage(
            message_sid=f"SM{n:032d}",
            lead_id=lead.id,
            phone=lead.phone,
            body=f"text from Zeb{n}",
            created_at=at,
        )
    )
    call = Call(
        call_sid=f"CA{n:032d}",
        lead_id=lead.id,
        status="completed",
        outcome="voicemail",
        started_at=at,
        to_number="+18005550100",
    )
    db.session.add(call)
    db.session.flush()
    db.session.add(
        Recording(
            recording_sid=f"RE{n:032d}",
            call_id=call.id,
            url=f"https://api.twilio.com/rec/person{n}",
            transcript=f"hi this is Zebediah{n}",
        )
    )
    path = {
        "closed": ["assessment", "closed"],
        "referred": ["assessment", "referred"],
        "admitted": ["assessment", "admitted"],
    }
    for step, status in enumerate(path.get(final_status, []), start=1):
        reason = "declined_treatment" if status == "closed" else None
        pipeline.change_status(lead, status, "user:1", reason, now=at + timedelta(hours=step))
    db.session.flush()
    return lead  # fmt: skip


@pytest.fixture
def history(session):
    advisor = make_advisor(regions=["TX"], capacity=50)
    old = [
        worked_lead(n, status, LONG_AGO, advisor)
        for n, status in enumerate(("closed", "referred", "admitted"), 1)
    ]
    recent_closed = worked_lead(4, "closed", RECENTLY, advisor)
    old_but_open = worked_lead(5, "assessment", LONG_AGO, advisor)
    return {"old": old, "recent_closed": recent_closed, "old_but_open": old_but_open}


def report() -> dict:
    numbers = routing_report(
        ReportFilters(start=(LONG_AGO - timedelta(days=2)).date(), end=NOW.date()), now=NOW
    )
    numbers.pop("generated_at")
    return numbers


def purge(app, *args: str):
    return app.test_cli_runner().invoke(args=["purge-closed", *args])


def database_text(session) -> str:
    """Every row of every table but the opt-out list, as one string to search."""
    parts = []
    for table in sorted(inspect(session.connection()).get_table_names()):
        if table in (ContactPreference.__tablename__, "alembic_version"):
            continue
        for row in session.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 (our own table names)
            parts.append(" ".join(str(value) for value in row))
    return "\n".join(parts)


def secrets_of(n: int) -> list[str]:
    data = personal(n)
    return [
        data["name"], data["phone"], data["phone"][2:], data["email"], data["patient_name"], data["message"],
        f"Zeb{n}", f"person{n}", f"203.0.113.{n}", f"Browser/{n}", f"Zebediah{n}",
    ]  # fmt: skip


def test_a_dry_run_counts_and_changes_nothing(app, session, history):
    before = database_text(session)
    result = purge(app, "--older-than-days", "365", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would anonymise 3 leads" in result.output
    assert database_text(session) == before


def test_old_finished_leads_are_anonymised_and_the_report_is_unchanged(app, session, history):
    numbers_before = report()
    events_before = {
        lead.id: list(
            session.execute(select(Event.type, Event.at).where(Event.lead_id == lead.id).order_by(Event.id))
        )
        for lead in history["old"]
    }
    assert numbers_before["leads"] == 5  # the recent and the still-open leads are in range too
    assert all(secret in database_text(session) for secret in secrets_of(1))

    result = purge(app, "--older-than-days", "365")

    assert result.exit_code == 0, result.output
    assert "anonymised 3 leads" in result.output
    session.expire_all()
    assert report() == numbers_before

    remaining = database_text(session)
    for n in (1, 2, 3):
        found = [secret for secret in secrets_of(n) if secret in remaining]
        assert found == [], f"lead {n} still holds {found}"
    for n in (4, 5):  # too recent, or still being worked: untouched
        assert all(secret in remaining for secret in secrets_of(n)[:6])

    for lead in history["old"]:
        session.refresh(lead)
        assert (lead.name, lead.phone, lead.email, lead.message, lead.city, lead.zip) == (None,) * 6
        assert lead.contact_preferences == {} and lead.page_url is None and lead.referrer is None
        kept = (lead.source, lead.region, lead.state, lead.urgency, lead.status, lead.first_contact_at)
        assert None not in kept[:5] and lead.first_contact_at is not None
        consent = session.scalar(select(ConsentRecord).where(ConsentRecord.lead_id == lead.id))
        assert (consent.given, consent.version) == (True, "v7") and consent.given_at is not None
        assert (consent.ip, consent.user_agent, consent.page_url) == (None, None, None)
        events = list(
            session.execute(select(Event.type, Event.at).where(Event.lead_id == lead.id).order_by(Event.id))
        )
        assert events[:-1] == events_before[lead.id], "every timeline row kept, with its type and time"
        assert events[-1].type == "anonymised"
        assert session.scalar(select(FollowUp.note).where(FollowUp.lead_id == lead.id)) is None
        assert session.scalar(select(TextMessage.body).where(TextMessage.lead_id == lead.id)) is None


def test_a_second_run_finds_nothing_left_to_do(app, session, history):
    assert purge(app, "--older-than-days", "365").exit_code == 0
    again = purge(app, "--older-than-days", "365")
    assert again.exit_code == 0 and "anonymised 0 leads" in again.output


def test_the_default_period_comes_from_retention_days(app, session, history):
    app.config["RETENTION_DAYS"] = 10
    try:
        result = purge(app)
    finally:
        app.config.pop("RETENTION_DAYS")
    assert "anonymised 4 leads" in result.output and "(10 days)" in result.output


def test_an_opt_out_outlives_the_lead_it_came_with(app, session, history):
    lead = history["old"][0]
    pipeline.set_do_not_contact(lead, True, "user:1", "asked", now=LONG_AGO + timedelta(minutes=30))
    phone = lead.phone
    assert purge(app, "--older-than-days", "365").exit_code == 0
    assert session.get(ContactPreference, phone).do_not_contact is True


@pytest.mark.parametrize("days", ["0", "-5", "soon"])
def test_a_bad_period_is_refused_clearly(app, session, days):
    result = purge(app, "--older-than-days", days)
    assert result.exit_code == 2 and "older-than-days" in result.output
