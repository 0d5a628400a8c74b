"""The manager pages: the report with its charts, the CSV export link, the decision explorer."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser
from unittest import mock

import pytest
from sqlalchemy import select

from leadrouter.assignment.operations import reassign_lead, route_lead
from leadrouter.models import AccessLog
from leadrouter.reports import queries
from tests.factories import at, make_advisor, make_lead

WEEK = {"start": "2026-03-01", "end": "2026-03-03"}


class _Page(HTMLParser):
    """The text of each element with an id or data-metric, the svgs, and the links."""

    def __init__(self):
        super().__init__()
        self.stack: list[str | None] = []
        self.text: dict[str, str] = {}
        self.svgs: list[dict] = []
        self.links: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        key = attrs.get("data-metric") or attrs.get("id") or attrs.get("data-advisor")
        if tag == "svg":
            self.svgs.append(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "script":
            self.scripts += 1
        if tag not in ("input", "br", "meta", "link", "rect", "line"):
            self.stack.append(key)

    def handle_endtag(self, tag):
        if tag not in ("input", "br", "meta", "link", "rect", "line") and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        for key in self.stack:
            if key:
                self.text[key] = self.text.get(key, "") + " " + data


def parse(response) -> _Page:
    page = _Page()
    page.feed(response.get_data(as_text=True))
    return page


@pytest.fixture
def frozen_now():
    with mock.patch.object(queries, "utcnow", return_value=at("2026-03-10 00:00")):
        yield


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get("/reports")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "path", ["/reports", "/reports/export.csv", "/reports/leads/1/routing", "/reports/leads?lead=1"]
)
def test_advisors_get_403(advisor_client, path):
    assert advisor_client.get(path).status_code == 403


def test_the_manager_sees_every_number_and_the_charts(manager_client, week, frozen_now):
    response = manager_client.get("/reports", query_string=WEEK)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = parse(response)
    assert page.text["leads"].split() == ["5", "leads"]
    assert "10 min" in page.text["speed-p50"]  # median 600 s
    assert "p90 26 min" in page.text["speed-p50"]  # 1560 s
    assert "50.0 %" in page.text["sla"]
    assert "45 s" in page.text["assignment-latency"]
    assert page.text["reassignments"].split()[0] == "2"
    assert page.text["escalations"].split()[0] == "1"
    assert "Texas (TX)" in page.text["by-region"]
    assert "not interested" in page.text["closed-reasons"]
    # The call figures in plain words (hand-counted in test_queries.WEEK_CALLS).
    assert " ".join(page.text["calls-inbound"].split()) == "6 calls reached the line"
    assert " ".join(page.text["calls-answered"].split()) == "2 answered by an advisor"
    assert " ".join(page.text["calls-service-level"].split()) == "16.7 % answered within 20 seconds"
    assert page.text["calls-speed-of-answer"].split()[:2] == ["28", "s"]
    assert "16.7 %" in page.text["calls-abandoned"] and "calls abandoned: 1" in page.text["calls-abandoned"]
    assert page.text["calls-voicemail"].split()[0] == "2"
    assert page.text["calls-offers"].split()[0] == "2.00"
    by_region = " ".join(page.text["calls-by-region"].split())
    assert "California 2 50.0 % 12 s 0.0 %" in by_region and "Texas 2 0.0 % 45 s 50.0 %" in by_region
    assert "10:00 2" in " ".join(page.text["calls-by-hour"].split())
    ana = " ".join(page.text[str(week.ana.id)].split())
    assert ana == "Ana Torres 3 2 1 6 min 30 s 100.0 %"
    # Four server-side SVG charts with accessible names; no script needed.
    titles = [svg.get("aria-labelledby") for svg in page.svgs if "chart" in svg.get("class", "")]
    assert len(titles) == 4
    assert page.scripts == 0
    assert "Leads per day" in response.get_data(as_text=True)
    # The export link carries the same range.
    export = next(link for link in page.links if link.startswith("/reports/export.csv"))
    assert "start=2026-03-01" in export and "end=2026-03-03" in export
    # No personal details on the page.
    body = response.get_data(as_text=True)
    assert "Private Person" not in body and "PRIVATE MESSAGE" not in body and "+15125550199" not in body


def test_the_page_defaults_to_the_last_30_days(manager_client):
    response = manager_client.get("/reports")
    assert response.status_code == 200
    assert "Routing report" in response.get_data(as_text=True)


def test_a_bad_range_is_422_with_the_reason(manager_client):
    response = manager_client.get("/reports", query_string={"start": "2026-03-05", "end": "2026-03-01"})
    assert response.status_code == 422
    assert "<strong>end date</strong>: must be on or after start" in response.get_data(as_text=True)


def test_a_filtered_page_keeps_its_filters(manager_client, week, frozen_now):
    response = manager_client.get("/reports", query_string={**WEEK, "source": "call", "advisor": ""})
    page = parse(response)
    assert page.text["leads"].split()[0] == "1"
    export = next(link for link in page.links if link.startswith("/reports/export.csv"))
    assert "source=call" in export and "advisor" not in export


def test_the_export_is_a_csv_and_is_access_logged(manager_client, manager_user, session, week):
    response = manager_client.get("/reports/export.csv", query_string={**WEEK, "region": "CA"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [int(row["id"]) for row in rows] == [week.l2.id]
    entry = session.scalars(select(AccessLog).where(AccessLog.action == "export_report")).one()
    assert entry.user_id == manager_user.id
    assert entry.detail["region"] == "CA" and entry.detail["via"] == "page"


def test_the_calls_export_from_the_page_follows_the_filters_and_is_access_logged(
    manager_client, manager_user, session, week
):
    page = parse(manager_client.get("/reports", query_string=WEEK))
    calls_link = next(link for link in page.links if "rows=calls" in link)
    assert calls_link.startswith("/reports/export.csv")
    only_ca = {**WEEK, "region": "CA", "rows": "calls"}
    response = manager_client.get("/reports/export.csv", query_string=only_ca)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(row["region"], row["outcome"]) for row in rows] == [("CA", "answered"), ("CA", "missed")]
    entry = session.scalars(select(AccessLog).where(AccessLog.action == "export_report")).one()
    assert entry.user_id == manager_user.id and entry.detail["export"] == "routing_report_calls_csv"


def test_the_decision_explorer_explains_each_decision(manager_client, manager_user, session):
    ana = make_advisor(name="Ana Full", regions=["TX"], capacity=1, open_leads=1)
    make_advisor(name="Ben Offline", regions=["TX"], status="offline")
    cleo = make_advisor(name="Cleo Pool", regions=["*"], capacity=5)
    lead = make_lead(state="TX")
    decision = route_lead(lead.id, notify=False)
    assert decision is not None and decision.advisor_id == cleo.id
    reassign_lead(lead, ana, f"user:{manager_user.id}", "Ana knows the family", confirmed={"at_capacity"})
    session.flush()

    response = manager_client.get(f"/reports/leads/{lead.id}/routing")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    # Newest first: the manual move, then the engine's decision in plain words.
    assert body.index("Reassigned by hand to Ana Full") < body.index("Assigned to Cleo Pool")
    assert "Ana knows the family" in body
    assert "Ana Full: at capacity (1/1)" in body
    assert "Ben Offline: offline" in body
    assert "Cleo chosen" in body or "Cleo Pool chosen" in body
    assert "passed over" in body
    assert lead.name not in body and lead.phone not in body
    entry = session.scalars(select(AccessLog).where(AccessLog.action == "view_routing")).one()
    assert entry.lead_id == lead.id and entry.user_id == manager_user.id


def test_the_explorer_lookup_form_and_a_missing_lead(manager_client):
    response = manager_client.get("/reports/leads", query_string={"lead": "12345"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/reports/leads/12345/routing")
    assert manager_client.get("/reports/leads/12345/routing").status_code == 404
    assert manager_client.get("/reports/leads", query_string={"lead": "x"}).status_code == 303


def test_the_nav_links_to_reports_for_managers(manager_client):
    assert 'href="/reports"' in manager_client.get("/dashboard").get_data(as_text=True)


def test_the_nav_hides_reports_from_advisors(advisor_client):
    assert 'href="/reports"' not in advisor_client.get("/dashboard").get_data(as_text=True)


def test_an_advisor_filter_is_named_not_numbered(manager_client, week, frozen_now):
    response = manager_client.get("/reports", query_string={**WEEK, "advisor": str(week.ana.id)})
    body = response.get_data(as_text=True)
    assert "leads held by Ana Torres" in body
    assert f"advisor #{week.ana.id}" not in body
    assert "Leads by hour of day, UTC" in body or "Leads by hour of day, America" in body
