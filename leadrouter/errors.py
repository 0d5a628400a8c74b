"""JSON errors for the API and webhooks, plain pages for people; never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template_string, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

_PAGE = """<!doctype html><html lang="en"><meta charset="utf-8">
<title>{{ code }} {{ name }}</title><main><h1>{{ name }}</h1><p>{{ description }}</p></main></html>"""


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

    @app.errorhandler(Exception)
    def handle_unexpected_error(error: Exception):
        # The exception type only: messages can carry personal data from the request.
        log.error("unhandled %s on %s %s", type(error).__name__, request.method, request.url_rule)
        log.debug("unhandled error", exc_info=error)
        return handle_http_error(InternalServerError())
