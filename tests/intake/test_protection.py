"""CSRF and the rate limit on POST /contact, each on its own app with the protection switched on.

These apps share the session's migrated database but not the rolled-back test session, so
they post only forms that must store nothing, and delete what a successful post stored.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from leadrouter import create_app
from leadrouter.extensions import db, limiter
from leadrouter.models import Lead
from tests.conftest import base_config
from tests.intake.conftest import VALID_FORM, page_of


def lead_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Lead))


@pytest.fixture
def own_app(backend, database_urls, tmp_path):
    """Build an app with extra settings; remove leads it stored and the limiter state it set."""
    made = []
    limiter_enabled = limiter.enabled

    def build(**overrides):
        app = create_app(base_config(database_urls[backend], str(tmp_path), **overrides))
        with app.app_context():
            app.config["_first_lead_id"] = db.session.scalar(select(func.max(Lead.id))) or 0
        made.append(app)
        return app

    yield build
    # The limiter is one object for every app in the process: give the others theirs back.
    limiter.enabled = limiter_enabled
    for app in made:
        with app.app_context():
            db.session.execute(delete(Lead).where(Lead.id > app.config["_first_lead_id"]))
            db.session.commit()
            db.session.remove()


def csrf_token_from(client, path="/") -> str:
    page = page_of(client.get(path))
    (token,) = page.find_all("input", name="csrf_token")
    return token["value"]


def test_post_without_csrf_token_is_400_and_stores_nothing(own_app):
    app = own_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    before = lead_count(app)

    response = client.post("/contact", data=VALID_FORM)

    assert response.status_code == 400
    assert lead_count(app) == before
    page = page_of(response)
    assert "this form expired before it was sent" in page.text
    assert page.field_value("name") == VALID_FORM["name"], "what the person typed is kept"
    assert page.field_value("csrf_token"), "with a fresh token to send it again"


def test_post_with_a_wrong_csrf_token_is_400(own_app):
    app = own_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    csrf_token_from(client)
    before = lead_count(app)
    response = client.post("/contact", data={**VALID_FORM, "csrf_token": "forged"})
    assert response.status_code == 400
    assert lead_count(app) == before


def test_post_with_the_pages_csrf_token_is_accepted(own_app):
    app = own_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    token = csrf_token_from(client, "/help/tx")
    before = lead_count(app)

    response = client.post("/contact", data={**VALID_FORM, "csrf_token": token})

    assert response.status_code == 303
    assert lead_count(app) == before + 1
    assert client.get(response.headers["Location"]).status_code == 200


def test_sixth_post_in_a_minute_is_429(own_app):
    app = own_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    client = app.test_client()
    before = lead_count(app)
    bot = {**VALID_FORM, "website": "http://spam.example"}  # looks sent, stores nothing, counts

    statuses = [client.post("/contact", data=bot).status_code for _ in range(5)]
    sixth = client.post("/contact", data=VALID_FORM)

    assert statuses == [200] * 5
    assert sixth.status_code == 429
    assert int(sixth.headers["Retry-After"]) > 0
    assert lead_count(app) == before
    page = page_of(sixth)
    assert "sent several times in the last minute" in page.text
    assert page.find_all("a", href="tel:+18005550100")
    # Another address has its own allowance; the pages themselves are never limited.
    other = client.post("/contact", data=bot, environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert other.status_code == 200
    assert client.get("/").status_code == 200


def test_a_form_sent_back_to_fix_does_not_use_up_a_try(own_app):
    app = own_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", RATELIMIT_CONTACT="2 per minute")
    client = app.test_client()
    before = lead_count(app)
    mistyped = {**VALID_FORM, "phone": "12345"}

    corrections = [client.post("/contact", data=mistyped).status_code for _ in range(6)]
    sent = client.post("/contact", data=VALID_FORM)

    assert corrections == [422] * 6, "never locked out while fixing the form"
    assert sent.status_code == 303
    assert lead_count(app) == before + 1
    # Tries that were answered do count: the next one fills the limit, the one after is refused.
    assert client.post("/contact", data={**VALID_FORM, "website": "x"}).status_code == 200
    assert client.post("/contact", data=mistyped).status_code == 429


def test_a_bot_sending_mistakes_is_still_stopped(own_app):
    app = own_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_CONTACT="2 per minute",
        RATELIMIT_CONTACT_POSTS="4 per minute",
    )
    client = app.test_client()
    mistyped = {**VALID_FORM, "phone": "12345"}

    statuses = [client.post("/contact", data=mistyped).status_code for _ in range(5)]

    assert statuses == [422] * 4 + [429]


def test_too_many_fields_with_csrf_on_is_still_refused(own_app):
    app = own_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    token = csrf_token_from(client)
    before = lead_count(app)
    data = {f"f{i}": "x" for i in range(10_000)}
    data.update({**VALID_FORM, "csrf_token": token})
    assert client.post("/contact", data=data).status_code == 413
    assert lead_count(app) == before
