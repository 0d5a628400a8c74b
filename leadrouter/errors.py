"""JSON errors for the API and webhooks, plain pages for people; never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template_string, request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError

from leadrouter.database import rollback_quietly
from leadrouter.helpline import helpline_details
from leadrouter.telephony.responses import call_back_later_response

log = logging.getLogger(__name__)

# How long a client should wait before trying again when the database cannot be reached.
DATABASE_RETRY_AFTER_SECONDS = 30
# Webhooks whose TwiML a caller hears: with the database down they still get the
# emergency notice and the on-call line, never Twilio's "application error" message.
_CALLER_FACING_VOICE_ENDPOINTS = frozenset(
    {"twilio.voice", "twilio.voice_menu", "twilio.voice_emergency", "twilio.voice_dial_result"}
)

_PAGE = """<!doctype html><html lang="en"><meta charset="utf-8">
<title>{{ code }} {{ name }}</title><main><h1>{{ name }}</h1><p>{{ description }}</p></main></html>"""

_UNAVAILABLE_PAGE = """<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>We could not take your request right now</title>
<main>
<h1>We could not take your request right now</h1>
<p>Our system is briefly unavailable, so what you sent was not saved. Please try again in a
minute, or call us now at <a href="{{ helpline.tel }}">{{ helpline.display }}</a>: a person
answers day and night.</p>
<p><strong>In an emergency, call 911.</strong> If you are thinking about suicide, call or text 988.</p>
</main></html>"""


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
        page = render_template_string(_PAGE, code=error.code, name=error.name, description=error.description)
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
        page = render_template_string(_UNAVAILABLE_PAGE, helpline=helpline_details())
        return page, 503, {**headers, "Cache-Control": "no-store"}

    @app.errorhandler(Exception)
    def handle_unexpected_error(error: Exception):
        # The exception type only: messages can carry personal data from the request.
        log.error("unhandled %s on %s %s", type(error).__name__, request.method, request.url_rule)
        log.debug("unhandled error", exc_info=error)
        return handle_http_error(InternalServerError())
