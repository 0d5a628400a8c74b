"""Callers pressing at the same moment, on committed data: one free advisor is never offered twice."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import delete, select

from leadrouter import create_app
from leadrouter.extensions import db
from leadrouter.models import (
    Advisor,
    Assignment,
    AuditEntry,
    Call,
    CallOffer,
    ConsentRecord,
    Event,
    FollowUp,
    Lead,
    Notification,
    RoutingDecision,
)
from tests.conftest import BACKENDS, PUBLIC_BASE_URL, base_config, migrate_to_head
from tests.factories import make_advisor
from tests.telephony.test_twiml import parse
from tests.telephony.test_voice_webhooks import HELPLINE, HOLD_URL, VOICE_URL, new_sid, post_signed

MENU_URL = f"{PUBLIC_BASE_URL}/twilio/voice/menu"


@pytest.fixture(params=BACKENDS)
def line_app(request, tmp_path):
    """An app whose requests really commit; on PostgreSQL, what a test made is removed after it."""
    if request.param == "sqlite":
        app = create_app(base_config(f"sqlite:///{tmp_path / 'line.sqlite'}", str(tmp_path / "instance")))
        migrate_to_head(app)
    else:
        urls = request.getfixturevalue("database_urls")
        app = create_app(base_config(urls["postgres"], str(tmp_path / "instance")))
    yield app
    with app.app_context():
        if request.param == "postgres":
            _remove_what_the_test_made()
        db.session.remove()
        db.engine.dispose()


def _remove_what_the_test_made() -> None:
    leads = select(Lead.id).where(Lead.phone.like("+1737555%"))
    assignments = select(Assignment.id).where(Assignment.lead_id.in_(leads))
    calls = select(Call.id).where(Call.lead_id.in_(leads))
    db.session.execute(delete(Notification).where(Notification.assignment_id.in_(assignments)))
    db.session.execute(delete(Assignment).where(Assignment.lead_id.in_(leads)))
    db.session.execute(delete(RoutingDecision).where(RoutingDecision.lead_id.in_(leads)))
    db.session.execute(delete(CallOffer).where(CallOffer.call_id.in_(calls)))
    db.session.execute(delete(Call).where(Call.lead_id.in_(leads)))
    for model in (FollowUp, Event, ConsentRecord):
        db.session.execute(delete(model).where(model.lead_id.in_(leads)))
    db.session.execute(delete(Lead).where(Lead.phone.like("+1737555%")))
    db.session.execute(delete(AuditEntry).where(AuditEntry.actor == "twilio"))
    db.session.execute(delete(Advisor).where(Advisor.email.like("line-%")))
    db.session.commit()


def team(app, size: int) -> list[str]:
    with app.app_context():
        phones = [make_advisor(email=f"line-{n}@example.org", capacity=50).phone for n in range(size)]
        db.session.commit()
        db.session.remove()
    return phones


def callers(app, count: int) -> list[dict]:
    """Callers who heard the welcome and are about to press 1."""
    client = app.test_client()
    made = []
    for n in range(count):
        params = {
            "CallSid": new_sid(),
            "From": f"+1737555{n:04d}",
            "To": HELPLINE,
            "CallStatus": "in-progress",
            "FromState": "TX",
        }
        assert post_signed(client, VOICE_URL, params).status_code == 200
        made.append(params)
    return made


def all_together(app, url: str, each: list[dict]) -> list:
    """POST one signed request per caller from as many threads, released together."""
    barrier = threading.Barrier(len(each))

    def one(params):
        client = app.test_client()
        barrier.wait()
        response = post_signed(client, url, params)
        assert response.status_code == 200, response.get_data(as_text=True)
        return parse(response.get_data(as_text=True))

    with ThreadPoolExecutor(max_workers=len(each)) as pool:
        return list(pool.map(one, each))


def rung(doc) -> list[str]:
    return [number.text for number in doc.iter("Number")]


def holds(doc) -> bool:
    return doc.find("Dial") is None and doc.find("Gather").get("action") == HOLD_URL


def open_offers_per_advisor(app) -> Counter:
    with app.app_context():
        advisor_ids = db.session.scalars(select(CallOffer.advisor_id).where(CallOffer.ended_at.is_(None)))
        counted = Counter(advisor_ids)
        db.session.remove()
    return counted


def test_two_callers_and_one_free_advisor_make_one_offer_and_one_caller_holds(line_app):
    [phone] = team(line_app, 1)
    docs = all_together(line_app, MENU_URL, [{**p, "Digits": "1"} for p in callers(line_app, 2)])
    assert sorted(len(rung(doc)) for doc in docs) == [0, 1]
    assert [rung(doc) for doc in docs if rung(doc)] == [[phone]]
    assert sum(holds(doc) for doc in docs) == 1
    assert list(open_offers_per_advisor(line_app).values()) == [1]


def test_twenty_callers_and_five_advisors_never_offer_an_advisor_two_calls(line_app):
    phones = team(line_app, 5)
    people = callers(line_app, 20)
    docs = all_together(line_app, MENU_URL, [{**p, "Digits": "1"} for p in people])
    offered = Counter(number for doc in docs for number in rung(doc))
    assert set(offered) == set(phones) and set(offered.values()) == {1}
    assert sum(holds(doc) for doc in docs) == 15
    assert set(open_offers_per_advisor(line_app).values()) == {1}

    # The fifteen holding take a turn at once: everyone is still ringing, nobody is offered twice.
    waiting = [p for p, doc in zip(people, docs, strict=True) if holds(doc)]
    turns = all_together(line_app, HOLD_URL, waiting)
    assert all(holds(doc) for doc in turns)
    assert set(open_offers_per_advisor(line_app).values()) == {1}
