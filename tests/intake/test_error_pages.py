"""404, 429, 500 and 503 for people: the site's layout, the number, the 911 / 988 notice, their language."""

from __future__ import annotations

import pytest

from leadrouter import create_app
from leadrouter.i18n import translate
from tests.abuse.conftest import limiter_isolated  # noqa: F401  (a fixture used below)
from tests.conftest import base_config
from tests.intake.conftest import VALID_FORM, page_of, static_url

NUMBER_LINK = "tel:+18005550100"


@pytest.fixture
def build_app(backend, database_urls, tmp_path, session, limiter_isolated):  # noqa: F811
    """An app on the test database with extra settings; its writes roll back with the test."""

    def build(**overrides):
        return create_app(base_config(database_urls[backend], str(tmp_path / "instance"), **overrides))

    return build


def assert_helpline_error_page(response, status: int, lang: str = "en") -> None:
    """The styled page: our layout and stylesheet, the number as a link, 911 and 988 as links, in ``lang``."""
    assert response.status_code == status
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    page = page_of(response)
    assert f'<html lang="{lang}">' in html
    assert page.find_all("link", rel="stylesheet", href=static_url("css/app.css")), "the site's stylesheet"
    assert page.find_all("a", href=NUMBER_LINK), "the helpline number is a tel: link"
    assert "1-800-555-0100" in page.text
    assert page.find_all("a", href="tel:911") and page.find_all("a", href="tel:988")
    assert translate(lang, "In an emergency, call 911") in page.text
    assert page.find_all("a", href="/"), "a way back to the helpline page"
    assert "Traceback" not in html


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_missing_page_is_the_styled_404_in_the_visitors_language(client, lang):
    response = client.get(f"/no-such-page?lang={lang}", headers={"Accept": "text/html"})

    assert_helpline_error_page(response, 404, lang)
    page = page_of(response)
    assert ("h1", translate(lang, "We could not find that page")) in page.headings
    plain = translate(
        lang,
        "The link may be old or have a typo. Everything else is still here for you: go to the "
        "home page, or call us and talk to a person.",
    )
    assert plain in page.text
    assert "URL" not in page.text, "no developer words (Werkzeug's 'The requested URL was not found')"


def test_the_404_keeps_json_for_the_api(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.is_json


@pytest.mark.parametrize("lang", ["en", "es"])
def test_too_many_page_requests_is_the_styled_429(build_app, lang):
    client = build_app(
        RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", RATELIMIT_DEFAULT="2 per minute"
    ).test_client()

    statuses = [client.get(f"/login?lang={lang}").status_code for _ in range(3)]
    over = client.get(f"/login?lang={lang}")

    assert statuses[:2] == [200, 200]
    assert_helpline_error_page(over, 429, lang)
    assert int(over.headers["Retry-After"]) > 0
    assert ("h1", translate(lang, "Too Many Requests")) in page_of(over).headings


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_429_on_the_form_says_so_first_focused_and_keeps_what_was_typed(build_app, lang):
    client = build_app(
        RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", RATELIMIT_CONTACT="1 per minute"
    ).test_client()
    # A counted try (the honeypot: answered, nothing stored) uses up the one allowed; a form
    # sent back to fix (422) would not.
    client.post(f"/contact?lang={lang}", data={**VALID_FORM, "website": "http://spam.example"})
    typed = {**VALID_FORM, "phone": "12345", "message": "Please call after six."}

    over = client.post(f"/contact?lang={lang}", data=typed)

    assert over.status_code == 429
    page = page_of(over)
    notice = translate(
        lang,
        "This form was sent several times in the last minute. Please wait a minute and "
        "try again, or call us now.",
    )
    assert page.text.index(notice) < page.text.index(translate(lang, "In an emergency, call 911")), (
        "the message is first"
    )
    (box,) = [attrs for tag, attrs in page.elements if tag == "div" and attrs.get("id") == "form-notice"]
    assert box["role"] == "alert" and box["tabindex"] == "-1" and "autofocus" in box
    assert page.find_all("a", href=NUMBER_LINK)
    assert page.field_value("name") == VALID_FORM["name"]
    assert page.field_value("phone") == "12345"
    assert "Please call after six." in over.get_data(as_text=True)
    (h1,) = [text for tag, text in page.headings if tag == "h1"]
    assert "Austin" in h1, "sent from the Austin page, the answer keeps its heading"


def test_an_unexpected_failure_is_the_styled_500_in_the_visitors_language(build_app):
    app = build_app()

    def broken():
        raise RuntimeError("a bug")

    app.add_url_rule("/broken", view_func=broken)
    client = app.test_client()

    assert_helpline_error_page(client.get("/broken"), 500)
    spanish = client.get("/broken?lang=es")
    assert_helpline_error_page(spanish, 500, "es")
    assert ("h1", translate("es", "Internal Server Error")) in page_of(spanish).headings
    assert "a bug" not in spanish.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_with_the_database_down_the_page_is_the_styled_503(tmp_path, lang):
    missing = f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite'}"
    client = create_app(base_config(missing, str(tmp_path / "instance"))).test_client()

    response = client.get(f"/thanks/{'a' * 32}?lang={lang}")

    assert_helpline_error_page(response, 503, lang)
    assert response.headers["Retry-After"]
    assert translate(lang, "We could not take your request right now") in page_of(response).text
