"""axe-core on the 429, 500 and 503 pages (English and Spanish, 390 px and 1366 px), and the form's 429 as a
person meets it: the message first and focused, what was typed kept, the city still in the heading.

On its own server, rate limited (and in its own module: the limiter is one object for every app).
"""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from tests.abuse.conftest import isolated_limiter
from tests.browser import launch_chromium, serve_app
from tests.intake.test_accessibility import violations_on

pytestmark = pytest.mark.browser


def _broken():
    raise RuntimeError("a bug")


def _database_down():
    raise OperationalError("SELECT 1", {}, ConnectionRefusedError("the database is down"))


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory):
    with isolated_limiter():
        config = {
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            # One counted try an hour: the second post in a test is always the 429.
            "RATELIMIT_CONTACT": "1 per hour",
        }
        with serve_app(tmp_path_factory.mktemp("errors-a11y"), **config) as (app, url):
            app.add_url_rule("/broken", view_func=_broken)
            app.add_url_rule("/database-down", view_func=_database_down)
            yield url


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as chromium:
        yield chromium


def meet_the_forms_429(page, url: str, lang: str) -> None:
    """Use up the form's try (the honeypot: answered, nothing stored), then send the form with a typo."""
    page.goto(f"{url}/help/tx/austin?lang={lang}")
    page.evaluate("document.querySelector('input[name=website]').value = 'http://spam.example'")
    page.locator("form.contact-form button[type=submit]").click()
    page.wait_for_load_state()
    page.goto(f"{url}/help/tx/austin?lang={lang}")
    page.fill("#name", "Kim Keyboard")
    page.fill("#phone", "123")
    page.locator("form.contact-form button[type=submit]").click()
    page.wait_for_load_state()


@pytest.mark.parametrize("width", [390, 1366])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_no_axe_violation_on_the_429_500_and_503_pages(limited_server, browser, lang, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    found = {}
    for path, status in (("/broken", 500), ("/database-down", 503)):
        response = page.goto(f"{limited_server}{path}?lang={lang}")
        assert response.status == status, path
        if problems := violations_on(page):
            found[path] = problems

    meet_the_forms_429(page, limited_server, lang)

    assert page.locator("#form-notice").count() == 1, "the form's 429 page"
    if problems := violations_on(page):
        found["the form's 429"] = problems
    context.close()
    assert not found, found


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_forms_429_is_said_first_focused_and_keeps_the_city_and_what_was_typed(
    limited_server, browser, lang
):
    page = browser.new_page(viewport={"width": 390, "height": 844})

    meet_the_forms_429(page, limited_server, lang)

    assert page.evaluate("document.activeElement.id") == "form-notice", "focus is on the message"
    notice_top = page.locator("#form-notice").bounding_box()["y"]
    assert notice_top < page.locator("h1").bounding_box()["y"], "the message comes first"
    assert notice_top < 844, "visible without scrolling"
    assert "Austin" in page.locator("h1").inner_text()
    assert page.locator("#name").input_value() == "Kim Keyboard"
    assert page.locator("#phone").input_value() == "123"
    page.close()
