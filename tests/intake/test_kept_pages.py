"""The form's page is drawn once per address, language and minute, and kept; each visitor gets theirs."""

from __future__ import annotations

from datetime import UTC, datetime

from leadrouter.intake.views import _KeptPages
from tests.intake.conftest import VALID_FORM, page_of
from tests.intake.test_protection import own_app  # noqa: F401  (a fixture used below)


def test_each_visitor_gets_their_own_token_and_referrer_in_the_kept_page(own_app):  # noqa: F811
    app = own_app(WTF_CSRF_ENABLED=True)
    ana, ben = app.test_client(), app.test_client()

    ana_page = page_of(ana.get("/help/tx/austin", headers={"Referer": "https://search.example/?q=austin"}))
    ben_page = page_of(ben.get("/help/tx/austin", headers={"Referer": 'https://x.example/"><b>'}))

    assert ana_page.field_value("referrer") == "https://search.example/?q=austin"
    assert ben_page.field_value("referrer") == 'https://x.example/"><b>', "escaped, and read back as sent"
    ana_token, ben_token = ana_page.field_value("csrf_token"), ben_page.field_value("csrf_token")
    assert ana_token and ben_token and ana_token != ben_token
    assert ana_page.field_value("page_url") == "http://localhost/help/tx/austin"
    # Each token is the session's own: accepted from its visitor, refused from the other.
    mistyped = {**VALID_FORM, "phone": "12345"}
    assert ana.post("/contact", data={**mistyped, "csrf_token": ana_token}).status_code == 422
    assert ben.post("/contact", data={**mistyped, "csrf_token": ana_token}).status_code == 400


def test_the_kept_page_differs_by_address_and_language(client):
    english = client.get("/help/tx/austin").get_data(as_text=True)
    spanish = client.get("/help/tx/austin", headers={"Accept-Language": "es"}).get_data(as_text=True)
    tagged = page_of(client.get("/help/tx/austin?utm_source=radio"))
    houston = page_of(client.get("/help/tx/houston"))

    assert '<html lang="en">' in english and '<html lang="es">' in spanish
    assert tagged.field_value("utm_source") == "radio"
    assert not page_of(client.get("/help/tx/austin")).field_value("utm_source")
    assert any("Houston" in text for tag, text in houston.headings if tag == "h1")


def test_the_local_time_on_a_kept_page_moves_with_the_clock(client, monkeypatch):
    monkeypatch.setattr("leadrouter.intake.views.utcnow", lambda: datetime(2026, 7, 6, 15, 5, tzinfo=UTC))
    before = page_of(client.get("/help/tx/austin")).text
    monkeypatch.setattr("leadrouter.intake.views.utcnow", lambda: datetime(2026, 7, 6, 15, 6, tzinfo=UTC))
    after = page_of(client.get("/help/tx/austin")).text

    assert "Local time in Austin: 10:05 AM Central time." in before
    assert "Local time in Austin: 10:06 AM Central time." in after


def test_only_the_last_pages_used_are_kept():
    kept = _KeptPages(2)
    kept.put(("en", "/help/tx"), "texas")
    kept.put(("en", "/help/ca"), "california")
    assert kept.get(("en", "/help/tx")) == "texas"  # used: now the most recent

    kept.put(("en", "/help/ny"), "new york")

    assert kept.get(("en", "/help/ca")) is None, "the least recently used is dropped"
    assert kept.get(("en", "/help/tx")) == "texas" and kept.get(("en", "/help/ny")) == "new york"
