"""WCAG 2.2 AA with axe-core (axe-playwright-python) on the public and error pages, English and Spanish,
on a phone (390 px) and a laptop (1366 px); and the form walked with the keyboard alone."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser import launch_chromium, serve_app

pytestmark = pytest.mark.browser

PAGES = [
    "/",
    "/help",
    "/help/tx",
    "/help/tx/austin",
    "/signs",
    "/treatment",
    "/privacy",
    "/self-check",
    "/self-check?see=1&dsm_criteria=cravings&dsm_criteria=tolerance&dsm_criteria=withdrawal",
    "/no-such-page",
]
AA = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    }
}


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    with serve_app(tmp_path_factory.mktemp("a11y")) as (_app, url):
        yield url


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as chromium:
        yield chromium


def violations_on(page) -> list[str]:
    results = Axe().run(page, options=AA)
    return [
        f"{v['id']} ({v['impact']}): {[node['target'] for node in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]


@pytest.mark.parametrize("width", [390, 1366])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_no_axe_violation_on_any_public_or_error_page(live_server, browser, lang, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    found = {}
    for path in PAGES:
        joiner = "&" if "?" in path else "?"
        page.goto(f"{live_server}{path}{joiner}lang={lang}")
        problems = violations_on(page)
        if problems:
            found[path] = problems
    # A form sent with mistakes: the error summary and the invalid fields.
    page.goto(f"{live_server}/help/tx/austin?lang={lang}")
    page.locator("form.contact-form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".error-summary").count() == 1
    assert "Austin" in page.locator("h1").inner_text(), "the city stays in the heading after a form error"
    if problems := violations_on(page):
        found["the form with errors"] = problems
    context.close()
    assert not found, found


def test_the_form_walked_with_the_keyboard(live_server, browser):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link", "the skip link comes first"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")

    # Tab to the name field: every stop on the way is visible and has a focus outline.
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return {id: e.id, visible: !!(e.offsetWidth || e.offsetHeight), outline: s.outlineStyle}; })()"
        )
        assert focused["visible"], focused
        assert focused["outline"] != "none", focused
        if focused["id"] == "name":
            break
    else:
        pytest.fail("the name field is not reachable with Tab")
    page.keyboard.type("Kim Keyboard")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "phone"
    page.keyboard.type("123")

    # Sending with Enter from a field sends the request (the default button), and errors are announced.
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    summary = page.locator(".error-summary")
    assert summary.get_attribute("role") == "alert"
    assert page.evaluate("document.activeElement.classList.contains('error-summary')"), (
        "focus moves to the errors"
    )
    assert page.locator("#phone").get_attribute("aria-invalid") == "true"
    assert "phone-error" in page.locator("#phone").get_attribute("aria-describedby")
    assert page.locator("#name").input_value() == "Kim Keyboard", "what was typed is kept"
    page.close()
