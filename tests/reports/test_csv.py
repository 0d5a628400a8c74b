"""The CSV export: the report's leads without personal data, formulas neutralised."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from leadrouter.reports.csv_export import CALL_COLUMNS, COLUMNS, neutralise, stream_csv
from leadrouter.reports.queries import ReportFilters
from tests.factories import at, make_advisor
from tests.reports.conftest import add_lead

NOW = at("2026-03-10 00:00")
RANGE = ReportFilters(start=date(2026, 3, 1), end=date(2026, 3, 3))


def export(filters: ReportFilters = RANGE, timezone: str = "UTC") -> list[dict]:
    text = "".join(stream_csv(filters, timezone, now=NOW))
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("\rReturn", "'\rReturn"),
        ("Ana Torres", "Ana Torres"),
        ("a=b", "a=b"),
        (None, ""),
        (42, "42"),
    ],
)
def test_neutralise(value, cell):
    assert neutralise(value) == cell


def test_formula_cells_from_the_database_are_neutralised(session):
    for name in ("=cmd|' /C calc'!A0", "+Ana", "-Ben", "@Cleo"):
        advisor = make_advisor(name=name)
        add_lead(at("2026-03-02 10:00"), owner_id=advisor.id, status="closed", closed_reason="=1+1")
    rows = export()
    assert sorted(row["advisor"] for row in rows) == sorted(
        ["'=cmd|' /C calc'!A0", "'+Ana", "'-Ben", "'@Cleo"]
    )
    assert {row["closed_reason"] for row in rows} == {"'=1+1"}


def test_the_columns_and_values_with_no_personal_data(week):
    text = "".join(stream_csv(RANGE, "UTC", now=NOW))
    header = text.splitlines()[0].split(",")
    assert tuple(header) == COLUMNS
    for personal in ("name", "phone", "email", "message", "note", "patient_name", "zip", "city"):
        assert personal not in header
    assert "Private Person" not in text
    assert "+15125550199" not in text
    assert "private.person@example.org" not in text
    assert "PRIVATE MESSAGE" not in text

    rows = {int(row["id"]): row for row in export()}
    first = rows[week.l1.id]
    assert first == {
        "id": str(week.l1.id),
        "created_at": "2026-03-01T10:00:00+00:00",
        "source": "web_form",
        "region": "TX",
        "urgency": "critical",
        "status": "contacted",
        "closed_reason": "",
        "advisor": "Ana Torres",
        "first_contact_at": "2026-03-01T10:03:00+00:00",
        "speed_to_lead_seconds": "180",
        "sla_met": "yes",
    }
    assert rows[week.l2.id]["sla_met"] == "no"
    assert rows[week.l3.id]["sla_met"] == "no"
    assert rows[week.l4.id]["sla_met"] == ""
    assert rows[week.l4.id]["advisor"] == ""
    assert rows[week.l4.id]["region"] == ""


def test_times_are_written_in_the_report_time_zone(session):
    add_lead(at("2026-03-04 05:30"))  # 23:30 CST on the 3rd
    rows = export(timezone="America/Chicago")
    assert [row["created_at"] for row in rows] == ["2026-03-03T23:30:00-06:00"]


def test_the_export_streams_in_batches(session, monkeypatch):
    from leadrouter.reports import csv_export

    monkeypatch.setattr(csv_export, "BATCH", 2)
    for minute in range(5):
        add_lead(at(f"2026-03-02 10:0{minute}"))
    chunks = list(stream_csv(RANGE, "UTC", now=NOW))
    assert len(chunks) >= 3
    assert sum(chunk.count("\r\n") for chunk in chunks) == 6  # header + 5 leads


def test_the_calls_export_lists_each_inbound_call_of_the_range(week):
    text = "".join(stream_csv(RANGE, "UTC", now=NOW, rows="calls"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(text.splitlines()[0].split(",")) == CALL_COLUMNS
    # The six inbound calls that reached the line in the range (as the figures count), oldest first.
    assert [(row["started_at"], row["outcome"]) for row in rows] == [
        ("2026-03-01T10:00:00+00:00", "answered"),
        ("2026-03-01T23:59:00+00:00", "answered"),
        ("2026-03-02T00:10:00+00:00", "missed"),
        ("2026-03-02T10:00:00+00:00", "in_progress"),
        ("2026-03-02T12:30:00+00:00", "abandoned"),
        ("2026-03-03T05:00:00+00:00", "voicemail"),
    ]
    first, second = rows[0], rows[1]
    assert (first["lead_id"], first["region"], first["urgency"]) == (str(week.l1.id), "TX", "critical")
    assert (first["seconds_to_answer"], first["answered_within_20s"], first["advisors_rung"]) == (
        "45",
        "no",
        "3",
    )
    assert (second["seconds_to_answer"], second["answered_within_20s"], second["region"]) == (
        "12",
        "yes",
        "CA",
    )
    assert rows[5]["lead_id"] == "" and rows[5]["answered_within_20s"] == ""
    for personal in ("+1512", "Private Person", "PRIVATE MESSAGE", "example.org"):
        assert personal not in text


def test_the_calls_export_follows_the_filters(week):
    only_ca = ReportFilters(start=RANGE.start, end=RANGE.end, region="CA")
    rows = list(csv.DictReader(io.StringIO("".join(stream_csv(only_ca, "UTC", now=NOW, rows="calls")))))
    assert [row["outcome"] for row in rows] == ["answered", "missed"]


def test_the_calls_export_and_the_report_count_the_same_calls_answered_within_20_seconds(session):
    from leadrouter.reports.queries import routing_report
    from tests.reports.conftest import add_call

    add_call("2026-03-01 10:00", "answered", answered_after=20)  # exactly the level: counted
    add_call("2026-03-01 11:00", "answered", answered_after=20.4)  # shown as 21 s: not counted
    add_call("2026-03-01 12:00", "answered", answered_after=19.6)
    add_call("2026-03-01 13:00", "abandoned")

    text = "".join(stream_csv(RANGE, "UTC", now=NOW, rows="calls"))
    rows = list(csv.DictReader(io.StringIO(text)))
    figures = routing_report(RANGE, "UTC", now=NOW)["calls"]

    shown = [(row["seconds_to_answer"], row["answered_within_20s"]) for row in rows]
    assert shown == [("20", "yes"), ("21", "no"), ("20", "yes"), ("", "")]
    within = sum(row["answered_within_20s"] == "yes" for row in rows)
    assert figures["service_level_20s"] == round(within / len(rows), 3) == 0.5
