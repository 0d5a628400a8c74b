"""The public helpline pages: the page with the form, its regional variants, and the thank-you page."""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections import OrderedDict
from urllib.parse import unquote, urlsplit

from babel import Locale
from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_wtf.csrf import CSRFError, generate_csrf
from markupsafe import escape
from sqlalchemy import select

from leadrouter.extensions import db, limiter
from leadrouter.helpline import helpline_details
from leadrouter.i18n import N_, SOURCE_LANGUAGE, request_language, supported_languages
from leadrouter.intake.consent import CONSENT_VERSION, consent_text
from leadrouter.intake.contact_time import contact_timing, local_clock
from leadrouter.intake.forms import URL_MAX, UTM_KEYS, ContactForm
from leadrouter.intake.operations import ConsentInput, record_lead
from leadrouter.leads.consent import has_consent
from leadrouter.models import Lead, utcnow
from leadrouter.retention import retention_days
from leadrouter.routing.places import City, all_cities, cities_in, find_city
from leadrouter.routing.severity import (
    DSM_CRITERIA,
    DSM_LABELS,
    count_criteria,
    severity_for,
    suggested_level_of_care,
)
from leadrouter.routing.states import US_STATES, normalize_state
from leadrouter.routing.timezones import timezone_for
from leadrouter.urls import public_url

log = logging.getLogger(__name__)

bp = Blueprint("public", __name__)

# The thank-you page shows what the person sent only in the browser that sent it.
_SESSION_KEY = "lr_submitted"
_SESSION_KEEP = 5
_PUBLIC_ID = re.compile(r"[0-9a-f]{32}")
_SLUG_MAX = 60


# --- request guards and template context ------------------------------------------


@bp.after_request
def _private_pages(response):
    # Pages carry a per-session CSRF token or what a person sent: never cache them, unless
    # leadrouter.http_cache finds an anonymous public page it can give an ETag.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.app_context_processor
def _helpline_context() -> dict:
    """The helpline number, operator, page language and home address, for every page built on base.html."""
    return {
        "helpline": helpline_details(),
        "ui_lang": page_language(),
        "site_url": public_url("public.helpline"),
    }


def page_language() -> str:
    """The page's language: ?lang=, the remembered choice, Accept-Language, English; see leadrouter.i18n."""
    return request_language()


def _language_links(lang: str) -> list[dict]:
    """The same page in every other language, each named in itself (the form page after a POST)."""
    links = []
    for other in supported_languages():
        if other == lang:
            continue
        # Always named, English too: the link changes the remembered choice (see leadrouter.i18n).
        args = {key: value for key, value in request.args.items() if key != "lang"}
        args["lang"] = other
        if request.method == "GET" and request.endpoint:
            url = url_for(request.endpoint, **(request.view_args or {}), **args)
        else:
            url = url_for("public.helpline", **args)
        name = Locale.parse(other).get_display_name(other) or other
        links.append({"lang": other, "name": name[:1].upper() + name[1:], "url": url})
    return links


# --- the helpline page ------------------------------------------------------------


@bp.get("/")
def helpline():
    return _blank_page(state=None, place=None, canonical=public_url("public.helpline"))


@bp.get("/help")
def directory():
    """Every state, each with the cities served in it."""
    states = sorted(US_STATES.items(), key=lambda item: item[1])
    page = render_template(
        "public/directory.html",
        states=[{"code": code, "name": name, "cities": cities_in(code)} for code, name in states],
        city_count=len(all_cities()),
        canonical=public_url("public.directory"),
        language_links=_language_links(page_language()),
    )
    return page


@bp.get("/help/")
@bp.get("/help/<state>/")
@bp.get("/help/<state>/<city>/")
def regional_with_slash(state: str | None = None, city: str | None = None):
    """An address with a trailing slash (or in another case) goes to the page's one address."""
    if state is None:
        return redirect(url_for("public.directory", **request.args), 301)
    code = _state_from_slug(state)
    if code is None:
        abort(404)
    found = find_city(code, city) if city is not None else None
    if city is not None and found is None:
        abort(404)
    return redirect(_regional_url(code, found, **request.args), 301)


@bp.get("/help/<state>")
@bp.get("/help/<state>/<city>")
def regional(state: str, city: str | None = None):
    found = _place(state, city)
    if found is None:
        abort(404)
    place, canonical = found
    return _blank_page(state=place["code"], place=place, canonical=canonical)


def _place(state: str, city: str | None) -> tuple[dict, str] | None:
    """A regional page's place (heading, local time, cities served) and canonical address; None if unknown."""
    code = _state_from_slug(state)
    if code is None:
        return None
    found = None
    if city is not None:
        # Only a city in the table for that state has a page: a made-up or misplaced name
        # ("/help/ca/austin") would otherwise get a page promising help in a place that is not served.
        found = find_city(code, city)
        if found is None:
            return None
    place = {
        "code": code,
        "state": US_STATES[code],
        "city": found.name if found else None,
        "served": found is not None,
        "cities": cities_in(code) if city is None else (),
        "state_url": _regional_url(code, None),
        "local_time": local_clock(utcnow(), found.timezone if found else timezone_for(code), page_language()),
    }
    canonical = public_url("public.regional", state=code.lower(), city=found.slug if found else None)
    return place, canonical


def _place_of_page(page_url: str | None) -> tuple[dict | None, str | None]:
    """The regional page a form came from (its hidden page_url): its answer keeps that page's heading."""
    path = unquote(urlsplit(page_url or "").path)
    parts = path.strip("/").split("/")
    if len(parts) in (2, 3) and parts[0] == "help":
        found = _place(parts[1], parts[2] if len(parts) == 3 else None)
        if found is not None:
            return found
    return None, None


def _regional_url(code: str, city: City | None, **args) -> str:
    return url_for("public.regional", state=code.lower(), city=city.slug if city else None, **args)


def _state_from_slug(slug: str) -> str | None:
    if len(slug) > _SLUG_MAX:
        return None
    return normalize_state(slug.replace("-", " ").replace("_", " "))


# --- what the site teaches ------------------------------------------------------

# The self-check's result in words: the severity, and the level of care it usually points
# to (keyed by routing.severity.suggested_level_of_care, which holds the rule).
_SEVERITY_TEXT = {
    "none": N_("Fewer than 2 signs"),
    "mild": N_("Mild: 2 or 3 signs"),
    "moderate": N_("Moderate: 4 or 5 signs"),
    "severe": N_("Severe: 6 or more signs"),
}
_CARE_TEXT = {
    "information only": N_(
        "This does not usually point to treatment. If you are still worried, talking it over "
        "with an advisor can help."
    ),
    "outpatient": N_(
        "It usually points to outpatient care: regular counselling or doctor visits, often "
        "with medication, while living at home."
    ),
    "intensive outpatient": N_(
        "It usually points to intensive outpatient care: several sessions a week while living at home."
    ),
    "inpatient": N_(
        "It usually points to residential or inpatient care, often starting with medically supervised detox."
    ),
}
# The pages the site teaches from, in the order its menu lists them.
CONTENT_PAGES = ("public.signs", "public.self_check", "public.treatment", "public.privacy")


def self_check_result(criteria) -> dict:
    """What the self-check says for the DSM-5 criteria ticked: how many, the severity, the usual care."""
    severity = severity_for(criteria)
    return {
        "count": count_criteria(criteria),
        "severity": severity,
        "label": gettext(_SEVERITY_TEXT[severity]),
        "care": gettext(_CARE_TEXT[suggested_level_of_care(severity)]),
    }


def _every_self_check_result() -> list[dict]:
    """The result for 0 to 11 signs, for the page's live script (which then holds no rule of its own)."""
    results = []
    for count in range(len(DSM_CRITERIA) + 1):
        result = self_check_result(DSM_CRITERIA[:count])
        result["count_text"] = gettext("%(count)s of %(total)s signs", count=count, total=len(DSM_CRITERIA))
        results.append(result)
    return results


def _content_page(template: str, **context):
    lang = page_language()
    return render_template(
        template,
        canonical=public_url(request.endpoint),
        language_links=_language_links(lang),
        **context,
    )


@bp.get("/signs")
def signs():
    """Signs of heroin and opioid use, and of an overdose (that first)."""
    return _content_page("public/signs.html")


@bp.get("/treatment")
def treatment():
    """Withdrawal, detox, medications, the levels of care, and what happens when you call."""
    return _content_page("public/treatment.html")


@bp.get("/privacy")
def privacy():
    """What the form collects, who sees it, how to stop contact, how long it is kept."""
    return _content_page("public/privacy.html", retention_days=retention_days())


@bp.get("/self-check")
def self_check():
    """The DSM-5 checklist; "See my result" (a GET, no JavaScript needed) shows the result."""
    ticked = [key for key in request.args.getlist("dsm_criteria") if key in DSM_CRITERIA]
    answered = "see" in request.args
    return _content_page(
        "public/self_check.html",
        criteria=[(key, gettext(DSM_LABELS[key]), key in ticked) for key in DSM_CRITERIA],
        result=self_check_result(ticked) if answered else None,
        results=_every_self_check_result(),
        total=len(DSM_CRITERIA),
    )


# --- what crawlers read -----------------------------------------------------------


@bp.get("/sitemap.xml")
def sitemap():
    """Every public page, each with its Spanish (and other) versions."""
    paths = [url_for("public.helpline"), *(url_for(page) for page in CONTENT_PAGES)]
    paths.append(url_for("public.directory"))
    paths += [_regional_url(code, None) for code in US_STATES]
    paths += [_regional_url(city.state, city) for city in all_cities()]
    base = public_url("public.helpline").rstrip("/")
    others = [lang for lang in supported_languages() if lang != SOURCE_LANGUAGE]
    body = render_template(
        "public/sitemap.xml", base=base, paths=paths, others=others, source_language=SOURCE_LANGUAGE
    )
    response = make_response(body)
    response.mimetype = "application/xml"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/favicon.ico")
def favicon():
    """Browsers and crawlers that ask for /favicon.ico get the PNG icon the pages link."""
    # A permanent redirect is kept for good: to the plain address, never a fingerprinted one.
    return redirect(url_for("static", filename="icons/favicon-32.png", v=None), 301)


@bp.get("/robots.txt")
def robots():
    """Crawlers may read the public pages, never the staff pages, the API or a thank-you page."""
    lines = ["User-agent: *"]
    lines += [f"Disallow: {prefix}" for prefix in _NOT_FOR_CRAWLERS]
    lines += ["", f"Sitemap: {public_url('public.sitemap')}", ""]
    response = make_response("\n".join(lines))
    response.mimetype = "text/plain"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


# Staff pages, the API, webhooks, the form's POST and the thank-you pages (they name a lead).
_NOT_FOR_CRAWLERS = (
    "/api/",
    "/twilio/",
    "/dashboard",
    "/leads/",
    "/team",
    "/reports",
    "/login",
    "/logout",
    "/account/",
    "/metrics",
    "/healthz",
    "/readyz",
    "/contact",
    "/thanks/",
)


# Drawing the page with a blank form takes ~18 ms of CPU (WTForms writing some 60 fields), the
# most of a request: the page for one address, language and minute is drawn once and kept, with
# slots for what differs per visitor (referrer, CSRF token). See bench/RESULTS.md, "The public site".
_BLANK_PAGES_KEPT = 64  # ~37 KB each: 2.4 MB a process at most
_REFERRER_SLOT = f"lr-referrer-slot-{secrets.token_hex(8)}"
_CSRF_SLOT = f"lr-csrf-slot-{secrets.token_hex(8)}"


class _KeptPages:
    """The last pages drawn, least recently used dropped first; safe across gunicorn's threads."""

    def __init__(self, size: int):
        self.size = size
        self._pages: OrderedDict[tuple, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> str | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: str) -> None:
        with self._lock:
            self._pages[key] = page
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)


def _blank_page(state: str | None, place: dict | None, canonical: str):
    """The page with a fresh form: drawn once per address, language and minute, then filled in per visitor."""
    lang = page_language()
    key = (lang, request.url, place["local_time"] if place else None)
    kept = current_app.extensions.setdefault("public_blank_pages", _KeptPages(_BLANK_PAGES_KEPT))
    page = kept.get(key)
    if page is None:
        form = _blank_form(state, referrer=_REFERRER_SLOT)
        page, _status = _render_page(form, place=place, canonical=canonical)
        token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
        if token:
            page = page.replace(token, _CSRF_SLOT)
        kept.put(key, page)
    if _CSRF_SLOT in page:
        page = page.replace(_CSRF_SLOT, generate_csrf())
    referrer = escape((request.referrer or "")[:URL_MAX])
    return page.replace(_REFERRER_SLOT, referrer)


def _blank_form(state: str | None, referrer: str | None = None) -> ContactForm:
    """A fresh form; hidden fields carry this page's URL, its referrer and its UTM tags."""
    lang = page_language()
    data = {
        "language": lang,
        "state": state or "",
        "page_url": request.url[:URL_MAX],
        "referrer": referrer if referrer is not None else (request.referrer or "")[:URL_MAX],
    }
    for key in UTM_KEYS:
        data[f"utm_{key}"] = (request.args.get(f"utm_{key}") or "")[:200]
    # The self-check's "add my answers" button brings its ticks here.
    ticked = [key for key in request.args.getlist("dsm_criteria") if key in DSM_CRITERIA]
    if ticked:
        data["dsm_criteria"] = ticked
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
        language_links=_language_links(lang),
    ), status


# --- the form ---------------------------------------------------------------------


def _uses_up_a_try(response) -> bool:
    """Whether a POST /contact counts against its rate limit: everything but a form sent back to fix."""
    # A 422 stored nothing: someone correcting a mistyped phone must not be locked out of the form.
    return response.status_code != 422


@bp.post("/contact")
@limiter.limit(lambda: current_app.config["RATELIMIT_CONTACT"], deduct_when=_uses_up_a_try)
@limiter.limit(lambda: current_app.config["RATELIMIT_CONTACT_POSTS"])
def contact():
    lang = page_language()
    form = ContactForm(lang=lang)
    if form.is_bot:
        # Look like a success so the bot moves on; store nothing.
        log.info("contact form honeypot filled; request dropped")
        return _render_thanks(None, lang)
    if not form.validate():
        place, canonical = _place_of_page(form.page_url.data)
        return _render_page(form, 422, place=place, canonical=canonical)

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
    args = {"lang": lang} if lang != SOURCE_LANGUAGE else {}
    return redirect(url_for("public.thanks", public_id=public_id, **args), 303)


@bp.errorhandler(CSRFError)
def _form_expired(_error):
    """Keep what the person typed and ask them to send it again, with a fresh token."""
    lang = page_language()
    form = ContactForm(lang=lang)
    notice = gettext(
        "For your security, this form expired before it was sent. Please check your "
        "details and send it again, or call us."
    )
    place, canonical = _place_of_page(form.page_url.data)
    return _render_page(form, 400, place=place, canonical=canonical, notice=notice)


@bp.errorhandler(429)
def _too_many_tries(_error):
    lang = page_language()
    form = ContactForm(lang=lang)
    notice = gettext(
        "This form was sent several times in the last minute. Please wait a minute and "
        "try again, or call us now."
    )
    place, canonical = _place_of_page(form.page_url.data)
    return _render_page(form, 429, place=place, canonical=canonical, notice=notice)


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
    context = {"lead": lead, "language_links": _language_links(lang), "show_details": False}
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
            result=self_check_result(lead.dsm_criteria or ()) if lead.dsm_criteria else None,
        )
    return current_app.make_response(render_template("public/thanks.html", **context))
