"""Personal data stays out of logs, and every read of it by staff or partners is on record.

Already covered: a call's logs (tests/telephony/test_voice_webhooks.py), texts
(tests/telephony/test_sms_webhooks.py), and one access-log row per dashboard lead page
(tests/dashboard/test_queue_and_lead.py), API lead read and API list row
(tests/api/test_lead_reads.py). This captures every log record of every logger at DEBUG
through a whole day's flow at once, with the broker unreachable so the failure paths log too.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from leadrouter.auth.api_keys import issue_api_key
from leadrouter.auth.users import create_user
from leadrouter.models import AccessLog, Lead
from tests.api.conftest import bearer
from tests.conftest import PUBLIC_BASE_URL
from tests.dashboard.conftest import PASSWORD, sign_in
from tests.factories import make_advisor, make_lead
from tests.fault_stack import free_port
from tests.intake.conftest import VALID_FORM
from tests.telephony.test_voice_webhooks import SimulatedCall, post_signed

FORM = {
    **VALID_FORM,
    "name": "Dorothea Quillfeather",
    "patient_name": "Bartholomew Quillfeather",
    "phone": "(512) 206-0177",
    "email": "dorothea.q@example.org",
    "call_name": "Thea",
    "city": "Austin",
    "message": "My brother Bartholomew relapsed on fentanyl after eleven months clean.",
}
API_BODY = {
    "name": "Ignatius Partnerfield",
    "phone": "737.555.0188",
    "email": "ignatius@example.net",
    "message": "Referred by the clinic on Fifth Street, prefers mornings.",
    "patient_name": "Philippa Partnerfield",
    "state": "TX",
    "consent": {"given": True, "text": "You may call me.", "version": "p-1"},
}
CALLER = "+15125550163"
CALLER_NAME = "OSWALDO CALLERMAN"
TEXTER = "+15125550164"
TEXT_BODY = "need help for my cousin Evangelina tonight"

SECRETS = [
    # phone numbers: E.164, as typed, digits only, and the local part
    "+15122060177", "(512) 206-0177", "5122060177", "206-0177", "2060177",
    "+17375550188", "737.555.0188", "7375550188", "555-0188", "5550188",
    CALLER, CALLER[2:], "555-0163", TEXTER, TEXTER[2:],
    # names
    "Dorothea", "Quillfeather", "Bartholomew", "Ignatius", "Partnerfield", "Philippa",
    "OSWALDO", "CALLERMAN", "Oswaldo", "Evangelina", "Thea",
    # message texts and emails
    "relapsed on fentanyl after eleven months", "clinic on Fifth Street", TEXT_BODY,
    "dorothea.q@example.org", "ignatius@example.net",
]  # fmt: skip


class _Everything(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name} {record.levelname} {text}")


@contextmanager
def all_log_output():
    """Every record of every logger at DEBUG, including loggers that do not propagate."""
    handler = _Everything()
    root = logging.getLogger()
    loggers = [root] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    # Alembic's fileConfig() (the migrations the fixtures run) disables every logger that
    # existed before it: switch them back on, or this search would find nothing vacuously.
    every = [root] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.disabled) for logger in every]
    for logger in every:
        logger.disabled = False
    for logger in loggers:
        logger.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        for logger, level, disabled in saved:
            logger.setLevel(level)
            logger.disabled = disabled


@pytest.fixture
def leaky_world(make_app, session):
    """An app whose broker is unreachable (so enqueue failures log too), an advisor, staff and keys."""
    app = make_app(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    make_advisor(regions=["TX"], phone="+15122060911", capacity=20)
    manager = create_user("privacy-manager@example.org", PASSWORD, "manager", "Mona Manager")
    _, partner = issue_api_key("partner", "Partner")
    _, reader = issue_api_key("manager", "Reader")
    return app, manager, partner, reader


def test_no_phone_number_name_or_message_reaches_any_log(leaky_world, session):
    app, manager, partner, reader = leaky_world
    client = app.test_client()
    with all_log_output() as lines:
        # The form, once with a mistake (422) and then right (303).
        assert client.post("/contact", data={**FORM, "zip": "7870"}).status_code == 422
        assert client.post("/contact", data=FORM).status_code == 303
        # The partner API, once invalid and then right, then the same person again (a merge).
        assert (
            client.post(
                "/api/v1/leads", json={**API_BODY, "state": "ZZ"}, headers=bearer(partner)
            ).status_code
            == 422
        )
        assert client.post("/api/v1/leads", json=API_BODY, headers=bearer(partner)).status_code == 201
        assert client.post("/api/v1/leads", json=API_BODY, headers=bearer(partner)).status_code == 200
        # A whole call: menu, advisor does not answer, voicemail, hang-up.
        with app.app_context():
            call = SimulatedCall(client, CALLER, FromState="TX", CallerName=CALLER_NAME)
            dial_doc = call.press(call.start(), None, SpeechResult="for my brother Bartholomew")
            # Nobody else is free: the caller holds, and asks for a call back (1).
            hold_doc = call.dial_ends(dial_doc, "no-answer")
            voicemail = call.press(hold_doc, "1")
            call.leave_voicemail(voicemail, "RE" + "1" * 32)
            call.hang_up()
        # A text, and a STOP.
        for body in (TEXT_BODY, "STOP"):
            sms = {"MessageSid": f"SM{len(body):032d}", "From": TEXTER, "To": "+18005550100", "Body": body}
            assert post_signed(client, f"{PUBLIC_BASE_URL}/twilio/sms", sms).status_code == 200
        # Staff read everything: the dashboard, each lead page, the API read and list.
        staff = app.test_client()
        assert sign_in(staff, manager.email).status_code == 302
        lead_ids = list(session.scalars(select(Lead.id)))
        assert staff.get("/dashboard").status_code == 200
        for lead_id in lead_ids:
            assert staff.get(f"/leads/{lead_id}").status_code == 200
            assert client.get(f"/api/v1/leads/{lead_id}", headers=bearer(reader)).status_code == 200
        listed = client.get("/api/v1/leads", query_string={"phone": "(512) 206-0177"}, headers=bearer(reader))
        assert listed.status_code == 200 and listed.get_json()["leads"]
        # A failed sign-in with a person's name as the address.
        assert sign_in(staff, "dorothea.q@example.org", "wrong").status_code in (200, 302, 401)

    assert len(lead_ids) >= 4
    output = "\n".join(lines)
    assert output, "the flow logged something, so the search below means something"
    found = [secret for secret in SECRETS if secret.lower() in output.lower()]
    assert found == [], f"personal data in the logs: {found}\n{output[:3000]}"


# --- the access log ------------------------------------------------------------------------


def test_a_managers_view_of_any_lead_is_logged_with_who_and_from_where(app, session):
    manager = create_user("reader@example.org", PASSWORD, "manager", "Rae Reader")
    client = app.test_client()
    # Sessions are bound to the address they signed in from (Flask-Login strong protection).
    client.environ_base["REMOTE_ADDR"] = "198.51.100.44"
    assert sign_in(client, manager.email).status_code == 302
    lead = make_lead()
    client.get(f"/leads/{lead.id}", environ_base={"REMOTE_ADDR": "198.51.100.44"})
    entry = session.scalars(select(AccessLog).where(AccessLog.lead_id == lead.id)).one()
    assert (entry.user_id, entry.action, entry.ip) == (manager.id, "view_lead", "198.51.100.44")


def test_an_advisor_refused_another_advisors_lead_reads_nothing_and_logs_nothing(app, session):
    advisor = create_user("nosy@example.org", PASSWORD, "advisor", "Nosy Advisor", regions=["CA"])
    client = app.test_client()
    assert sign_in(client, advisor.email).status_code == 302
    lead = make_lead(name="Private Person")
    response = client.get(f"/leads/{lead.id}")
    assert response.status_code == 404 and "Private Person" not in response.get_data(as_text=True)
    assert session.scalars(select(AccessLog).where(AccessLog.lead_id == lead.id)).all() == []


def test_a_partner_merge_answers_without_what_other_channels_said(client, session):
    make_lead(source="web_form", name="Form Person", phone="+15122060155", message="private words")
    _, partner = issue_api_key("partner", "Partner")
    response = client.post(
        "/api/v1/leads", json={"name": "Probe", "phone": "+15122060155"}, headers=bearer(partner)
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Form Person" not in body and "private words" not in body


def test_the_lead_page_shown_again_after_a_refused_action_is_logged(app, session):
    manager = create_user("again@example.org", PASSWORD, "manager", "Ari Again")
    client = app.test_client()
    assert sign_in(client, manager.email).status_code == 302
    lead = make_lead(name="Shown Again")
    session.commit()  # as a finished request would; the outer test transaction still rolls back
    response = client.post(f"/leads/{lead.id}/notes", data={"text": ""})
    assert response.status_code == 422 and "Shown Again" in response.get_data(as_text=True)
    assert session.scalars(select(AccessLog).where(AccessLog.lead_id == lead.id)).all() != []
