"""The page's language: ?lang= is remembered in a cookie; with no choice made, Accept-Language decides."""

from __future__ import annotations

import pytest

from leadrouter.i18n import LANGUAGE_COOKIE
from tests.intake.conftest import VALID_FORM, page_of

SPANISH_HEADING = "Pida que le llamemos"
ENGLISH_HEADING = "Ask for a call back"


def language_of(response) -> str:
    (html,) = page_of(response).find_all("html")
    return html["lang"]


def test_a_chosen_language_is_remembered_on_every_later_page(client):
    first = client.get("/?lang=es")
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith(f"{LANGUAGE_COOKIE}=es;")
    assert "Max-Age=" in cookie and "SameSite=Lax" in cookie and "HttpOnly" in cookie

    for path in ("/", "/help/tx", "/help/tx/austin", "/login"):
        response = client.get(path)
        assert language_of(response) == "es", path
    assert SPANISH_HEADING in page_of(client.get("/help/tx")).text
    missing = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and language_of(missing) == "es"


def test_the_english_link_switches_back_and_is_remembered(client):
    client.get("/?lang=es")
    links = page_of(client.get("/help/tx")).find_all("a", hreflang="en")
    assert links and links[0]["href"] == "/help/tx?lang=en"

    client.get(links[0]["href"])

    response = client.get("/help/tx")
    assert language_of(response) == "en" and ENGLISH_HEADING in page_of(response).text


def test_the_form_sent_from_a_remembered_language_answers_in_it(client, sent_tasks):
    client.get("/?lang=es")
    invalid = client.post("/contact", data={**VALID_FORM, "phone": "12345"})
    assert invalid.status_code == 422 and language_of(invalid) == "es"


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("es-MX,es;q=0.9,en;q=0.8", "es"),
        ("es", "es"),
        ("es-US", "es"),
        ("en-US,en;q=0.9,es;q=0.5", "en"),
        ("fr-FR,fr;q=0.9", "en"),
        (None, "en"),
    ],
)
def test_with_no_choice_made_accept_language_decides(client, header, lang):
    headers = {"Accept-Language": header} if header else {}
    response = client.get("/", headers=headers)
    assert language_of(response) == lang
    assert "Accept-Language" in response.headers["Vary"]
    assert "Set-Cookie" not in response.headers, "only a choice is remembered"


def test_a_choice_beats_the_browser_and_the_cookie(client):
    client.get("/?lang=en")
    assert language_of(client.get("/", headers={"Accept-Language": "es"})) == "en", (
        "the cookie beats the browser"
    )
    assert language_of(client.get("/?lang=es", headers={"Accept-Language": "en"})) == "es"


def test_webhooks_and_the_api_ignore_the_cookie_and_the_browser(client):
    client.get("/?lang=es")
    response = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "es"})
    assert response.status_code == 404 and response.is_json
    assert "Set-Cookie" not in response.headers
    assert "Vary" not in response.headers or "Accept-Language" not in response.headers["Vary"]
