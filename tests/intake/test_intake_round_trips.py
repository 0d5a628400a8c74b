"""record_lead reads what it needs in one query: the recent lead and the phone's do-not-contact flag."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from leadrouter.extensions import db
from leadrouter.intake.operations import LeadInput, find_recent_lead, record_lead
from leadrouter.models import ContactPreference, utcnow

PHONE = "+15122060142"


@pytest.fixture
def statements(app, session):
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def test_a_new_lead_reads_once_before_it_writes(session, statements):
    record_lead(LeadInput(source="api", name="Dana", phone=PHONE), route=False)
    reads = [s for s in statements if s.startswith("SELECT") and "pg_advisory_xact_lock" not in s]
    assert len(reads) == 1
    assert "contact_preferences" in reads[0] and "leads" in reads[0]


@pytest.mark.parametrize("do_not_contact", [True, False])
def test_a_new_lead_takes_the_phones_preference(session, do_not_contact):
    session.add(ContactPreference(phone=PHONE, do_not_contact=do_not_contact))
    session.flush()
    result = record_lead(LeadInput(source="api", name="Dana", phone="(512) 206-0142"), route=False)
    assert result.created and result.lead.do_not_contact is do_not_contact


def test_a_merged_lead_takes_a_later_do_not_contact(session):
    first = record_lead(LeadInput(source="api", name="Dana", phone=PHONE), route=False)
    assert first.lead.do_not_contact is False
    session.add(ContactPreference(phone=PHONE, do_not_contact=True))
    session.flush()
    again = record_lead(LeadInput(source="web_form", phone=PHONE, message="Please hurry"), route=False)
    assert again.merged and again.lead is first.lead and again.lead.do_not_contact is True


def test_find_recent_lead_by_phone_and_by_email(session):
    now = utcnow()
    assert find_recent_lead(PHONE, None, now) == (None, False)
    assert find_recent_lead(None, None, now) == (None, False)
    by_phone = record_lead(LeadInput(source="api", name="Dana", phone=PHONE), route=False).lead
    by_email = record_lead(LeadInput(source="api", name="Sam", email="Sam@Example.org"), route=False).lead
    assert find_recent_lead(PHONE, None, now + timedelta(hours=1)) == (by_phone, False)
    assert find_recent_lead(None, "sam@example.org", now + timedelta(hours=1)) == (by_email, False)
    assert find_recent_lead(PHONE, None, now + timedelta(hours=25)) == (None, False)
