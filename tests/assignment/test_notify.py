"""Advisor notification: an SMS through the real twilio Client, at most once per assignment."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from leadrouter.assignment import notify, operations
from leadrouter.models import Assignment, Notification
from tests.factories import make_advisor, make_lead
from tests.recording_http import RecordingHttpClient
from workers.tasks.routing import notify_assignment


@pytest.fixture
def twilio_http(app):
    recorder = RecordingHttpClient()
    app.extensions["twilio_http_client"] = recorder
    yield recorder
    app.extensions.pop("twilio_http_client", None)


def _urgent_assignment(session, **lead_fields):
    advisor = make_advisor(phone="+15122060199")
    lead = make_lead(message="my son overdosed, he is not breathing", **lead_fields)
    operations.route_lead(lead.id)
    session.flush()
    return session.scalar(select(Assignment).where(Assignment.lead_id == lead.id)), advisor, lead


def test_an_urgent_lead_texts_its_advisor_once(session, twilio_http):
    assignment, advisor, lead = _urgent_assignment(session)

    sid = notify_assignment.run(assignment.id)
    again = notify_assignment.run(assignment.id)

    messages = twilio_http.messages()
    assert len(messages) == 1 and again is None
    assert messages[0].data["To"] == advisor.phone
    assert messages[0].data["From"] == "+18005550100"
    body = messages[0].data["Body"]
    assert f"#{lead.id}" in body and "critical" in body
    assert lead.name not in body and lead.phone not in body  # no personal data by text
    notification = session.scalar(select(Notification))
    assert notification.status == "sent" and notification.provider_sid == sid


def test_a_text_interrupted_mid_send_is_never_sent_again(session, twilio_http):
    assignment, _, _ = _urgent_assignment(session)
    claimed = notify.claim_notification(assignment.id)  # a worker marked it sending, then died
    assert claimed.status == "sending"
    session.flush()

    assert notify_assignment.run(assignment.id) is None
    assert twilio_http.messages() == []


def test_a_twilio_error_leaves_the_text_retryable(session, twilio_http):
    assignment, _, _ = _urgent_assignment(session)
    twilio_http.fail_with_status = 500
    with pytest.raises(Exception, match="500|Unable"):
        notify_assignment.run(assignment.id)
    assert session.scalar(select(Notification)).status == "failed"

    twilio_http.fail_with_status = None
    notify_assignment.run(assignment.id)
    assert session.scalar(select(Notification)).status == "sent"
    assert len(twilio_http.messages()) == 2  # the failed attempt and the one that went out


def test_an_ended_assignment_is_not_announced(session, twilio_http):
    assignment, _, lead = _urgent_assignment(session)
    lead.set_status("closed")
    operations.release_lead(lead, "closed")
    session.flush()
    assert notify_assignment.run(assignment.id) is None
    assert twilio_http.messages() == []
