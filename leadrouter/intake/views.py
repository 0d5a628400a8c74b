"""The public helpline pages: the page with the form, its regional variants, and the thank-you page."""

from __future__ import annotations

import logging
import re
from datetime import datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from sqlalchemy import select

from leadrouter.assignment.policy_store import load_policy
from leadrouter.extensions import db, limiter
from leadrouter.helpline import helpline_details
from leadrouter.intake.consent import CONSENT_VERSION, consent_text
from leadrouter.intake.forms import URL_MAX, UTM_KEYS, ContactForm, pick
from leadrouter.intake.operations import ConsentInput, record_lead
from leadrouter.leads.consent import has_consent
from leadrouter.models import Lead, utcnow
from leadrouter.routing.hours import sla_due_at, to_local, within_contact_window
from leadrouter.routing.states import US_STATES, normalize_state
from leadrouter.routing.vocabulary import DEFAULT_TIMEZONE

log = logging.getLogger(__name__)

bp = Blueprint("public", __name__)

# The thank-you page shows what the person sent only in the browser that sent it.
_SESSION_KEY = "lr_submitted"
_SESSION_KEEP = 5
_PUBLIC_ID = re.compile(r"[0-9a-f]{32}")
_CITY = re.compile(r"[^\W\d_]+(?:[ .'’][^\W\d_]*)*")
_SLUG_MAX = 60

# US zone abbreviations, as people say them.
_ZONE_NAMES = {
    "EST": ("Eastern", "del Este"),
    "EDT": ("Eastern", "del Este"),
    "CST": ("Central", "del Centro"),
    "CDT": ("Central", "del Centro"),
    "MST": ("Mountain", "de la Montaña"),
    "MDT": ("Mountain", "de la Montaña"),
    "PST": ("Pacific", "del Pacífico"),
    "PDT": ("Pacific", "del Pacífico"),
    "AKST": ("Alaska", "de Alaska"),
    "AKDT": ("Alaska", "de Alaska"),
    "HST": ("Hawaii", "de Hawái"),
    "AST": ("Atlantic", "del Atlántico"),
}
_WEEKDAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
_MONTHS_ES = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip


# --- request guards and template context ------------------------------------------


@bp.after_request
def _private_pages(response):
    # Pages carry a per-session CSRF token or what a person sent: never cache them.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.app_context_processor
def _helpline_context() -> dict:
    """The helpline number, operator and page language, for every page built on base.html."""
    lang = page_language()
    return {
        "helpline": helpline_details(),
        "ui_lang": lang,
        "t": lambda english, spanish: spanish if lang == "es" else english,
    }


def page_language() -> str:
    """'es' when the page was asked for in Spanish (?lang=es), else 'en'."""
    if not has_request_context():  # a template rendered by a task or a command
        return "en"
    return "es" if request.args.get("lang") == "es" else "en"


def _language_switch_url(lang: str) -> str:
    """The same page in the other language (the form page when this one was a POST)."""
    other = "en" if lang == "es" else "es"
    args = {key: value for key, value in request.args.items() if key != "lang"}
    if other == "es":
        args["lang"] = "es"
    if request.method == "GET" and request.endpoint:
        return url_for(request.endpoint, **(request.view_args or {}), **args)
    return url_for("public.helpline", **args)


# --- the helpline page ------------------------------------------------------------


@bp.get("/")
def helpline():
    return _render_page(_blank_form(state=None))


@bp.get("/help/<state>")
@bp.get("/help/<state>/<city>")
def regional(state: str, city: str | None = None):
    code = _state_from_slug(state)
    if code is None:
        abort(404)
    city_name = None
    if city is not None:
        city_name = _city_from_slug(city)
        if city_name is None:
            abort(404)
    place = {"code": code, "state": US_STATES[code], "city": city_name}
    canonical = url_for(
        "public.regional",
        state=code.lower(),
        city=city_name.lower().replace(" ", "-") if city_name else None,
        _external=True,
    )
    return _render_page(_blank_form(state=code), place=place, canonical=canonical)


def _state_from_slug(slug: str) -> str | None:
    if len(slug) > _SLUG_MAX:
        return None
    return normalize_state(slug.replace("-", " ").replace("_", " "))


def _city_from_slug(slug: str) -> str | None:
    """A city from the URL, for display only: letters, spaces, dots and apostrophes."""
    words = " ".join(slug.replace("-", " ").replace("_", " ").split())
    if not words or len(words) > _SLUG_MAX or not _CITY.fullmatch(words):
        return None
    return words.title()


def _blank_form(state: str | None) -> ContactForm:
    """A fresh form; hidden fields carry this page's URL, its referrer and its UTM tags."""
    lang = page_language()
    data = {
        "language": lang,
        "state": state or "",
        "page_url": request.url[:URL_MAX],
        "referrer": (request.referrer or "")[:URL_MAX],
    }
    for key in UTM_KEYS:
        data[f"utm_{key}"] = (request.args.get(f"utm_{key}") or "")[:200]
    return ContactForm(formdata=None, data=data, lang=lang)


def _render_page(
    form: ContactForm, status: int = 200, *, place=None, canonical=None, notice: str | None = None
):
    lang = form.lang
    return render_template(
        "public/helpline.html",
        form=form,
        errors=form.ordered_errors(),
        place=place,
        canonical=canonical,
        notice=notice,
        consent_text=consent_text(lang, current_app.config["HELPLINE_OPERATOR"]),
        switch_url=_language_switch_url(lang),
    ), status


# --- the form ---------------------------------------------------------------------


@bp.post("/contact")
@limiter.limit(lambda: current_app.config["RATELIMIT_CONTACT"])
def contact():
    lang = page_language()
    form = ContactForm(lang=lang)
    if form.is_bot:
        # Look like a success so the bot moves on; store nothing.
        log.info("contact form honeypot filled; request dropped")
        return _render_thanks(None, lang)
    if not form.validate():
        return _render_page(form, 422)

    page_url = (form.page_url.data or request.referrer or "")[:URL_MAX] or None
    consent = ConsentInput(
        given=bool(form.consent.data),
        text=consent_text(lang, current_app.config["HELPLINE_OPERATOR"]),
        version=CONSENT_VERSION,
        ip=request.remote_addr,
        user_agent=request.user_agent.string or None,
        page_url=page_url,
    )
    result = record_lead(form.lead_input(consent, page_url), actor="web_form")
    public_id = result.lead.public_id
    db.session.commit()

    recent = [pid for pid in session.get(_SESSION_KEY, []) if pid != public_id]
    session[_SESSION_KEY] = [public_id, *recent][:_SESSION_KEEP]
    args = {"lang": "es"} if lang == "es" else {}
    return redirect(url_for("public.thanks", public_id=public_id, **args), 303)


@bp.errorhandler(CSRFError)
def _form_expired(_error):
    """Keep what the person typed and ask them to send it again, with a fresh token."""
    lang = page_language()
    form = ContactForm(lang=lang)
    notice = pick(
        (
            "For your security, this form expired before it was sent. Please check your "
            "details and send it again, or call us.",
            "Por seguridad, este formulario venció antes de enviarse. Revise sus datos y "
            "envíelo de nuevo, o llámenos.",
        ),
        lang,
    )
    return _render_page(form, 400, notice=notice)


@bp.errorhandler(429)
def _too_many_tries(_error):
    lang = page_language()
    form = ContactForm(lang=lang)
    notice = pick(
        (
            "This form was sent several times in the last minute. Please wait a minute and "
            "try again, or call us now.",
            "Este formulario se envió varias veces en el último minuto. Espere un minuto e "
            "inténtelo de nuevo, o llámenos ahora.",
        ),
        lang,
    )
    return _render_page(form, 429, notice=notice)


# --- the thank-you page -----------------------------------------------------------


@bp.get("/thanks/<public_id>")
def thanks(public_id: str):
    if not _PUBLIC_ID.fullmatch(public_id):
        abort(404)
    lead = db.session.scalar(select(Lead).where(Lead.public_id == public_id))
    if lead is None:
        abort(404)
    response = _render_thanks(lead, page_language())
    # The address names a lead: keep it out of Referer headers and search engines.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _render_thanks(lead: Lead | None, lang: str):
    context = {"lead": lead, "switch_url": _language_switch_url(lang), "show_details": False}
    if lead is not None:
        consented = has_consent(lead)
        context.update(
            emergency=lead.emergency or lead.urgency == "critical",
            consented=consented,
            can_call=bool(lead.phone and consented and not lead.do_not_contact),
            show_details=lead.public_id in session.get(_SESSION_KEY, []),
            phone_last4=(lead.phone or "")[-4:],
            reference=lead.public_id[:8].upper(),
            timing=contact_timing(lead, utcnow(), lang),
        )
    return current_app.make_response(render_template("public/thanks.html", **context))


def contact_timing(lead: Lead, now: datetime, lang: str) -> dict:
    """When to expect first contact, in the lead's own time zone and language."""
    tz_name = lead.timezone or DEFAULT_TIMEZONE
    if lead.urgency == "critical":
        minutes = load_policy().sla_minutes["critical"] or 5
        return {"minutes": minutes, "clock": None, "quiet_now": False}
    due = lead.sla_due_at or sla_due_at(lead.urgency, lead.created_at, load_policy(), tz_name, lead.region)
    quiet_now = not within_contact_window(now, tz_name)
    if due <= now:
        return {"minutes": None, "clock": None, "quiet_now": quiet_now}
    return {"minutes": None, "clock": describe_local_time(due, now, tz_name, lang), "quiet_now": quiet_now}


def describe_local_time(moment: datetime, now: datetime, tz_name: str, lang: str) -> str:
    """'9:15 AM Central time today' / 'mañana a las 9:15 a. m., hora del Centro'."""
    local, local_now = to_local(moment, tz_name), to_local(now, tz_name)
    hour = local.hour % 12 or 12
    suffix = local.strftime("%Z")
    zone = _ZONE_NAMES.get(suffix)
    days = (local.date() - local_now.date()).days
    if lang == "es":
        clock = f"{hour}:{local.minute:02d} {'a. m.' if local.hour < 12 else 'p. m.'}"
        zone_text = f"hora {zone[1]}" if zone else suffix
        if days == 0:
            day = "hoy"
        elif days == 1:
            day = "mañana"
        else:
            day = f"el {_WEEKDAYS_ES[local.weekday()]} {local.day} de {_MONTHS_ES[local.month - 1]}"
        return f"{day} a las {clock}, {zone_text}"
    clock = f"{hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"
    zone_text = f"{zone[0]} time" if zone else suffix
    if days == 0:
        day = "today"
    elif days == 1:
        day = "tomorrow"
    else:
        day = f"on {local:%A, %B} {local.day}"
    return f"{clock} {zone_text} {day}"
