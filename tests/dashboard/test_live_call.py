"""The dashboard's live-call feed and the screen pop behind it: only the advisor on the call,
only the lead they may see, every showing access-logged; the lead page says the call is live."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from leadrouter.extensions import db
from leadrouter.models import AccessLog, Call, utcnow
from tests.factories import make_advisor, make_lead


def add_call(lead, advisor_id, **fields) -> Call:
    values = {
        "call_sid": f"CAlive{lead.id}{advisor_id}{len(fields)}",
        "lead_id": lead.id,
        "advisor_id": advisor_id,
        "started_at": utcnow() - timedelta(minutes=1),
        "answered_at": utcnow() - timedelta(seconds=30),
    }
    values.update(fields)
    call = Call(**values)
    db.session.add(call)
    db.session.flush()
    return call


def test_the_feed_names_the_call_the_advisor_is_on(advisor_client, advisor_user, session):
    assert advisor_client.get("/dashboard/live-call").get_json() == {"call": None}
    lead = make_lead(name="Jordan Feed")
    call = add_call(lead, advisor_user.advisor.id)
    session.commit()

    feed = advisor_client.get("/dashboard/live-call").get_json()["call"]
    assert feed["id"] == call.id and feed["lead_id"] == lead.id
    assert feed["pop_url"] == f"/leads/{lead.id}/pop" and feed["lead_url"] == f"/leads/{lead.id}"

    call.ended_at = utcnow()
    session.commit()
    assert advisor_client.get("/dashboard/live-call").get_json() == {"call": None}


def test_ringing_or_someone_elses_call_is_not_the_advisors_live_call(advisor_client, advisor_user, session):
    lead = make_lead()
    add_call(lead, advisor_user.advisor.id, call_sid="CAringing", answered_at=None)  # still ringing
    add_call(lead, make_advisor().id, call_sid="CAsomeoneelse")
    session.commit()
    assert advisor_client.get("/dashboard/live-call").get_json() == {"call": None}


def test_the_advisor_who_took_the_call_sees_the_pop_and_it_is_access_logged(
    advisor_client, advisor_user, session
):
    # An emergency rang several advisors: Ana took the call though the lead is Ben's.
    ben = make_advisor(name="Ben Owner")
    lead = make_lead(name="Casey <script>x</script>")
    lead.owner_id = ben.id
    add_call(lead, advisor_user.advisor.id)
    other = make_lead(name="Not Theirs")
    session.commit()

    response = advisor_client.get(f"/leads/{lead.id}/pop")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "On the line now:" in html and "<script>x" not in html and "&lt;script&gt;" in html
    logged = session.scalars(select(AccessLog).where(AccessLog.lead_id == lead.id)).all()
    assert [(entry.action, entry.detail) for entry in logged] == [("view_lead", {"via": "screen_pop"})]
    # A lead they never held nor spoke with stays hidden.
    assert advisor_client.get(f"/leads/{other.id}/pop").status_code == 404


def test_the_lead_page_says_the_call_is_live(manager_client, session):
    advisor = make_advisor(name="Dana Live")
    lead = make_lead()
    add_call(lead, advisor.id)
    session.commit()
    page = manager_client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert 'id="live-call"' in page and "Live call now: Dana Live took this caller" in page
    quiet = make_lead()
    session.commit()
    assert 'id="live-call"' not in manager_client.get(f"/leads/{quiet.id}").get_data(as_text=True)


def test_managers_have_no_live_call_feed(manager_client, session):
    assert manager_client.get("/dashboard/live-call").get_json() == {"call": None}


def test_a_live_answered_call_is_the_first_contact_on_the_lead_page(manager_client, session):
    advisor = make_advisor(name="Ana First")
    lead = make_lead(name="Jordan First")
    session.commit()
    before = manager_client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "due in" in before[before.index(">First contact<") :][:400]

    add_call(lead, advisor.id, direction="inbound")
    session.commit()
    assert lead.first_contact_at is None, "the call records its first contact only when it ends"

    page = manager_client.get(f"/leads/{lead.id}").get_data(as_text=True)
    first_contact = page[page.index(">First contact<") : page.index("</dd>", page.index(">First contact<"))]
    assert "due in" not in first_contact and "after" in first_contact
