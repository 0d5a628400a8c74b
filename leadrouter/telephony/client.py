"""The Twilio REST adapter: built per use from settings, never at import time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
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
    # Imported here, where a text or call is sent: the REST client pulls in requests (a few
    # MB), which a web worker that only takes in leads never needs.
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    # A bounded timeout: a hung connection must not hold a worker or a web thread forever.
    http_client = current_app.extensions.get("twilio_http_client") or TwilioHttpClient(timeout=10)
    return Client(sid, token, http_client=http_client)


def send_text(to: str, body: str, from_: str) -> str:
    """Send one SMS through the configured account and return Twilio's message sid."""
    return twilio_client().messages.create(to=to, from_=from_, body=body).sid
