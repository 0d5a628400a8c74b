"""The advisor's screens: my queue, and the whole story of each lead with its actions."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from twilio.base.exceptions import TwilioRestException

from leadrouter.assignment.operations import (
    AssignmentRefused,
    ReassignmentNeedsConfirmation,
    reassign_lead,
    reassignment_options,
)
from leadrouter.auth.access import log_access
from leadrouter.auth.permissions import current_advisor_id, lead_or_404, lead_to_act_on, manager_required
from leadrouter.dashboard import presenters
from leadrouter.dashboard.queries import (
    QueueFilters,
    actor_names,
    advisors_by_name,
    lead_detail,
    live_call_of_advisor,
    live_call_on_lead,
    queue_counts,
    queue_fingerprint,
    queue_page,
    waiting_list,
)
from leadrouter.dashboard.schemas import (
    AvailabilityForm,
    ContactAttemptForm,
    DoNotContactForm,
    FollowUpForm,
    FollowUpUpdateForm,
    NoteForm,
    QueueFilterForm,
    ReassignForm,
    StatusForm,
    read_queue_filters,
    search_kind,
)
from leadrouter.extensions import db
from leadrouter.i18n import N_
from leadrouter.jobs import enqueue
from leadrouter.models import ADVISOR_STATUSES, OPEN_STATUSES, Advisor, FollowUp, Lead, utcnow
from leadrouter.pipeline import operations as pipeline
from leadrouter.pipeline.compliance import outbound_refusal, refuse_outbound
from leadrouter.routing.vocabulary import DEFAULT_TIMEZONE, URGENCIES
from leadrouter.telephony.click_to_call import place_click_to_call
from leadrouter.telephony.client import TwilioNotConfigured

bp = Blueprint("dashboard", __name__)
log = logging.getLogger(__name__)


@bp.before_request
@login_required
def _signed_in_only():
    """Every screen here needs a signed-in user."""


@bp.after_request
def _never_cache(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _queue_filters() -> tuple[QueueFilters, dict, str | None]:
    """Advisors see their own queue; managers every open lead, filtered and searched by the query string.

    Returns the filters, an error per filter field that made no sense (the rest still apply),
    and what a search looked for (None when nothing was searched).
    """
    if not current_user.is_manager:
        return QueueFilters(owner_id=current_advisor_id() or -1), {}, None
    values, errors = read_queue_filters(QueueFilterForm().load(request.args))
    return QueueFilters(**values), errors, search_kind(values)


def _log_search(kind: str | None, leads: list[Lead]) -> None:
    """A search shows personal data like a lead page does: on the access log, without what was typed."""
    if kind is None:
        return
    detail = {"search": kind, "lead_ids": [lead.id for lead in leads]}
    log_access("search_leads", user_id=current_user.id, detail=detail)
    db.session.commit()


@bp.get("/dashboard")
def queue():
    filters, errors, searched = _queue_filters()
    now = utcnow()
    page = queue_page(filters, now, request.args.get("after"))
    _log_search(searched, page.leads)
    advisor = db.session.get(Advisor, current_advisor_id()) if current_advisor_id() else None
    showing_all = filters.owner_id is None
    waiting = waiting_list() if showing_all else None
    return render_template(
        "staff/queue.html",
        page=page,
        counts=queue_counts(filters, now),
        now=now,
        advisor=advisor,
        statuses=ADVISOR_STATUSES,
        showing_all=showing_all,
        waiting=waiting,
        waiting_rows=[presenters.waiting_row(lead, now) for lead in waiting.leads] if waiting else [],
        filter_errors={field: presenters.explain(message, {}) for field, message in errors.items()},
        filter_choices=_filter_choices() if showing_all else None,
    )


def _filter_choices() -> dict:
    return {
        "statuses": OPEN_STATUSES,
        "urgencies": URGENCIES,
        "advisors": advisors_by_name(),
    }


@bp.get("/dashboard/rows")
def queue_rows():
    """The queue's rows alone, for the page's live refresh."""
    filters, _errors, searched = _queue_filters()
    now = utcnow()
    page = queue_page(filters, now)
    _log_search(searched, page.leads)
    return render_template("staff/_queue_rows.html", page=page, now=now, showing_all=filters.owner_id is None)


@bp.get("/dashboard/feed")
def queue_feed():
    filters, _errors, _searched = _queue_filters()
    now = utcnow()
    counts = queue_counts(filters, now)
    return jsonify(**queue_fingerprint(filters, now), counts=asdict(counts))


@bp.get("/dashboard/live-call")
def live_call_feed():
    """The call this advisor is on now, polled by the dashboard to bring up the caller's lead."""
    advisor_id = current_advisor_id()
    call = live_call_of_advisor(advisor_id, utcnow()) if advisor_id else None
    if call is None or call.lead_id is None:
        return jsonify(call=None)
    return jsonify(
        call={
            "id": call.call_id,
            "lead_id": call.lead_id,
            "answered_at": call.answered_at.isoformat(),
            "pop_url": url_for("dashboard.screen_pop", lead_id=call.lead_id),
            "lead_url": url_for("dashboard.lead_page", lead_id=call.lead_id),
        }
    )


@bp.get("/leads/<int:lead_id>/pop")
def screen_pop(lead_id: int):
    """The caller's lead in brief, for the dashboard to show the moment the call is taken."""
    lead = lead_or_404(lead_id)
    log_access("view_lead", lead.id, user_id=current_user.id, detail={"via": "screen_pop"})
    db.session.commit()
    now = utcnow()
    detail = lead_detail(lead)
    return render_template(
        "staff/_screen_pop.html",
        lead=lead,
        d=detail,
        view=presenters.lead_view(lead, detail, now),
        live=live_call_on_lead(lead.id, now),
        now=now,
        actors=actor_names(e.actor for e in detail.events),
        event_summary=presenters.event_summary,
        actor_label=presenters.actor_label,
    )


@bp.post("/dashboard/status")
def set_availability():
    advisor = db.session.get(Advisor, current_advisor_id() or -1)
    status = AvailabilityForm().load(request.form)["status"]
    if advisor is None:
        return render_template(
            "staff/message.html", message=gettext("Only advisors have an availability.")
        ), 403
    if status not in ADVISOR_STATUSES:
        choices = ", ".join(presenters.label(choice) for choice in ADVISOR_STATUSES)
        flash(gettext("Availability: choose one of %(choices)s.", choices=choices), "error")
        return redirect(url_for("dashboard.queue"), 303)
    if advisor.status != status:
        advisor.status, advisor.status_changed_at = status, utcnow()
        if status == "available":
            enqueue("routing.drain_queue")
    db.session.commit()
    flash(gettext("You are now %(status)s.", status=presenters.label(status)))
    return redirect(url_for("dashboard.queue"), 303)


@bp.get("/leads/<int:lead_id>")
def lead_page(lead_id: int):
    return _render_lead(lead_or_404(lead_id))  # GET


def _render_lead(lead: Lead, errors: dict | None = None, status: int = 200, *, to_confirm=None):
    """Every showing of a lead's page, after an action too, is written to the access log.

    After a refused action the page shows what was typed (`typed`), and for a reassignment
    that needs confirming, each concern to tick (`to_confirm`).
    """
    log_access("view_lead", lead.id, user_id=current_user.id)
    db.session.commit()
    detail = lead_detail(lead)
    now = utcnow()
    options = reassignment_options(lead, now) if current_user.is_manager and lead.is_open else []
    return (
        render_template(
            "staff/lead.html",
            d=detail,
            lead=lead,
            now=now,
            errors=errors or {},
            view=presenters.lead_view(lead, detail, now),
            transitions=pipeline.TRANSITIONS.get(lead.status, ()),
            close_reasons=pipeline.CLOSE_REASONS,
            outcomes=pipeline.CONTACT_OUTCOMES,
            advisors=options,
            to_confirm=to_confirm or (),
            actors=actor_names(e.actor for e in detail.events),
            event_summary=presenters.event_summary,
            actor_label=presenters.actor_label,
            typed=request.form if errors else {},
            refusal=outbound_refusal(lead, "call", now),
            live=live_call_on_lead(lead.id, now),
        ),
        status,
    )


def _actor() -> str:
    return f"user:{current_user.id}"


def _done(lead: Lead, message: str):
    db.session.commit()
    flash(message)
    return redirect(url_for("dashboard.lead_page", lead_id=lead.id), 303)


def _invalid(lead: Lead, error: pipeline.PipelineError):
    db.session.rollback()
    return _render_lead(lead, {error.field: presenters.explain(error.message, error.params)}, 422)


@bp.post("/leads/<int:lead_id>/attempts")
def log_attempt(lead_id: int):
    lead = lead_to_act_on(lead_id)
    try:
        form = ContactAttemptForm().load(request.form)
        pipeline.log_contact_attempt(lead, form["outcome"], _actor(), form["note"])
    except pipeline.PipelineError as error:
        return _invalid(lead, error)
    return _done(lead, gettext("Contact attempt logged."))


@bp.post("/leads/<int:lead_id>/notes")
def add_note(lead_id: int):
    lead = lead_to_act_on(lead_id)
    try:
        pipeline.add_note(lead, NoteForm().load(request.form)["text"], _actor())
    except pipeline.PipelineError as error:
        return _invalid(lead, error)
    return _done(lead, gettext("Note added."))


@bp.post("/leads/<int:lead_id>/status")
def change_status(lead_id: int):
    lead = lead_to_act_on(lead_id)
    try:
        form = StatusForm().load(request.form)
        pipeline.change_status(lead, form["status"], _actor(), form["reason"])
    except pipeline.PipelineError as error:
        return _invalid(lead, error)
    return _done(lead, gettext("Status is now %(status)s.", status=lead.status))


@bp.post("/leads/<int:lead_id>/follow-ups")
def schedule_follow_up(lead_id: int):
    lead = lead_to_act_on(lead_id)
    try:
        form = FollowUpForm().load(request.form)
        due_at = _parse_local(form["due_at"], lead)
        pipeline.schedule_follow_up(
            lead, due_at, _actor(), form["note"], requested_time_note=_requested_time(form)
        )
    except pipeline.PipelineError as error:
        return _invalid(lead, error)
    return _done(lead, gettext("Follow-up scheduled."))


@bp.post("/leads/<int:lead_id>/follow-ups/<int:follow_up_id>")
def update_follow_up(lead_id: int, follow_up_id: int):
    lead = lead_to_act_on(lead_id)
    follow_up = db.session.get(FollowUp, follow_up_id)
    if follow_up is None or follow_up.lead_id != lead.id:
        return _render_lead(lead, {"follow_up": gettext("not found")}, 404)
    form = FollowUpUpdateForm().load(request.form)
    try:
        if form["action"] == "complete":
            pipeline.complete_follow_up(follow_up, _actor())
            message = gettext("Follow-up done.")
        else:
            due_at = _parse_local(form["due_at"], lead)
            pipeline.reschedule_follow_up(
                follow_up, due_at, _actor(), requested_time_note=_requested_time(form)
            )
            message = gettext("Follow-up rescheduled.")
    except pipeline.PipelineError as error:
        return _invalid(lead, error)
    return _done(lead, message)


@bp.post("/leads/<int:lead_id>/do-not-contact")
def do_not_contact(lead_id: int):
    lead = lead_to_act_on(lead_id)
    form = DoNotContactForm().load(request.form)
    value = form["value"]
    if not value and not current_user.is_manager:
        # Lifting an opt-out (often the person's own STOP) is a manager's decision, on record.
        error = pipeline.PipelineError("do_not_contact", N_("only a manager can allow contact again"))
        return _invalid(lead, error)
    pipeline.set_do_not_contact(lead, value, _actor(), form["why"])
    return _done(lead, gettext("Marked do-not-contact.") if value else gettext("Contact allowed again."))


@bp.post("/leads/<int:lead_id>/call")
def click_to_call(lead_id: int):
    lead = lead_to_act_on(lead_id)
    advisor = db.session.get(Advisor, current_advisor_id() or -1)
    refusal = outbound_refusal(lead, "call")
    if refusal is None and (advisor is None or not advisor.phone):
        error = pipeline.PipelineError("call", N_("your advisor profile has no phone number to ring first"))
        return _invalid(lead, error)
    if refusal is not None:
        refuse_outbound(lead, "call", refusal, _actor())
        db.session.commit()
        return _render_lead(lead, {"call": presenters.explain(refusal.template, refusal.params)}, 409)
    try:
        place_click_to_call(lead, advisor, _actor())
    except TwilioNotConfigured as error:
        db.session.rollback()
        log.warning("click-to-call refused: %s", error)
        return _render_lead(
            lead,
            {"call": gettext("Calls cannot be placed: this helpline has no Twilio account set up.")},
            503,
        )
    except TwilioRestException as error:
        db.session.rollback()
        log.warning("click-to-call failed for lead %s: Twilio %s", lead.id, error.code)
        return _render_lead(lead, {"call": gettext("Twilio could not place the call; try again.")}, 502)
    return _done(lead, gettext("Calling your phone now; answer it to be connected to the lead."))


@bp.post("/leads/<int:lead_id>/reassign")
def reassign(lead_id: int):
    manager_required()
    lead = lead_to_act_on(lead_id)
    form = ReassignForm().load({**request.form.to_dict(), "confirm": request.form.getlist("confirm")})
    advisor = db.session.get(Advisor, form["advisor_id"] or -1)
    why = form["why"]
    if advisor is None:
        return _invalid(lead, pipeline.PipelineError("advisor_id", N_("choose an advisor")))
    if not why:
        return _invalid(lead, pipeline.PipelineError("why", N_("say why the lead is being reassigned")))
    try:
        reassign_lead(lead, advisor, _actor(), why, confirmed=form["confirm"])
    except ReassignmentNeedsConfirmation as refused:
        db.session.rollback()
        to_confirm = [
            (concern, presenters.concern_words(concern, advisor, lead)) for concern in refused.concerns
        ]
        # A sentence naming each point, not a field's name: the points are what the manager weighs.
        message = gettext(
            "Routing would not choose %(name)s: %(points)s. Tick each point below to reassign anyway.",
            name=advisor.name,
            points="; ".join(words for _concern, words in to_confirm),
        )
        return _render_lead(lead, {"confirm": message}, 422, to_confirm=to_confirm)
    except AssignmentRefused as refused:
        return _invalid(lead, pipeline.PipelineError(refused.field, refused.message, **refused.params))
    return _done(lead, gettext("Reassigned to %(name)s.", name=advisor.name))


def _requested_time(form: dict) -> str | None:
    """What the person asked for, when the advisor ticked that they asked for this time."""
    if not form["requested_time"]:
        return None
    if not form["requested_time_note"]:
        raise pipeline.PipelineError("requested_time_note", N_("say what time the person asked for"))
    return form["requested_time_note"]


def _parse_local(value: str | None, lead: Lead) -> datetime:
    """A datetime-local value from the form, read in the lead's own time zone."""
    try:
        naive = datetime.fromisoformat(value or "")
    except ValueError:
        raise pipeline.PipelineError("due_at", N_("give a date and time")) from None
    aware = naive.replace(tzinfo=ZoneInfo(lead.timezone or DEFAULT_TIMEZONE))
    if aware < utcnow():
        raise pipeline.PipelineError("due_at", N_("must be in the future"))
    return aware


def register(app) -> None:
    app.register_blueprint(bp)
    app.jinja_env.filters.update(presenters.FILTERS)
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions
