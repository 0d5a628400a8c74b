"""An advisor works a lead in headless Chromium: sign in, a new lead appears, work it, sign out."""

from __future__ import annotations

import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from leadrouter.assignment import operations
from leadrouter.auth.users import create_user
from leadrouter.extensions import db
from leadrouter.models import utcnow
from tests.browser import SCREENSHOTS, launch_chromium, serve_app
from tests.factories import make_lead

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with serve_app(tmp_path_factory.mktemp("dashboard"), DASHBOARD_POLL_SECONDS=2) as (app, url):
        with app.app_context():
            create_user(
                "ana@example.org",
                PASSWORD,
                "advisor",
                "Ana Torres",
                regions=["TX"],
                status="available",
                capacity=10,
                phone="+15122060111",
                timezone="America/Chicago",
            )
            db.session.commit()
        yield app, url


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as chromium:
        yield chromium


def test_an_advisor_works_a_new_lead_from_arrival_to_assessment(live, browser):
    app, url = live
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{url}/dashboard")
    assert "/login" in page.url  # anonymous people are sent to sign in

    page.get_by_label("Email").fill("ana@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    assert "No open leads" in page.inner_text("#queue-rows")

    # A worker assigns a critical lead while the page is open: it appears without a reload.
    with app.app_context():
        lead = make_lead(name="Riley Browser", state="TX", message="my brother overdosed last night")
        operations.route_lead(lead.id)
        db.session.commit()
        lead_id = lead.id
    row = page.locator(f'#queue-rows tr[data-lead="{lead_id}"]')
    row.wait_for(timeout=15000)
    assert "critical" in row.inner_text().lower()
    assert "first call by" in row.inner_text()
    _wait_until(lambda: page.title().startswith("(!)"))  # the critical-lead cue in the tab title
    page.screenshot(path=f"{SCREENSHOTS}/dashboard-queue.png", full_page=True)

    row.get_by_role("link", name="Riley Browser").click()
    page.wait_for_url(f"**/leads/{lead_id}")
    assert "Possible emergency" in page.inner_text("main")

    page.get_by_label("Outcome").select_option("reached")
    page.get_by_role("button", name="Log attempt").click()
    page.get_by_text("Contact attempt logged.").wait_for()

    tomorrow = (utcnow() + timedelta(days=1)).astimezone(ZoneInfo("America/Chicago"))
    tomorrow = tomorrow.replace(hour=10, minute=0)
    page.locator("#due_at").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule", exact=True).click()
    page.get_by_text("Follow-up scheduled.").wait_for()
    assert "10:00 AM" in page.inner_text("#follow-h + ul")

    page.get_by_label("New status").select_option("assessment")
    page.get_by_role("button", name="Move").click()
    page.get_by_text("Status is now assessment.").wait_for()
    page.screenshot(path=f"{SCREENSHOTS}/dashboard-lead.png", full_page=True)

    page.get_by_role("button", name="Sign out Ana Torres").click()
    page.wait_for_url("**/login")
    page.goto(f"{url}/dashboard")
    assert "/login" in page.url  # the session really ended


def _wait_until(condition, timeout: float = 10.0) -> None:
    # The page's CSP forbids eval, so Playwright's wait_for_function cannot run there.
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_a_manager_confirms_a_reassignment_routing_would_refuse(live, browser):
    app, url = live
    with app.app_context():
        create_user("morgan@example.org", PASSWORD, "manager", "Morgan Reyes")
        create_user(
            "kara@example.org", PASSWORD, "advisor", "Kara Lane", regions=["FL"], status="offline", capacity=5
        )
        lead = make_lead(name="Sam Reassign", state="TX")
        operations.route_lead(lead.id)
        db.session.commit()
        lead_id = lead.id
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill("morgan@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    page.goto(f"{url}/leads/{lead_id}")
    choices = page.locator(".reassign-choices")
    assert "Kara Lane" in choices.inner_text() and "Ana Torres" not in choices.inner_text()
    assert page.locator('input[name="advisor_id"]:checked').count() == 0  # the list starts empty
    page.get_by_label("Kara Lane").check()
    page.locator("#why").fill("Kara speaks with the family tonight")
    page.get_by_role("button", name="Reassign", exact=True).click()
    page.get_by_text("Routing would not choose this advisor").wait_for()
    assert page.locator("#why").input_value() == "Kara speaks with the family tonight"
    page.get_by_label("Kara Lane is offline").check()
    page.get_by_label("Kara Lane does not cover Texas (covers FL)").check()
    page.screenshot(path=f"{SCREENSHOTS}/dashboard-reassign-confirm.png", full_page=True)
    page.get_by_role("button", name="Reassign", exact=True).click()
    page.get_by_text("Reassigned to Kara Lane.").wait_for()
    assert "Reassigned to Kara Lane, because: Kara speaks with the family tonight" in page.inner_text(
        ".timeline"
    )
    page.goto(f"{url}/team/forecast")
    assert "Times in" in page.inner_text("main")
    page.screenshot(path=f"{SCREENSHOTS}/team-forecast.png", full_page=True)
