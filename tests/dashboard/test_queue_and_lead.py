"""The advisor's queue and lead page, and who may see what."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import event, select

from leadrouter.assignment import operations
from leadrouter.extensions import db
from leadrouter.models import AccessLog, Event, FollowUp, utcnow
from tests.factories import make_lead


def _assigned_lead(session, **fields):
    lead = make_lead(**fields)
    operations.route_lead(lead.id)
    session.commit()  # as a finished request would; the test's outer transaction still rolls back
    return lead


def _tomorrow_at_ten(lead):
    """A follow-up time inside the calling hours, in the lead's own zone."""
    local = (utcnow() + timedelta(days=1)).astimezone(ZoneInfo(lead.timezone))
    return local.replace(hour=10, minute=0, second=0, microsecond=0)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/leads/1").status_code == 302


def test_my_queue_lists_my_leads_most_urgent_first(advisor_client, advisor_user, session):
    calm = _assigned_lead(session, name="Calm Caller", message="Just some information please")
    urgent = _assigned_lead(
        session, name="Urgent Caller", message="my husband overdosed and is not breathing"
    )
    page = advisor_client.get("/dashboard").get_data(as_text=True)
    assert page.index("Urgent Caller") < page.index("Calm Caller")
    assert "badge-critical" in page and "2</span> open" in page
    assert calm.owner_id == urgent.owner_id == advisor_user.advisor.id


def test_another_advisors_lead_is_not_found(app, session, advisor_user, other_advisor_user):
    texan = _assigned_lead(session, state="TX")
    from tests.dashboard.conftest import sign_in

    ben = app.test_client()
    sign_in(ben, other_advisor_user.email)
    assert ben.get(f"/leads/{texan.id}").status_code == 404
    assert ben.post(f"/leads/{texan.id}/notes", data={"text": "x"}).status_code == 404


def test_managers_see_every_lead(manager_client, advisor_user, session):
    lead = _assigned_lead(session, name="Anyone")
    assert manager_client.get(f"/leads/{lead.id}").status_code == 200
    assert "Anyone" in manager_client.get("/dashboard").get_data(as_text=True)


def test_viewing_a_lead_is_written_to_the_access_log(advisor_client, advisor_user, session):
    lead = _assigned_lead(session)
    advisor_client.get(f"/leads/{lead.id}")
    entry = session.scalar(select(AccessLog).where(AccessLog.lead_id == lead.id))
    assert entry.user_id == advisor_user.id and entry.action == "view_lead"


def test_script_in_a_name_is_shown_as_text(advisor_client, advisor_user, session):
    lead = _assigned_lead(session, name="<script>alert(1)</script>", message="<b>hi</b>")
    page = advisor_client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    queue = advisor_client.get("/dashboard").get_data(as_text=True)
    assert "<script>alert(1)" not in queue


def test_working_a_lead_from_first_call_to_referral(advisor_client, advisor_user, session):
    lead = _assigned_lead(session)
    url = f"/leads/{lead.id}"
    assert advisor_client.post(f"{url}/attempts", data={"outcome": "no_answer"}).status_code == 303
    assert lead.first_contact_at is not None
    advisor_client.post(f"{url}/attempts", data={"outcome": "reached", "note": "talked 10 min"})
    assert lead.status == "contacted"
    due = _tomorrow_at_ten(lead)
    response = advisor_client.post(f"{url}/follow-ups", data={"due_at": due.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 303
    follow_up = session.scalar(
        select(FollowUp).where(FollowUp.lead_id == lead.id, FollowUp.kind == "follow_up")
    )
    assert abs((follow_up.due_at - due).total_seconds()) < 60
    advisor_client.post(f"{url}/notes", data={"text": "Family supportive"})
    advisor_client.post(f"{url}/status", data={"status": "assessment"})
    advisor_client.post(f"{url}/status", data={"status": "referred"})
    assert lead.status == "referred" and not lead.is_open
    assert advisor_user.advisor.open_leads == 0
    types = [e.type for e in session.scalars(select(Event).where(Event.lead_id == lead.id))]
    assert types.count("contact_attempt") == 2 and "note" in types and types.count("status_changed") >= 3


def test_closing_without_a_reason_is_refused_and_changes_nothing(advisor_client, advisor_user, session):
    lead = _assigned_lead(session)
    response = advisor_client.post(f"/leads/{lead.id}/status", data={"status": "closed"})
    assert response.status_code == 422
    assert "closing needs a reason" in response.get_data(as_text=True)
    db.session.refresh(lead)
    assert lead.status == "assigned"


def test_availability_switch_is_obeyed_by_routing_at_once(advisor_client, advisor_user, session):
    advisor_client.post("/dashboard/status", data={"status": "offline"})
    assert advisor_user.advisor.status == "offline"
    lead = _assigned_lead(session)
    assert lead.owner_id is None and lead.status == "queued"
    advisor_client.post("/dashboard/status", data={"status": "available"})
    operations.route_lead(lead.id, trigger="drain")
    assert lead.owner_id == advisor_user.advisor.id


def test_do_not_contact_blocks_click_to_call_before_any_twilio_request(advisor_client, advisor_user, session):
    lead = _assigned_lead(session)
    advisor_client.post(f"/leads/{lead.id}/do-not-contact", data={"value": "on"})
    response = advisor_client.post(f"/leads/{lead.id}/call")
    assert response.status_code == 409
    blocked = session.scalar(select(Event).where(Event.lead_id == lead.id, Event.type == "outbound_blocked"))
    assert blocked.detail["code"] == "do_not_contact"


def _count_queries(app):
    statements = []

    def record(*_args):
        statements.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    return statements, lambda: event.remove(engine, "before_cursor_execute", record)


def test_the_queue_and_lead_pages_do_not_query_per_row(app, advisor_client, advisor_user, session):
    for _ in range(3):
        _assigned_lead(session)
    statements, stop = _count_queries(app)
    advisor_client.get("/dashboard")
    few = len(statements)
    for _ in range(12):
        _assigned_lead(session)
    statements.clear()
    advisor_client.get("/dashboard")
    many = len(statements)
    stop()
    assert many == few, f"{few} queries for 3 leads but {many} for 15"


def test_security_headers_forbid_inline_script_and_framing(advisor_client):
    response = advisor_client.get("/dashboard")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_live_feed_reports_ids_and_counts(advisor_client, advisor_user, session):
    lead = _assigned_lead(session, message="she overdosed")
    feed = advisor_client.get("/dashboard/feed").get_json()
    assert feed["ids"] == [lead.id] and feed["critical"] == [lead.id]
    assert feed["counts"] == {"open": 1, "overdue": 0, "critical": 1, "due_today": 1, "escalated": 0}
    rows = advisor_client.get("/dashboard/rows").get_data(as_text=True)
    assert f'data-lead="{lead.id}"' in rows


def test_the_lead_page_does_not_query_per_event_call_or_follow_up(app, advisor_client, advisor_user, session):
    from leadrouter.models import Call, Recording
    from leadrouter.pipeline import operations as pipeline

    def busy_lead(touches: int):
        lead = _assigned_lead(session)
        for n in range(touches):
            pipeline.add_note(lead, f"note {n}", "test")
            call = Call(call_sid=f"CA{lead.id}-{n}", lead_id=lead.id, outcome="voicemail")
            session.add(call)
            session.flush()
            session.add(Recording(recording_sid=f"RE{lead.id}-{n}", call_id=call.id, url="https://x.test/r"))
            pipeline.schedule_follow_up(lead, _tomorrow_at_ten(lead) + timedelta(days=n), "test")
        session.commit()
        return lead

    quiet, busy = busy_lead(1), busy_lead(8)
    advisor_client.get(f"/leads/{busy.id}")  # warm up: first-request work is not per row
    statements, stop = _count_queries(app)
    advisor_client.get(f"/leads/{quiet.id}")
    few = len(statements)
    statements.clear()
    advisor_client.get(f"/leads/{busy.id}")
    many = len(statements)
    stop()
    assert many == few, f"{few} queries for a quiet lead but {many} for a busy one"


def test_a_former_owner_can_read_but_no_longer_act(app, session, advisor_user, other_advisor_user):
    from leadrouter.models import Advisor
    from tests.dashboard.conftest import sign_in

    lead = _assigned_lead(session, state="TX")
    ben = session.get(Advisor, other_advisor_user.advisor.id)
    operations.reassign_lead(lead, ben, "manager:1", "covering a shift", confirmed={"outside_state"})
    session.commit()
    ana = app.test_client()
    sign_in(ana, advisor_user.email)
    assert ana.get(f"/leads/{lead.id}").status_code == 200
    assert ana.post(f"/leads/{lead.id}/attempts", data={"outcome": "reached"}).status_code == 403
    db.session.refresh(lead)
    assert lead.first_contact_at is None


def test_only_a_manager_can_lift_do_not_contact(advisor_client, manager_client, advisor_user, session):
    lead = _assigned_lead(session)
    advisor_client.post(f"/leads/{lead.id}/do-not-contact", data={"value": "on"})
    refused = advisor_client.post(f"/leads/{lead.id}/do-not-contact", data={"value": "off"})
    assert refused.status_code == 422
    db.session.refresh(lead)
    assert lead.do_not_contact is True
    assert manager_client.post(f"/leads/{lead.id}/do-not-contact", data={"value": "off"}).status_code == 303
    db.session.refresh(lead)
    assert lead.do_not_contact is False


def test_a_lead_routing_could_not_handle_waits_in_the_managers_queue(
    manager_client, advisor_client, advisor_user, session
):
    lead = make_lead(name="Stuck Caller")
    operations.escalate_unroutable(lead.id, ZoneInfoNotFoundError("Mars/Olympus"))
    session.commit()

    assert "Stuck Caller" in manager_client.get("/dashboard").get_data(as_text=True)
    assert "Stuck Caller" not in advisor_client.get("/dashboard").get_data(as_text=True)
    response = manager_client.post(
        f"/leads/{lead.id}/reassign",
        data={"advisor_id": advisor_user.advisor.id, "why": "routing could not place it"},
    )
    assert response.status_code == 303
    session.refresh(lead)
    assert lead.owner_id == advisor_user.advisor.id and lead.status == "assigned"
    assert "Stuck Caller" in advisor_client.get("/dashboard").get_data(as_text=True)
