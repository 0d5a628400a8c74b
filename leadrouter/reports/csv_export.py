"""The report's leads, or its calls, as a streamed CSV: counts, times and outcomes, never personal data.

No name, phone, email, message or note ever appears. The rows are read with a
server-side cursor in batches and written out as they come, so exporting a million leads
holds one batch in memory, not the file. Cells that a spreadsheet would run as a formula
(starting with = + - @, a tab or a carriage return) are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Response, stream_with_context
from sqlalchemy import select

from leadrouter.extensions import db
from leadrouter.models import Advisor, Call, Lead, utcnow
from leadrouter.reports.queries import range_bounds
from leadrouter.reports.scan import (
    LEAD_COLUMNS,
    DialectSql,
    ReportFilters,
    filter_conditions,
    inbound_started_in,
    lead_conditions,
    offers_made,
    sla_state_of,
)
from leadrouter.routing.calls import answered_within_service_level, seconds_to_answer, whole_seconds_to_answer

COLUMNS = (
    "id",
    "created_at",
    "source",
    "region",
    "urgency",
    "status",
    "closed_reason",
    "advisor",
    "first_contact_at",
    "speed_to_lead_seconds",
    "sla_met",
)
# One row per inbound call that reached the line in the range (the call figures' calls).
CALL_COLUMNS = (
    "call_id",
    "started_at",
    "lead_id",
    "region",
    "source",
    "urgency",
    "outcome",
    "answered_at",
    "seconds_to_answer",
    "answered_within_20s",
    "advisors_rung",
    "advisor",
    "duration_seconds",
)
BATCH = 2000
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_detail(filters: ReportFilters, via: str, rows: str = "leads") -> dict:
    """The access-log detail of a CSV export: which report, through which door."""
    return {
        "export": "routing_report_csv" if rows == "leads" else "routing_report_calls_csv",
        "via": via,
        "start": filters.start.isoformat(),
        "end": filters.end.isoformat(),
        **{key: value for key, value in filters.as_dict().items() if value is not None},
    }


def neutralise(value) -> str:
    """A cell as text that a spreadsheet shows rather than evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def export_rows(filters: ReportFilters, timezone: str, now: datetime | None = None) -> Iterator[list[str]]:
    """Yield the report's leads, oldest first, as lists of neutralised cells."""
    now = now or utcnow()
    zone = ZoneInfo(timezone)
    low, high = range_bounds(filters.start, filters.end, timezone)
    sql = DialectSql.current()
    query = (
        select(
            *LEAD_COLUMNS,
            Advisor.name,
            Lead.first_contact_at,
            sql.seconds_between(Lead.first_contact_at, Lead.created_at),
            sla_state_of(now),
        )
        .outerjoin(Advisor, Advisor.id == Lead.owner_id)
        .where(*lead_conditions(filters, low, high))
        .order_by(Lead.created_at, Lead.id)
        .execution_options(yield_per=BATCH)
    )
    sla_cell = {"met": "yes", "missed": "no", "pending": ""}
    for row in db.session.execute(query):
        lead_id, created, source, region, urgency, status, reason, advisor, first, seconds, sla = row
        yield [
            str(lead_id),
            created.astimezone(zone).isoformat(timespec="seconds"),
            neutralise(source),
            neutralise(region),
            neutralise(urgency),
            neutralise(status),
            neutralise(reason),
            neutralise(advisor),
            "" if first is None else first.astimezone(zone).isoformat(timespec="seconds"),
            "" if seconds is None else str(max(0, round(float(seconds)))),
            sla_cell[sla],
        ]


def export_call_rows(filters: ReportFilters, timezone: str) -> Iterator[list[str]]:
    """Yield the report's inbound calls, oldest first, as lists of neutralised cells."""
    zone = ZoneInfo(timezone)
    low, high = range_bounds(filters.start, filters.end, timezone)
    query = (
        select(
            Call.id,
            Call.started_at,
            Call.lead_id,
            Lead.region,
            Lead.source,
            Lead.urgency,
            Call.outcome,
            Call.answered_at,
            offers_made(),
            Advisor.name,
            Call.duration_seconds,
        )
        .outerjoin(Advisor, (Advisor.id == Call.advisor_id) & Call.answered_at.is_not(None))
        .where(inbound_started_in([(low, high)]))
        .order_by(Call.started_at, Call.id)
        .execution_options(yield_per=BATCH)
    )
    matching = filter_conditions(filters)
    query = (
        query.join(Lead, Lead.id == Call.lead_id).where(*matching)
        if matching
        else query.outerjoin(Lead, Lead.id == Call.lead_id)
    )

    def moment(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(zone).isoformat(timespec="seconds")

    for row in db.session.execute(query):
        (
            call_id,
            started,
            lead_id,
            region,
            source,
            urgency,
            outcome,
            answered,
            offers,
            advisor,
            duration,
        ) = row
        # Measured here, not in SQL: SQLite's julianday arithmetic turns 20 s into 20.0000122 s,
        # and the report's figure (routing.calls) measures the same datetimes exactly.
        waited = None if answered is None else seconds_to_answer(started, answered)
        yield [
            str(call_id),
            moment(started),
            "" if lead_id is None else str(lead_id),
            neutralise(region),
            neutralise(source),
            neutralise(urgency),
            neutralise(outcome),
            moment(answered),
            "" if waited is None else str(whole_seconds_to_answer(waited)),
            "" if waited is None else ("yes" if answered_within_service_level(waited) else "no"),
            str(offers),
            neutralise(advisor),
            "" if duration is None else str(duration),
        ]


def stream_csv(
    filters: ReportFilters, timezone: str, now: datetime | None = None, rows: str = "leads"
) -> Iterator[str]:
    """Yield the CSV text of the leads (or the calls) in chunks of about BATCH rows, header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CALL_COLUMNS if rows == "calls" else COLUMNS)
    records = export_call_rows(filters, timezone) if rows == "calls" else export_rows(filters, timezone, now)
    for count, row in enumerate(records, start=1):
        writer.writerow(row)
        if count % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(filters: ReportFilters, timezone: str, rows: str = "leads") -> Response:
    """A streamed CSV download of the report's leads (or its calls)."""
    name = "routing-report" if rows == "leads" else "routing-report-calls"
    filename = f"{name}-{filters.start.isoformat()}-to-{filters.end.isoformat()}.csv"
    response = Response(
        stream_with_context(stream_csv(filters, timezone, rows=rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    response.headers["Cache-Control"] = "no-store"
    return response
