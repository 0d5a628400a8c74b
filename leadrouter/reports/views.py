"""Managers' report pages: the routing report, its CSV download, and the decision explorer.

Everything here is for signed-in managers only (advisors get 403); the same report as JSON
or CSV for a manager API key is `leadrouter/api/reports.py`. Every CSV export is written to
the access log. Reports show counts, durations and statuses; never names, phone numbers,
messages or notes about a lead.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select

from leadrouter.auth.access import log_access
from leadrouter.auth.permissions import restrict_to_managers
from leadrouter.dashboard.presenters import actor_label, duration_words, label, trace_words
from leadrouter.dashboard.queries import actor_names
from leadrouter.extensions import db
from leadrouter.models import LEAD_SOURCES, Advisor, Lead, RoutingDecision
from leadrouter.reports import charts
from leadrouter.reports.csv_export import csv_response, export_detail
from leadrouter.reports.queries import MAX_RANGE_DAYS, routing_report
from leadrouter.reports.schemas import parse_report_args, report_timezone
from leadrouter.routing.states import US_STATES
from leadrouter.routing.vocabulary import URGENCIES

bp = Blueprint("reports", __name__)


# --- pages ------------------------------------------------------------------------


restrict_to_managers(bp)


@bp.get("/reports")
def page():
    """The routing report page: every number, the charts, the export link."""
    args = request.args.to_dict()
    advisors = db.session.execute(select(Advisor.id, Advisor.name).order_by(Advisor.name)).all()
    try:
        filters, _, _ = parse_report_args(args, default_range=True)
    except ValidationError as error:
        db.session.rollback()
        return (
            render_template(
                "reports/report.html",
                report=None,
                errors=error.messages,
                form=args,
                **_form_choices(advisors),
            ),
            422,
        )
    report = routing_report(filters, report_timezone())
    form = {"start": filters.start.isoformat(), "end": filters.end.isoformat(), **filters.as_dict()}
    export_args = {key: value for key, value in form.items() if value is not None}
    return render_template(
        "reports/report.html",
        report=report,
        errors={},
        form=form,
        export_url=url_for("reports.export_csv", **export_args),
        export_calls_url=url_for("reports.export_csv", rows="calls", **export_args),
        charts=_charts(report),
        **_form_choices(advisors),
    )


@bp.get("/reports/export.csv")
def export_csv():
    """The report's leads (or with ?rows=calls its calls) as a streamed CSV download; access-logged."""
    try:
        filters, _, rows = parse_report_args(request.args.to_dict(), default_range=True)
    except ValidationError as error:
        db.session.rollback()
        return jsonify(errors=error.messages), 422
    log_access("export_report", user_id=current_user.id, detail=export_detail(filters, "page", rows))
    db.session.commit()
    return csv_response(filters, report_timezone(), rows)


@bp.get("/reports/leads")
def find_lead_routing():
    """The explorer's look-up form: go to the lead number typed in."""
    lead_id = request.args.get("lead", type=int)
    if lead_id is None or lead_id < 1:
        return redirect(url_for("reports.page"), 303)
    return redirect(url_for("reports.lead_routing", lead_id=lead_id), 303)


@bp.get("/reports/leads/<int:lead_id>/routing")
def lead_routing(lead_id: int):
    """The decision explorer: every routing decision for one lead, newest first, in plain words."""
    lead = db.session.get(Lead, lead_id)
    if lead is None:
        return render_template("reports/routing.html", lead=None, lead_id=lead_id, decisions=[]), 404
    decisions = db.session.scalars(
        select(RoutingDecision)
        .where(RoutingDecision.lead_id == lead.id)
        .order_by(RoutingDecision.decided_at.desc(), RoutingDecision.id.desc())
    ).all()
    names = dict(db.session.execute(select(Advisor.id, Advisor.name)).all())
    actors = actor_names((decision.trace or {}).get("by") for decision in decisions)
    log_access("view_routing", lead.id, user_id=current_user.id)
    db.session.commit()
    return render_template(
        "reports/routing.html",
        lead=lead,
        lead_id=lead.id,
        decisions=[explain_decision(decision, names, actors) for decision in decisions],
        owner=names.get(lead.owner_id),
        timezone=report_timezone(),
    )


def explain_decision(
    decision: RoutingDecision, names: dict[int, str], actors: dict[str, str] | None = None
) -> dict:
    """One decision as the explorer shows it: a headline, the engine's explanation, the candidates.

    Rule and source keys read as words, and a manager's move names the manager.
    """
    trace = decision.trace or {}
    advisor = names.get(decision.advisor_id) if decision.advisor_id else None
    if trace.get("manual"):
        headline = f"Reassigned by hand to {advisor or 'an advisor'}"
        by = actor_label(trace.get("by"), actors or {})
        explanation = f"{by} moved the lead. Reason given: {trace.get('why')}"
        if trace.get("confirmed"):
            confirmed = ", ".join(label(concern) for concern in trace["confirmed"])
            explanation += f" (confirmed although {confirmed})"
    elif decision.outcome == "assigned":
        headline = f"Assigned to {advisor or 'an advisor'}" + (
            f" ({label(decision.rule)})" if decision.rule else ""
        )
        explanation = trace_words(trace.get("explanation") or decision.reason)
    else:
        headline = "Queued: no advisor could take the lead"
        explanation = trace_words(trace.get("explanation") or decision.reason)
    candidates = [
        {
            "name": candidate.get("name") or f"Advisor {candidate.get('advisor_id')}",
            "group": candidate.get("group") or "",
            "verdict": "chosen"
            if candidate.get("chosen")
            else ("eligible, not chosen" if candidate.get("eligible") else "passed over"),
            "reasons": [trace_words(reason) for reason in candidate.get("reasons") or []],
            "load": f"{candidate.get('open_leads', '?')}/{candidate.get('capacity', '?')}",
            "idle": "never assigned"
            if candidate.get("idle_minutes") is None
            else f"idle {duration_words(candidate['idle_minutes'] * 60)}",
            "rank": candidate.get("rank"),
        }
        for candidate in trace.get("candidates") or []
    ]
    # Newer traces list the advisors no rule reached by id, one entry per reason.
    candidates += [
        {
            "name": names.get(advisor_id) or f"Advisor {advisor_id}",
            "group": "not considered",
            "verdict": "passed over",
            "reasons": [trace_words(group.get("reason")) or "not considered"],
            "load": "–",
            "idle": "–",
            "rank": None,
        }
        for group in trace.get("not_considered") or []
        for advisor_id in group.get("advisor_ids") or []
    ]
    return {
        "id": decision.id,
        "decided_at": decision.decided_at,
        "trigger": decision.trigger,
        "outcome": decision.outcome,
        "headline": headline,
        "explanation": explanation,
        "candidates": candidates,
    }


# --- presentation -----------------------------------------------------------------


def _form_choices(advisors) -> dict:
    return {
        "advisors": advisors,
        "states": sorted(US_STATES.items()),
        "sources": LEAD_SOURCES,
        "urgencies": URGENCIES,
        "max_days": MAX_RANGE_DAYS,
    }


# The funnel's stages after "Leads", in order, as the chart labels them.
_FUNNEL_STAGES = {
    "contacted": lazy_gettext("Contacted"),
    "assessment": lazy_gettext("Assessment"),
    "referred": lazy_gettext("Referred"),
    "admitted": lazy_gettext("Admitted"),
    "closed": lazy_gettext("Closed"),
}


def _charts(report: dict) -> dict:
    days = list(report["by_day"].items())
    funnel = report["funnel"]
    return {
        "volume": charts.column_chart(
            gettext("Leads per day"),
            [(day[5:], count) for day, count in days],
            label_every=max(1, round(len(days) / 10)),
        ),
        "hours": charts.column_chart(
            gettext("Leads by hour of day, %(zone)s", zone=report["timezone"]),
            list(report["by_hour"].items()),
            label_every=3,
            width=480,
            height=180,
        ),
        "speed": charts.bar_chart(
            gettext("Speed to lead"),
            [(row["label"], row["count"]) for row in report["speed_to_lead_distribution"]],
        ),
        "funnel": charts.bar_chart(
            gettext("Pipeline funnel"),
            [(gettext("Leads"), report["leads"])]
            + [(str(_FUNNEL_STAGES[stage]), funnel[stage]) for stage in _FUNNEL_STAGES],
        ),
    }


def register(app) -> None:
    """Attach the report pages to the app."""
    app.register_blueprint(bp)
    app.jinja_env.filters.setdefault("duration", duration_text)


def duration_text(seconds: float | None) -> str:
    """Seconds as '42 s', '7 min 5 s', '2 h 10 min' or '3 d 4 h'; '—' when there is none."""
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
