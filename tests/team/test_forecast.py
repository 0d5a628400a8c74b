"""The staffing forecast reads in REPORT_TIMEZONE, takes percentages as typed, and sets the
advisors scheduled by their shift hours against those needed, the gap in colour and words."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from leadrouter.models import Call, utcnow
from tests.factories import make_advisor, make_lead


def _rows(page: str) -> list[str]:
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return re.findall(r"<tr class=\"gap-(\w+)\">(.*?)</tr>", body, re.S)


def test_the_gap_is_scheduled_shifts_against_need_in_colour_and_words(
    app, manager_client, session, monkeypatch
):
    monkeypatch.setitem(app.config, "REPORT_TIMEZONE", "America/Chicago")
    zone = ZoneInfo("America/Chicago")
    hour = utcnow().astimezone(zone).replace(minute=0, second=0, microsecond=0)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[hour.weekday()]
    this_hour = [[f"{hour.hour:02d}:00", f"{(hour.hour + 1) % 24:02d}:00"]]
    make_advisor(name="On Now", shift_hours={day: this_hour}, timezone="America/Chicago")
    make_advisor(name="Anytime Ann", shift_hours=None)
    now = utcnow()
    for weeks_ago in range(1, 5):  # thirty calls in this hour of the week, each of the last four weeks
        for minute in range(0, 60, 2):
            created = now - timedelta(weeks=weeks_ago) + timedelta(minutes=minute - now.minute)
            lead = make_lead(source="call", phone=None, occurred_at=created)
            session.add(
                Call(
                    call_sid=f"CA{lead.id}f{weeks_ago}",
                    lead_id=lead.id,
                    outcome="answered",
                    duration_seconds=600,
                    started_at=created,
                )
            )
    session.commit()
    page = manager_client.get("/team/forecast").get_data(as_text=True)
    rows = _rows(page)
    assert len(rows) == 24
    state, first = rows[0]
    assert hour.strftime("%a") in first and ("CST" in first or "CDT" in first)
    assert state == "short" and "short by" in first and "+" not in first
    assert "Not counted, with no set hours: Anytime Ann." in page
    assert "Times in America/Chicago" in page and "Target: 80% of calls answered within 20 seconds" in page
    quiet = [row for state, row in rows[1:] if state != "short"]
    assert quiet and all("just enough" in row or "spare" in row for row in quiet)


def test_a_share_typed_as_a_fraction_is_refused_in_words_and_kept(manager_client, session):
    response = manager_client.get("/team/forecast?share=0.8&within=abc&region=ZZ")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "share of calls answered</strong>: enter a percentage from 50 to 99, like 80" in page
    assert "answered within (seconds)</strong>: enter whole seconds from 5 to 600" in page
    assert "region</strong>: enter a two-letter state code" in page
    assert 'value="0.8"' in page and 'value="abc"' in page and 'value="ZZ"' in page
    assert "Target: 80% of calls answered within 20 seconds" in page  # the defaults, said
    assert "ValueError" not in page and "invalid literal" not in page
    ok = manager_client.get("/team/forecast?share=90%25&within=30")
    assert ok.status_code == 200 and "Target: 90% of calls answered within 30 seconds" in ok.get_data(
        as_text=True
    )
