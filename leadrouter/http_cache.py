"""HTTP caching: fingerprinted static files kept for a year; ETags and 304s for anonymous public pages.

Static files: ``url_for('static', filename=...)`` adds ``?v=<content hash>`` (hashes taken once
at start-up), and a request carrying the current hash is answered ``immutable`` for a year; the
plain address still works, kept for a few minutes only.

Public pages read by anonymous visitors get an ETag and answer 304 when it still matches. A page
with the form carries the visitor's own referrer and a CSRF token tied to their session, so it is
``private, no-cache``:
the browser keeps its own copy and asks each time. Its ETag is weak and leaves the token out (a
token signed a second later is just as good) but counts the session's secret, so a copy kept from
another session is never reused. Anything with a Set-Cookie, or for someone signed in, is not
cached at all.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, current_app, g, request, session

STATIC_MAX_AGE = 365 * 24 * 3600
# The un-fingerprinted address (an old bookmark, a hand-typed link): short, so a deploy shows soon.
STATIC_PLAIN_MAX_AGE = 300
# Anonymous public pages without a form: shared caches may keep them this long.
PUBLIC_PAGE_MAX_AGE = 300
FINGERPRINT_ARG = "v"
_FINGERPRINT_LENGTH = 12

# Public pages for anonymous visitors: the same for everyone with the same address and language...
SHARED_PAGES = frozenset(
    {"public.directory", "public.signs", "public.treatment", "public.privacy", "public.self_check"}
)
# ...and those with the form, whose hidden fields are the visitor's own (CSRF token, referrer).
FORM_PAGES = frozenset({"public.helpline", "public.regional"})
CACHEABLE_PAGES = SHARED_PAGES | FORM_PAGES


class CachingFlask(Flask):
    """Flask whose caching headers are decided last, once the session and every hook have written theirs."""

    def process_response(self, response):
        response = super().process_response(response)
        if request.endpoint == "static":
            return _cache_static_file(response)
        if request.endpoint in CACHEABLE_PAGES:
            return _cache_public_page(response)
        return response


def init_http_cache(app: Flask) -> None:
    """Fingerprint every static file once, and add the fingerprint to every static URL the app builds."""
    app.extensions["static_fingerprints"] = fingerprint_static_files(Path(app.static_folder))

    @app.url_defaults
    def _fingerprint_static_url(endpoint: str, values: dict) -> None:
        if endpoint == "static" and FINGERPRINT_ARG not in values:
            fingerprint = app.extensions["static_fingerprints"].get(values.get("filename"))
            if fingerprint:
                values[FINGERPRINT_ARG] = fingerprint


def fingerprint_static_files(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (as url_for names it, with forward slashes) and its content hash."""
    fingerprints = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:_FINGERPRINT_LENGTH]
            fingerprints[path.relative_to(folder).as_posix()] = digest
    return fingerprints


def _cache_static_file(response):
    if response.status_code not in (200, 304):
        return response
    filename = (request.view_args or {}).get("filename")
    current = current_app.extensions["static_fingerprints"].get(filename)
    # The file is the same whatever the cookies (Flask adds Vary: Cookie when a hook read the session).
    response.vary.discard("Cookie")
    cache_control = response.cache_control
    cache_control.no_cache = False
    cache_control.public = True
    if current and request.args.get(FINGERPRINT_ARG) == current:
        cache_control.max_age = STATIC_MAX_AGE
        cache_control.immutable = True
    else:
        cache_control.max_age = STATIC_PLAIN_MAX_AGE
    return response


def _cache_public_page(response):
    if (
        request.method not in ("GET", "HEAD")
        or response.status_code != 200
        or "Set-Cookie" in response.headers
        or _signed_in()
    ):
        # Someone's own page, or one that sets a cookie: the view's `no-store` stands.
        return response
    body = response.get_data()
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    token = (g.get(field) or "").encode()
    response.cache_control.no_store = False
    if request.endpoint in FORM_PAGES:
        masked = body.replace(token, b"") if token else body
        response.set_etag(_digest(masked, str(session.get(field, "")).encode()), weak=True)
        response.cache_control.private = True
        response.cache_control.no_cache = True
    else:
        response.set_etag(_digest(body))
        response.cache_control.public = True
        response.cache_control.max_age = PUBLIC_PAGE_MAX_AGE
    return response.make_conditional(request)


def _signed_in() -> bool:
    # Read from the session, not current_user: loading an anonymous user under Flask-Login's
    # "strong" protection rewrites the session, and with it sends a Set-Cookie.
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    return "_user_id" in session or remember_cookie in request.cookies


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()[:32]
