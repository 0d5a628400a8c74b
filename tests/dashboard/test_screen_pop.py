"""Screen pop in headless Chromium: an advisor's open dashboard brings up the caller's lead the
moment they accept the call (signed webhooks, as Twilio drives them), without a reload."""

from __future__ import annotations

import time

import pytest
from axe_playwright_python.sync_playwright import Axe

from leadrouter.assignment import operations
from leadrouter.auth.users import create_user
from leadrouter.extensions import db
from leadrouter.models import AccessLog, Advisor, Call
from tests.browser import SCREENSHOTS, launch_chromium, serve_app
from tests.factories import make_lead
from tests.intake.test_accessibility import AA
from tests.telephony.test_voice_webhooks import CALLER, SimulatedCall

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with serve_app(tmp_path_factory.mktemp("pop"), DASHBOARD_POLL_SECONDS=30, SCREEN_POP_POLL_SECONDS=1) as (
        app,
        url,
    ):
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
            create_user("morgan@example.org", PASSWORD, "manager", "Morgan Reyes")
            db.session.commit()
        yield app, url


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as chromium:
        yield chromium


def test_accepting_a_call_pops_the_callers_lead_on_the_open_dashboard(live, browser):
    app, url = live
    # This morning the caller filled the form: their answers and how to reach them safely.
    with app.app_context():
        lead = make_lead(
            name="Riley <b>Pop</b>",
            phone=CALLER,
            state="TX",
            dsm_criteria=("cravings", "withdrawal", "tolerance", "time_spent"),
            substances=("fentanyl",),
            contact_preferences={"call_name": "Sam", "voicemail_ok": False, "text_ok": True},
        )
        operations.route_lead(lead.id)
        db.session.commit()
        lead_id = lead.id

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill("ana@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    assert page.locator("#screen-pop").is_hidden()

    # They call the helpline; Ana's phone rings with the whisper, and she presses 1 to take it.
    twilio = app.test_client()
    call = SimulatedCall(twilio, FromState="TX")
    dial = call.press(call.start(), "1")
    assert [number.text for number in dial.iter("Number")] == ["+15122060111"]
    loaded = page.evaluate("performance.timeOrigin")
    accepted_at = time.monotonic()
    child = call.advisor_leg(dial)

    panel = page.locator(f'#screen-pop [data-pop-lead="{lead_id}"]')
    panel.wait_for(timeout=10000)
    popped_after = time.monotonic() - accepted_at
    assert popped_after < 5, popped_after
    assert page.evaluate("performance.timeOrigin") == loaded  # the same page: no reload
    text = panel.inner_text()
    assert "On the line now: Sam" in text
    assert "Voicemail OK\nno" in text and "Texts OK\nyes" in text
    assert "4 of 11" in text and "moderate" in text
    assert "Has strong urges or cravings to use" in panel.locator(".criteria").inner_text()
    assert "Substances: Fentanyl" in text
    history = panel.locator("#pop-history").inner_text()
    assert "Assigned to Ana Torres" in history and "exact_state" not in history
    assert "<b>" not in panel.inner_html().replace("&lt;b&gt;", "")  # the name is escaped
    assert page.evaluate("document.activeElement.id") == "pop-h"  # focus moves to it
    page.screenshot(path=f"{SCREENSHOTS}/dashboard-screen-pop.png", full_page=True)
    found = Axe().run(page, context="#screen-pop", options=AA).response["violations"]
    assert [(v["id"], [node["target"] for node in v["nodes"]]) for v in found] == []

    # The lead page says the call is live; opening it from the pop.
    panel.get_by_role("link", name="Open the whole lead").click()
    page.wait_for_url(f"**/leads/{lead_id}")
    assert "Live call now: Ana Torres took this caller" in page.inner_text("#live-call")
    page.go_back()
    page.wait_for_url("**/dashboard")
    panel.wait_for(timeout=10000)

    # The managers' team board shows Ana on the call.
    manager = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    manager.goto(f"{url}/login")
    manager.get_by_label("Email").fill("morgan@example.org")
    manager.get_by_label("Password").fill(PASSWORD)
    manager.get_by_role("button", name="Sign in").click()
    manager.goto(f"{url}/team")
    with app.app_context():
        ana_id = db.session.scalar(db.select(Advisor.id).where(Advisor.email == "ana@example.org"))
    on_call = manager.locator(f'tr[data-advisor="{ana_id}"] [data-live-call]')
    assert "on a live call since" in on_call.inner_text()
    assert "Nobody is holding now." in manager.inner_text("#line-now")
    manager.screenshot(path=f"{SCREENSHOTS}/team-board-live-call.png", full_page=True)
    found = Axe().run(manager, options=AA).response["violations"]
    assert [(v["id"], [node["target"] for node in v["nodes"]]) for v in found] == []
    manager.close()

    # The call ends: the panel stays, as her last call.
    call.dial_ends(dial, "completed", child)
    call.hang_up()
    page.locator("#screen-pop h2", has_text="Your last call: Sam").wait_for(timeout=10000)

    with app.app_context():
        row = db.session.scalar(db.select(Call).where(Call.call_sid == call.sid))
        assert row.lead_id == lead_id and row.answered_at is not None and row.ended_at is not None
        pops = db.session.scalars(
            db.select(AccessLog).where(AccessLog.lead_id == lead_id, AccessLog.action == "view_lead")
        ).all()
        assert any((entry.detail or {}).get("via") == "screen_pop" for entry in pops)
