"""A person in headless Chromium fills in the form on a real server and sees the thank-you page."""

from __future__ import annotations

import pytest

from tests.browser import SCREENSHOTS, launch_chromium, serve_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    with serve_app(tmp_path_factory.mktemp("browser")) as (_app, url):
        yield url


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as chromium:
        yield chromium


def fill_form(page, phone: str, message: str) -> None:
    page.get_by_label("Your name (required)", exact=True).fill("Jordan Browser")
    page.get_by_label("Phone number", exact=True).fill(phone)
    page.get_by_label("Someone I care about").check()
    page.get_by_label("Their first name (optional)").fill("Alex")
    page.get_by_label("State", exact=True).select_option("TX")
    page.get_by_label("Fentanyl").check()
    page.get_by_label("Has strong urges or cravings to use").check()
    page.get_by_label("You may send me text messages").check()
    page.get_by_label("Anything you would like us to know? (optional)").fill(message)
    page.locator("#consent").check()


def test_form_submits_and_shows_the_thank_you_page(live_server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/help/tx/austin?utm_source=browser-test")
    assert page.get_by_role("heading", level=1).inner_text().endswith("in Austin, Texas")
    assert page.get_by_label("State", exact=True).input_value() == "TX"

    # "Who answers?" opens without JavaScript's help.
    page.get_by_text("Who answers?").click()
    page.locator(".who-answers").get_by_text("admissions advisors").wait_for(state="visible", timeout=5000)
    page.screenshot(path=f"{SCREENSHOTS}/helpline.png", full_page=True)

    fill_form(page, "(512) 206-0133", "He wants to talk to someone about detox.")
    page.get_by_role("button", name="Send my request").click()
    page.wait_for_url("**/thanks/*")

    assert page.get_by_role("heading", level=1).inner_text() == (
        "Thank you, Jordan Browser. We received your request."
    )
    assert "An advisor will call you" in page.locator("main").inner_text()
    page.screenshot(path=f"{SCREENSHOTS}/thanks.png", full_page=True)
    page.close()


def test_errors_on_a_phone_screen_link_to_their_fields(live_server, browser):
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto(live_server)
    page.get_by_label("Your name (required)", exact=True).fill("Pat")
    page.get_by_label("Phone number", exact=True).fill("123")
    page.get_by_role("button", name="Send my request").click()

    summary = page.locator(".error-summary")
    summary.wait_for(state="visible")
    page.wait_for_load_state()
    # The summary takes focus on its own (autofocus, no script), and its links reach the field.
    page.wait_for_function("document.activeElement.className === 'error-summary'", timeout=5000)
    summary.get_by_role("link").first.click()
    page.wait_for_function("document.activeElement.id === 'phone'", timeout=5000)
    page.screenshot(path=f"{SCREENSHOTS}/helpline-phone-errors.png", full_page=True)

    # No horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(live_server)
    page.screenshot(path=f"{SCREENSHOTS}/helpline-phone.png", full_page=True)
    page.close()


def test_critical_request_leads_with_emergency_guidance(live_server, browser):
    page = browser.new_page()
    page.goto(f"{live_server}/?lang=es")
    page.get_by_label("Su nombre (obligatorio)", exact=True).fill("Rosa")
    page.get_by_label("Número de teléfono", exact=True).fill("512-206-0134")
    page.get_by_label("¿Algo más que quiera contarnos? (opcional)").fill(
        "mi hermano tuvo una sobredosis y no despierta"
    )
    page.get_by_role("button", name="Enviar mi solicitud").click()
    page.wait_for_url("**/thanks/*")
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Si alguien está en peligro ahora mismo, llame al 911"
    )
    # Without permission to call, the page says so and gives the number.
    assert "No nos dio permiso para llamarle" in page.locator("main").inner_text()
    page.close()
