"""Check that a webhook really comes from Twilio (X-Twilio-Signature) before anything runs.

Twilio signs the exact URL it requested plus the sorted POST parameters. Behind a proxy
the app does not see that URL, so when PUBLIC_BASE_URL is set the URL is rebuilt from it
(plus the request path and the raw query string); otherwise ``request.url`` is used, which
ProxyFix corrects for the forwarded scheme and port but never for a forwarded Host.

Refusals are JSON (the error handlers) and happen before the view, so a refused request
stores nothing. With no auth token configured the endpoints refuse to work at all,
unless TWILIO_VALIDATE_SIGNATURE is switched off explicitly (local development only).
"""

from __future__ import annotations

import logging

from flask import abort, current_app, request
from twilio.request_validator import (
    HMAC_SHA1,
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from leadrouter.urls import public_request_url

log = logging.getLogger(__name__)


def is_valid_twilio_request(
    token: str, url: str, params, signature: str | None, settings_header: str | None = None
) -> bool:
    """Whether ``signature`` is Twilio's signature of ``url`` and ``params`` under ``token``."""
    if not signature or not token:
        return False
    algorithm = get_signature_algorithm(settings_header) if settings_header else HMAC_SHA1
    return RequestValidator(token).validate(url, params, signature, algorithm)


def verify_twilio_request() -> None:
    """Abort with 403 (bad or missing signature) or 503 (not configured); else return None."""
    config = current_app.config
    if not config.get("TWILIO_VALIDATE_SIGNATURE", True):
        return None
    settings_header = request.headers.get(SIGNATURE_SETTINGS_HEADER)
    if settings_header:
        # A Webhooks Rule signs with a SharedKey secret, not the account auth token.
        token = config.get("TWILIO_WEBHOOK_SHARED_KEY")
        if not token:
            log.error("Twilio webhook signed with a shared key, but TWILIO_WEBHOOK_SHARED_KEY is not set")
            abort(403, description="Twilio signature cannot be verified: no shared key is configured.")
    else:
        token = config.get("TWILIO_AUTH_TOKEN")
        if not token:
            log.error(
                "Twilio webhook refused: TWILIO_AUTH_TOKEN is not set (or set TWILIO_VALIDATE_SIGNATURE=0)"
            )
            abort(
                503,
                description=(
                    "Twilio webhooks are disabled: TWILIO_AUTH_TOKEN is not configured, so requests "
                    "cannot be verified. Set it, or set TWILIO_VALIDATE_SIGNATURE=0 for local testing."
                ),
            )
    # request.form raises 413 for an oversize body before any signature work.
    params = request.form if request.method == "POST" else {}
    if not is_valid_twilio_request(
        token, public_request_url(), params, request.headers.get(SIGNATURE_HEADER), settings_header
    ):
        log.warning("Twilio webhook refused: missing or invalid signature on %s", request.path)
        abort(403, description="Invalid or missing X-Twilio-Signature.")
    return None
