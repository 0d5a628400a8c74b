"""The manager's team board: who is working, how loaded, what is overdue; advisors, routing
settings and the staffing forecast."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from marshmallow import ValidationError

from leadrouter.api.schemas import AdvisorSchema
from leadrouter.assignment.policy_store import load_policy, save_policy
from leadrouter.auth.permissions import restrict_to_managers
from leadrouter.dashboard.queries import actor_names
from leadrouter.extensions import db
from leadrouter.models import ADVISOR_STATUSES, Advisor, utcnow
from leadrouter.routing.hours import to_local
from leadrouter.routing.staffing import StaffingGap, advisors_needed
from leadrouter.routing.vocabulary import URGENCIES
from leadrouter.team import presenters
from leadrouter.team.operations import update_advisor
from leadrouter.team.queries import (
    active_advisors,
    advisor_changes,
    advisors_without_set_hours,
    arrival_profile,
    line_now,
    recent_policy_changes,
    scheduled_advisors,
    set_away_by_missed_calls,
    team_board,
    waiting_summary,
)
from leadrouter.team.schemas import AdvisorForm, ForecastForm, RoutingSettingsForm

bp = Blueprint("team", __name__, url_prefix="/team")


restrict_to_managers(bp)


@bp.get("")
def board():
    now = utcnow()
    return render_template(
        "team/board.html",
        board=team_board(now),
        line=line_now(now),
        away=set_away_by_missed_calls(),
        waiting=waiting_summary(),
        now=now,
    )


@bp.get("/rows")
def board_rows():
    now = utcnow()
    return render_template("team/_board_rows.html", board=team_board(now), line=line_now(now), now=now)


@bp.get("/line")
def line_summary():
    """Callers holding now and the longest wait, for the board's live refresh."""
    return render_template("team/_line_now.html", line=line_now(utcnow()))


@bp.route("/advisors/<int:advisor_id>", methods=["GET", "POST"])
def edit_advisor(advisor_id: int):
    advisor = db.session.get(Advisor, advisor_id)
    if advisor is None:
        return render_template("staff/message.html", message=gettext("No such advisor.")), 404
    errors: dict = {}
    if request.method == "POST":
        try:
            changes = AdvisorSchema(partial=True).load(AdvisorForm().load(request.form))
            update_advisor(advisor, changes, f"user:{current_user.id}")
        except ValidationError as error:
            db.session.rollback()
            errors = presenters.error_sentences(error.normalized_messages())
        else:
            db.session.commit()
            flash(gettext("Saved %(name)s.", name=advisor.name))
            return redirect(url_for("team.board"), 303)
    changes = advisor_changes(advisor.id)
    names = actor_names(entry.actor for entry in changes)
    return (
        render_template(
            "team/advisor.html",
            advisor=advisor,
            errors=errors,
            statuses=ADVISOR_STATUSES,
            form=request.form,
            shift_rows=presenters.weekly_rows(advisor.shift_hours),
            changes=[(entry, presenters.advisor_change_sentences(entry, names)) for entry in changes],
        ),
        422 if errors else 200,
    )


@bp.route("/settings", methods=["GET", "POST"])
def routing_settings():
    policy = load_policy()
    errors: dict = {}
    if request.method == "POST":
        data = policy.to_dict()
        try:
            form = RoutingSettingsForm().load(request.form)
            data["sla_minutes"].update(form["sla_minutes"])
            data["pool_overflow_minutes"] = form["pool_overflow_minutes"]
            data["max_reassignments"] = form["max_reassignments"]
            data.pop("rules", None)  # rebuilt from the overflow delay
            save_policy(data, f"user:{current_user.id}")
        except ValidationError as error:
            db.session.rollback()
            errors = presenters.error_sentences(error.normalized_messages())
        else:
            db.session.commit()
            flash(gettext("Routing settings saved; they apply to the next decision."))
            return redirect(url_for("team.routing_settings"), 303)
    return (
        render_template(
            "team/settings.html",
            policy=policy,
            urgencies=URGENCIES,
            errors=errors,
            form=request.form if errors else {},
            changes=_policy_changes_in_words(),
        ),
        422 if errors else 200,
    )


def _policy_changes_in_words() -> list[tuple]:
    changes = recent_policy_changes()
    names = actor_names(entry.actor for entry in changes)
    return [(entry, presenters.policy_change_sentences(entry, names)) for entry in changes]


@bp.get("/forecast")
def forecast():
    """Advisors needed per hour for the next day (Erlang C) next to those scheduled, in the
    report time zone."""
    errors: dict = {}
    try:
        targets = ForecastForm().load(request.args)
    except ValidationError as error:
        errors = presenters.error_sentences(error.normalized_messages())
        targets = ForecastForm().load({})
    zone = current_app.config["REPORT_TIMEZONE"]
    now = utcnow()
    region = targets["region"]
    profile = arrival_profile(now, zone, region=region)
    start = to_local(now, zone).replace(minute=0, second=0, microsecond=0)
    advisors = active_advisors()
    hours = []
    for offset in range(24):
        moment = start + timedelta(hours=offset)
        arrivals = profile.per_hour.get((moment.weekday(), moment.hour), 0.0)
        need = advisors_needed(
            arrivals, profile.handle_seconds, targets["within_seconds"], targets["share_percent"] / 100
        )
        gap = StaffingGap(needed=need.agents, scheduled=scheduled_advisors(advisors, moment, region))
        hours.append({"moment": moment, "arrivals": arrivals, "need": need, "gap": gap})
    return (
        render_template(
            "team/forecast.html",
            hours=hours,
            profile=profile,
            zone=zone,
            targets=targets,
            typed=request.args if errors else {},
            errors=errors,
            no_set_hours=advisors_without_set_hours(advisors, region),
            gap_words=presenters.gap_words,
        ),
        422 if errors else 200,
    )
