"""App-wide request guards, run before CSRF and before any view."""

from __future__ import annotations

from flask import abort, current_app, request


def refuse_crowded_forms():
    """413 for an oversize body or a form with more than MAX_FORM_PARTS fields, app-wide.

    Registered on the app before CSRF and before any view, so a flood is refused before
    any database work (API key lookups, sessions, signature checks included). Flask 3.1
    hands MAX_FORM_PARTS to Werkzeug, which enforces it for multipart bodies only; a
    urlencoded body is bounded by MAX_CONTENT_LENGTH but not counted, so count it.
    """
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return None
    max_length = current_app.config.get("MAX_CONTENT_LENGTH")
    if max_length and (request.content_length or 0) > max_length:
        abort(413)
    limit = current_app.config.get("MAX_FORM_PARTS")
    if not limit:
        return None
    parts = sum(len(values) for _key, values in request.form.lists())
    parts += sum(len(values) for _key, values in request.files.lists())
    if parts > limit:
        abort(413)
    return None
