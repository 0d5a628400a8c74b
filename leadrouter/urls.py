"""Absolute URLs as the outside world sees them: on PUBLIC_BASE_URL when it is set."""

from __future__ import annotations

from flask import current_app, request, url_for
from werkzeug.routing import IntegerConverter

from leadrouter.database import MAX_ID


class IdConverter(IntegerConverter):
    """`<int:...>` in every route, safe for the id columns.

    A number beyond what they hold can name no row, so it reads as 0 (which no row has) and
    the view answers its usual 404, instead of the database refusing the query (a 500). A
    converter `max` would do it too, but Werkzeug then answers some methods 405.
    """

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return number if number <= MAX_ID else 0


def public_url(endpoint: str, **values) -> str:
    """An absolute URL for an endpoint, the one Twilio (or an advisor's phone) will request."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def public_request_url() -> str:
    """The URL of the current request as the client asked for it (what Twilio signed)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        return request.url
    url = base.rstrip("/") + request.script_root + request.path
    # The raw query string, byte for byte: Twilio signs it as it sent it.
    query = request.query_string.decode("latin-1")
    return f"{url}?{query}" if query else url


def dashboard_base_url() -> str:
    """Where advisors open the dashboard, for links sent by text."""
    return current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"
