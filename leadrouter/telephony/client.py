"""The Twilio REST adapter: built per use from settings, never at import time."""

from __future__ import annotations

from flask import current_app
from twilio.rest import Client


class TwilioNotConfigured(RuntimeError):
    """TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN are not set, so nothing can be sent."""


def twilio_client() -> Client:
    """A Client for the configured account; tests swap the HTTP client at the network edge."""
    sid = current_app.config.get("TWILIO_ACCOUNT_SID")
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    if not sid or not token:
        raise TwilioNotConfigured(
            "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to send texts and place calls"
        )
    return Client(sid, token, http_client=current_app.extensions.get("twilio_http_client"))
