"""A manager in headless Chromium signs in, opens the report and sees its charts drawn."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe

from leadrouter.auth.users import create_user
from leadrouter.extensions import db
from leadrouter.models import Assignment, utcnow
from tests.browser import SCREENSHOTS, launch_chromium, serve_app
from tests.factories import make_advisor
from tests.intake.test_accessibility import AA
from tests.reports.conftest import add_call, add_lead

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    with serve_app(tmp_path_factory.mktemp("reports-browser")) as (app, url):
        with app.app_context():
            create_user("boss@example.org", PASSWORD, "manager", "Morgan Boss")
            advisor = make_advisor(name="Ana Torres")
            now = utcnow()
            for index in range(40):
                created = now - timedelta(days=index % 9, hours=index % 13)
                lead = add_lead(
                    created,
                    urgency=("critical", "high", "normal", "low")[index % 4],
                    status=("contacted", "assessment", "closed", "assigned")[index % 4],
                    closed_reason="unreachable" if index % 4 == 2 else None,
                    owner_id=advisor.id,
                    sla_due_at=created + timedelta(minutes=15),
                    first_contact_at=created + timedelta(minutes=index % 30 + 1) if index % 4 != 3 else None,
                )
                db.session.add(
                    Assignment(lead_id=lead.id, advisor_id=advisor.id, reason="test", started_at=created)
                )
                if index % 2 == 0:  # 20 calls: 15 answered after 4..60 s, 5 hung up
                    started = (created + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
                    answered = index % 8 != 6
                    add_call(
                        started,
                        "answered" if answered else "abandoned",
                        lead,
                        answered_after=4 + index * 3 if answered else None,
                        rung=(advisor,),
                    )
            db.session.commit()
        yield url


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as chromium:
        yield chromium


def test_the_report_page_draws_its_charts(live_server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("boss@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/reports")
    assert page.get_by_role("heading", level=1).inner_text() == "Routing report"
    assert page.locator("[data-metric=leads] .tile-value").inner_text() == "40"

    charts = page.locator("svg.chart")
    assert charts.count() == 4
    for index in range(charts.count()):
        chart = charts.nth(index)
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 80
        # Bars are drawn with real size, in the report's colour (the stylesheet loaded under the CSP).
        bars = chart.locator("rect.bar")
        assert bars.count() > 0
        tallest = max(bars.nth(i).bounding_box()["height"] for i in range(bars.count()))
        assert tallest > 5
    fill = page.evaluate("getComputedStyle(document.querySelector('svg.chart rect.bar')).fill")
    assert fill == "rgb(11, 83, 148)"
    assert page.get_by_role("img", name="Leads per day").is_visible()
    assert page.get_by_role("link", name="Export CSV").is_visible()
    # The call figures, in plain words.
    calls = page.locator("#call-figures")
    assert calls.locator("[data-metric=calls-inbound] .tile-value").inner_text() == "20"
    assert calls.locator("[data-metric=calls-answered] .tile-value").inner_text() == "15"
    assert "answered within 20 seconds" in calls.inner_text()
    assert page.get_by_role("link", name="Export the calls (CSV)").is_visible()
    calls.screenshot(path=f"{SCREENSHOTS}/report-calls.png")
    found = Axe().run(page, context="section[aria-labelledby=calls-h]", options=AA).response["violations"]
    assert [(v["id"], [node["target"] for node in v["nodes"]]) for v in found] == []
    # Nothing refused by the Content-Security-Policy (no inline style or script slipped in).
    assert [problem for problem in problems if "Refused" in problem or "Security Policy" in problem] == []
    page.screenshot(path=f"{SCREENSHOTS}/report.png", full_page=True)
    page.close()
