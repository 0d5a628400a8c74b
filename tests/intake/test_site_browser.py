"""The public site in headless Chromium: the self-check with and without JavaScript, and no CSP violation."""

from __future__ import annotations

import pytest

from leadrouter.routing.severity import DSM_CRITERIA, DSM_LABELS
from tests.browser import SCREENSHOTS, launch_chromium, serve_app

pytestmark = pytest.mark.browser

EXPECTED = {
    1: "Fewer than 2 signs",
    2: "Mild: 2 or 3 signs",
    3: "Mild: 2 or 3 signs",
    4: "Moderate: 4 or 5 signs",
    5: "Moderate: 4 or 5 signs",
    6: "Severe: 6 or more signs",
    11: "Severe: 6 or more signs",
}


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    with serve_app(tmp_path_factory.mktemp("site-browser")) as (_app, url):
        yield url


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as chromium:
        yield chromium


def tick(page, count: int) -> None:
    for key in DSM_CRITERIA[:count]:
        page.get_by_label(DSM_LABELS[key], exact=True).check()


@pytest.mark.parametrize("count", sorted(EXPECTED))
def test_the_self_check_result_is_live_with_javascript(live_server, browser, count):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{live_server}/self-check")
    result = page.locator("#result")

    tick(page, count)

    assert result.is_visible()
    assert result.locator('[data-part="label"]').inner_text() == EXPECTED[count]
    assert result.locator('[data-part="count_text"]').inner_text() == f"{count} of 11 signs"
    assert "not a diagnosis" in result.inner_text()
    assert all(url.startswith(live_server) for url in requests), "no third-party requests"
    if count == 4:
        page.screenshot(path=f"{SCREENSHOTS}/self-check-390.png", full_page=True)
        # One click carries the answers into the call-back form.
        page.get_by_role("button", name="Add my answers to a call-back request").click()
        page.wait_for_url("**/?*#contact")
        for key in DSM_CRITERIA[:4]:
            assert page.get_by_label(DSM_LABELS[key], exact=True).is_checked()
        assert not page.get_by_label(DSM_LABELS[DSM_CRITERIA[4]], exact=True).is_checked()
    context.close()


@pytest.mark.parametrize("count", sorted(EXPECTED))
def test_the_self_check_result_without_javascript(live_server, browser, count):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server}/self-check")
    assert not page.locator("#result").is_visible(), "no result before it is asked"

    tick(page, count)
    page.get_by_role("button", name="See my result").click()
    page.wait_for_url("**/self-check?*")

    result = page.locator("#result")
    assert result.is_visible()
    assert result.locator('[data-part="label"]').inner_text() == EXPECTED[count]
    assert "not a diagnosis" in result.inner_text()
    context.close()


def test_public_pages_break_no_content_security_policy_rule(live_server, browser):
    page = browser.new_page()
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    for path in ("/", "/help", "/help/tx/austin", "/signs", "/treatment", "/privacy", "/self-check", "/nope"):
        page.goto(f"{live_server}{path}")
    assert not [text for text in problems if "Content Security Policy" in text], problems
    page.close()


def test_the_api_docs_page_is_styled_under_the_csp(live_server, browser):
    page = browser.new_page()
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server}/api/v1/docs")
    method = page.locator(".method.GET").first
    assert method.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(26, 127, 55)"
    assert not problems, problems
    page.close()
