"""JSON errors for the API and webhooks, plain pages for people; never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound

from leadrouter.database import rollback_quietly
from leadrouter.helpline import helpline_details
from leadrouter.i18n import N_
from leadrouter.telephony.responses import call_back_later_response

log = logging.getLogger(__name__)

# How long a client should wait before trying again when the database cannot be reached.
DATABASE_RETRY_AFTER_SECONDS = 30
# Webhooks whose TwiML a caller hears: with the database down they still get the
# emergency notice and the on-call line, never Twilio's "application error" message.
_CALLER_FACING_VOICE_ENDPOINTS = frozenset(
    {"twilio.voice", "twilio.voice_menu", "twilio.voice_emergency", "twilio.voice_dial_result"}
)

# Werkzeug's names and default descriptions of the errors people meet, as catalog
# messages (English exactly as Werkzeug says it); a custom description is shown as given.
_HTTP_TEXT = {
    400: (
        N_("Bad Request"),
        N_("The browser (or proxy) sent a request that this server could not understand."),
    ),
    401: (
        N_("Unauthorized"),
        N_(
            "The server could not verify that you are authorized to access the URL requested. You "
            "either supplied the wrong credentials (e.g. a bad password), or your browser doesn't "
            "understand how to supply the credentials required."
        ),
    ),
    403: (
        N_("Forbidden"),
        N_(
            "You don't have the permission to access the requested resource. It is either "
            "read-protected or not readable by the server."
        ),
    ),
    405: (N_("Method Not Allowed"), N_("The method is not allowed for the requested URL.")),
    413: (N_("Request Entity Too Large"), N_("The data value transmitted exceeds the capacity limit.")),
    429: (
        N_("Too Many Requests"),
        N_("This user has exceeded an allotted request count. Try again later."),
    ),
    500: (
        N_("Internal Server Error"),
        N_(
            "The server encountered an internal error and was unable to complete your request. "
            "Either the server is overloaded or there is an error in the application."
        ),
    ),
    503: (
        N_("Service Unavailable"),
        N_(
            "The server is temporarily unable to service your request due to maintenance downtime "
            "or capacity problems. Please try again later."
        ),
    ),
}

# Werkzeug's words for a missing page read like a note to a developer; a person who followed
# a wrong or old link gets plain ones, and the ways to reach us that the page already shows.
_MISSING_PAGE = (
    N_("We could not find that page"),
    N_(
        "The link may be old or have a typo. Everything else is still here for you: go to the "
        "home page, or call us and talk to a person."
    ),
)


def wants_json() -> bool:
    """API clients get JSON; people get a short page."""
    return request.path.startswith(("/api/", "/twilio/", "/healthz", "/readyz")) or (
        request.accept_mimetypes.best == "application/json"
    )


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        response = error.get_response()
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() in ("retry-after", "www-authenticate", "allow")
        }
        if wants_json():
            return jsonify(error=error.description or error.name), error.code, headers
        name, description = _page_text(error)
        page = render_template("errors/http.html", code=error.code, name=name, description=description)
        return page, error.code, headers

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeoutError)
    def handle_database_unavailable(error: Exception):
        """The database cannot be reached: 503 with Retry-After, and a way to reach a person."""
        rollback_quietly()
        log.error(
            "database unavailable (%s) on %s %s", type(error).__name__, request.method, request.url_rule
        )
        if request.endpoint in _CALLER_FACING_VOICE_ENDPOINTS:
            return call_back_later_response(request.args.get("lang", "en"))
        headers = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
        if wants_json():
            message = "The service is temporarily unavailable; nothing was stored. Try again shortly."
            return jsonify(error=message), 503, headers
        # Drawn for an anonymous visitor: finding out who is signed in would need the database.
        current_app.login_manager._update_request_context_with_user(None)
        page = render_template("errors/unavailable.html", helpline=helpline_details())
        return page, 503, {**headers, "Cache-Control": "no-store"}

    @app.errorhandler(Exception)
    def handle_unexpected_error(error: Exception):
        # The exception type only: messages can carry personal data from the request.
        log.error("unhandled %s on %s %s", type(error).__name__, request.method, request.url_rule)
        log.debug("unhandled error", exc_info=error)
        return handle_http_error(InternalServerError())


def _page_text(error: HTTPException) -> tuple[str, str | None]:
    """The error's name and description in the page's language (Werkzeug's own are English)."""
    name, description = error.name, error.description
    if error.code == NotFound.code and description == NotFound.description:
        return gettext(_MISSING_PAGE[0]), gettext(_MISSING_PAGE[1])
    known = _HTTP_TEXT.get(error.code)
    if known is not None:
        name = gettext(known[0]) if name == known[0] else name
        description = gettext(known[1]) if description == known[1] else description
    return name, description
