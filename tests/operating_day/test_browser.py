"""In headless Chromium: a lead nobody can take shows first on the managers' dashboard."""

from __future__ import annotations

import pytest

from leadrouter.assignment import operations
from leadrouter.auth.users import create_user
from leadrouter.extensions import db
from tests.browser import SCREENSHOTS, launch_chromium, serve_app
from tests.factories import make_advisor, make_lead

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery"


def test_a_queued_lead_appears_first_on_the_managers_dashboard(tmp_path):
    with serve_app(tmp_path, DASHBOARD_POLL_SECONDS=2) as (app, url), launch_chromium() as chromium:
        with app.app_context():
            create_user("morgan@example.org", PASSWORD, "manager", "Morgan Reyes")
            make_advisor(name="Kara Texas", regions=["TX"], status="offline")
            queued = make_lead(name="Flora Nobody", state="FL", message="Looking for options for alcohol")
            operations.route_lead(queued.id)
            make_advisor(name="Derek Texas", regions=["TX"])
            owned = [make_lead(name=f"Tex {n}", state="TX") for n in range(3)]
            for lead in owned:
                operations.route_lead(lead.id)
                lead.promised_contact_at = lead.created_at.replace(year=2020)  # long past: overdue
                lead.next_due_at = lead.promised_contact_at
            db.session.commit()
            queued_id, queued_status = queued.id, queued.status
        assert queued_status == "queued"

        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/login")
        page.get_by_label("Email").fill("morgan@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/dashboard")

        waiting = page.locator("#waiting")
        assert waiting.is_visible()
        row = waiting.locator(f'tr[data-lead="{queued_id}"]')
        assert "Flora Nobody" in row.inner_text() and "No advisor could take it" in row.inner_text()
        first_section = page.locator("main h2, main #queue-rows").first
        assert first_section.inner_text() == "Waiting for an advisor"
        assert page.locator('[data-count="waiting"]').first.inner_text() == "1"

        # Striping must not hide the overdue highlight: every overdue row has the same background.
        backgrounds = page.eval_on_selector_all(
            "#queue-rows tr.overdue", "rows => rows.map(r => getComputedStyle(r).backgroundColor)"
        )
        assert len(backgrounds) == 3 and len(set(backgrounds)) == 1, backgrounds
        plain = page.eval_on_selector(
            "#queue-rows tr:not(.overdue)", "r => getComputedStyle(r).backgroundColor"
        )
        assert backgrounds[0] != plain
        page.screenshot(path=f"{SCREENSHOTS}/managers-waiting.png", full_page=True)
