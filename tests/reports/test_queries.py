"""The routing report's numbers against a hand-computed week (see conftest.Week)."""

from __future__ import annotations

from datetime import date

import pytest

from leadrouter.reports.queries import ReportFilters, percentile, range_bounds, routing_report
from tests.factories import at

NOW = at("2026-03-10 00:00")
RANGE = ReportFilters(start=date(2026, 3, 1), end=date(2026, 3, 3))


def report(filters: ReportFilters = RANGE, timezone: str = "UTC") -> dict:
    return routing_report(filters, timezone, now=NOW)


def test_every_number_of_the_week(week):
    result = report()

    assert result["leads"] == 5
    assert result["by_source"] == {"web_form": 2, "call": 1, "voicemail": 0, "sms": 1, "api": 1}
    assert result["by_region"] == {"TX": 3, "CA": 1, "unknown": 1}
    assert result["by_urgency"] == {"critical": 1, "high": 2, "normal": 1, "low": 1}
    assert result["by_day"] == {"2026-03-01": 2, "2026-03-02": 1, "2026-03-03": 2}
    assert {hour: n for hour, n in result["by_hour"].items() if n} == {
        "08": 1,
        "09": 1,
        "10": 1,
        "12": 1,
        "23": 1,
    }
    assert len(result["by_hour"]) == 24

    # Contacted: 180 s, 1800 s, 600 s.
    assert result["speed_to_lead_seconds"] == {"p50": 600.0, "p90": 1560.0, "count": 3}
    assert result["speed_to_lead_by_urgency"] == {
        "critical": {"p50": 180.0, "p90": 180.0, "count": 1},
        "high": {"p50": 1200.0, "p90": 1680.0, "count": 2},
        "normal": {"p50": None, "p90": None, "count": 0},
        "low": {"p50": None, "p90": None, "count": 0},
    }
    assert [row["count"] for row in result["speed_to_lead_distribution"]] == [0, 1, 1, 1, 0, 0, 0]

    # Met: L1, L5. Missed: L2 (late), L3 (never contacted, due passed). Pending: L4 (no due time).
    assert result["sla"] == {"met": 2, "missed": 2, "pending": 1}
    assert result["sla_met_pct"] == 50.0

    # First assignment after 30, 60, 120 and 10 s.
    assert result["assignment_latency_seconds"] == {"p50": 45.0, "p99": 118.2, "count": 4}
    assert result["reassignments"] == 2
    assert result["escalations"] == 1
    assert {key: value for key, value in result["calls"].items() if not key.startswith("by_")} == WEEK_CALLS
    assert result["funnel"] == {
        "contacted": 2,
        "assessment": 1,
        "referred": 1,
        "admitted": 1,
        "closed": 1,
        "closed_by_reason": {"not_interested": 1},
    }
    assert result["advisors"] == [
        {
            "id": week.ana.id,
            "name": "Ana Torres",
            "assigned": 3,
            "contacted": 2,
            "open": 1,
            "median_speed_to_lead_seconds": 390.0,
            "sla_met_pct": 100.0,
        },
        {
            "id": week.ben.id,
            "name": "Ben Carter",
            "assigned": 2,
            "contacted": 1,
            "open": 0,
            "median_speed_to_lead_seconds": 1800.0,
            "sla_met_pct": 0.0,
        },
        {
            "id": week.cleo.id,
            "name": "Cleo Park",
            "assigned": 1,
            "contacted": 0,
            "open": 1,
            "median_speed_to_lead_seconds": None,
            "sla_met_pct": 0.0,
        },
    ]


# Hand-counted from conftest.Week: six inbound calls reached the line in the range (the
# outbound call and the one after the range are left out).
WEEK_CALLS = {
    "inbound": 6,
    "answered": 2,  # after 45 s (L1) and 12 s (L2)
    "abandoned": 1,
    "voicemail": 2,  # the voicemail, and L2's call sent to voicemail before holding existed ("missed")
    "service_level_20s": 0.167,  # 1 of 6 answered within 20 s
    "average_speed_of_answer_seconds": 28.5,  # (45 + 12) / 2
    "abandonment_rate": 0.167,
    "offers_per_answered_call": 2.0,  # 3 + 1 advisors rung for the 2 answered calls / 2 answered
}
RATES = (
    "service_level_20s",
    "average_speed_of_answer_seconds",
    "abandonment_rate",
    "offers_per_answered_call",
)


def test_call_figures_per_region_and_hour_of_the_week(week):
    calls = report()["calls"]
    assert calls["by_region"] == {
        "CA": {
            "inbound": 2,
            "answered": 1,
            "abandoned": 0,
            "voicemail": 1,
            "service_level_20s": 0.5,
            "average_speed_of_answer_seconds": 12.0,
            "abandonment_rate": 0.0,
            "offers_per_answered_call": 1.0,  # the answered call rang Ben alone
        },
        "TX": {
            "inbound": 2,
            "answered": 1,
            "abandoned": 1,
            "voicemail": 0,
            "service_level_20s": 0.0,
            "average_speed_of_answer_seconds": 45.0,
            "abandonment_rate": 0.5,
            "offers_per_answered_call": 3.0,  # the answered call rang three advisors
        },
        "unknown": {
            "inbound": 2,
            "answered": 0,
            "abandoned": 0,
            "voicemail": 1,
            "service_level_20s": 0.0,
            "average_speed_of_answer_seconds": None,
            "abandonment_rate": 0.0,
            "offers_per_answered_call": None,
        },
    }
    busy = {hour: figures["inbound"] for hour, figures in calls["by_hour"].items() if figures["inbound"]}
    assert busy == {"00": 1, "05": 1, "10": 2, "12": 1, "23": 1}
    assert calls["by_hour"]["10"]["average_speed_of_answer_seconds"] == 45.0
    assert calls["by_hour"]["23"]["service_level_20s"] == 1.0
    # In Chicago (UTC-6) the same calls fall six hours earlier.
    chicago = report(timezone="America/Chicago")["calls"]["by_hour"]
    assert {hour: f["inbound"] for hour, f in chicago.items() if f["inbound"]} == {
        "18": 1,
        "23": 1,
        "04": 2,
        "06": 1,
        "17": 1,
    }


def test_a_lead_reassigned_twice_counts_once_per_advisor_and_twice_as_reassigned(week):
    only_l3 = ReportFilters(start=date(2026, 3, 2), end=date(2026, 3, 2), source="api")
    result = report(only_l3)
    assert result["leads"] == 1
    assert result["reassignments"] == 2
    assert result["escalations"] == 1
    assert result["assignment_latency_seconds"]["p50"] == 120.0
    assert [(row["name"], row["assigned"], row["open"]) for row in result["advisors"]] == [
        ("Ana Torres", 1, 0),
        ("Ben Carter", 1, 0),
        ("Cleo Park", 1, 1),
    ]
    # The miss is charged to Cleo, who owns it now; Ana and Ben had no contact to be judged on.
    assert [row["sla_met_pct"] for row in result["advisors"]] == [None, None, 0.0]


def test_an_empty_range_has_zeros_and_no_percentiles(week):
    result = report(ReportFilters(start=date(2025, 1, 1), end=date(2025, 1, 2)))
    assert result["leads"] == 0
    assert result["by_day"] == {"2025-01-01": 0, "2025-01-02": 0}
    assert set(result["by_hour"].values()) == {0}
    assert result["by_region"] == {}
    assert set(result["by_source"].values()) == {0}
    assert result["speed_to_lead_seconds"] == {"p50": None, "p90": None, "count": 0}
    assert result["assignment_latency_seconds"] == {"p50": None, "p99": None, "count": 0}
    assert result["sla_met_pct"] is None
    assert result["calls"]["inbound"] == 0
    assert result["calls"]["by_region"] == {}
    assert len(result["calls"]["by_hour"]) == 24
    for figures in [result["calls"], *result["calls"]["by_hour"].values()]:
        for rate in RATES:
            assert figures[rate] is None, rate  # nothing to divide by: no figure, not 0 and not an error
    assert result["funnel"]["closed_by_reason"] == {}
    assert result["advisors"] == []


def test_an_empty_database_reports_nothing(session):
    assert report()["leads"] == 0


@pytest.mark.parametrize(
    ("filters", "leads", "advisors"),
    [
        ({"region": "TX"}, 3, ["Ana Torres", "Ben Carter", "Cleo Park"]),
        ({"region": "unknown"}, 1, []),
        ({"source": "call"}, 1, ["Ben Carter"]),
        ({"urgency": "high"}, 2, ["Ana Torres", "Ben Carter"]),
    ],
)
def test_filters_narrow_the_leads(week, filters, leads, advisors):
    result = report(ReportFilters(start=RANGE.start, end=RANGE.end, **filters))
    assert result["leads"] == leads
    assert [row["name"] for row in result["advisors"]] == advisors


def test_the_advisor_filter_keeps_the_leads_they_ever_held(week):
    result = report(ReportFilters(start=RANGE.start, end=RANGE.end, advisor_id=week.ben.id))
    assert result["leads"] == 2  # L2, and L3 which Ben held between reassignments
    assert [row["name"] for row in result["advisors"]] == ["Ben Carter"]
    assert result["reassignments"] == 2
    # Calls on matching leads only: the two on L2 and the hang-up on L3; the lead-less ones drop out.
    calls = result["calls"]
    assert (calls["inbound"], calls["answered"], calls["abandoned"], calls["voicemail"]) == (3, 1, 1, 1)
    assert calls["service_level_20s"] == 0.333
    assert calls["average_speed_of_answer_seconds"] == 12.0
    assert calls["offers_per_answered_call"] == 1.0  # the one answered call rang Ben alone
    assert list(calls["by_region"]) == ["CA", "TX"]


def test_a_lead_at_2330_local_on_the_end_date_counts(session):
    from tests.reports.conftest import add_lead

    # America/Chicago is UTC-6 in early March (before the 8th), UTC-5 after.
    add_lead(at("2026-03-04 05:30"))  # 03-03 23:30 CST: the last half hour of the range
    add_lead(at("2026-03-04 06:00"))  # 03-04 00:00 CST: the day after
    add_lead(at("2026-03-01 06:00"))  # 03-01 00:00 CST: the first minute
    add_lead(at("2026-03-01 05:59"))  # 02-28 23:59 CST: the day before
    result = report(timezone="America/Chicago")
    assert result["leads"] == 2
    assert result["by_day"] == {"2026-03-01": 1, "2026-03-02": 0, "2026-03-03": 1}
    assert {hour: n for hour, n in result["by_hour"].items() if n} == {"00": 1, "23": 1}
    # The same leads seen in UTC: a different day split.
    utc = report(ReportFilters(start=date(2026, 3, 1), end=date(2026, 3, 4)))
    assert utc["by_day"] == {"2026-03-01": 2, "2026-03-02": 0, "2026-03-03": 0, "2026-03-04": 2}


def test_days_and_hours_follow_daylight_saving_time(session):
    from tests.reports.conftest import add_lead

    add_lead(at("2026-03-08 08:30"))  # 03:30 CDT on the day clocks spring forward
    add_lead(at("2026-03-09 04:45"))  # 23:45 CDT on the 8th
    result = report(ReportFilters(start=date(2026, 3, 8), end=date(2026, 3, 8)), "America/Chicago")
    assert result["leads"] == 2
    assert {hour: n for hour, n in result["by_hour"].items() if n} == {"03": 1, "23": 1}


def test_range_bounds_are_local_midnights():
    low, high = range_bounds(date(2026, 3, 1), date(2026, 3, 8), "America/Chicago")
    assert (low, high) == (at("2026-03-01 06:00"), at("2026-03-09 05:00"))


def test_percentile_interpolates_like_percentile_cont():
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 0.5) == 25.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 0.9) == pytest.approx(37.0)
