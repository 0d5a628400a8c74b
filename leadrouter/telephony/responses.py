"""TwiML as Flask responses: one content type, and the call-back-later answer for a broken database."""

from __future__ import annotations

from flask import Response, current_app

from leadrouter.telephony import twiml

TWIML_MIMETYPE = "text/xml"


def twiml_response(xml: str) -> Response:
    """A TwiML document as Twilio expects it."""
    return Response(xml, mimetype=TWIML_MIMETYPE)


def call_back_later_response(language: str) -> Response:
    """The degraded call: emergency notice, then the on-call line or "please call back"."""
    config = current_app.config
    helpline = twiml.Helpline(
        operator_name=config["HELPLINE_OPERATOR"],
        language=language if language in twiml.LANGUAGES else "en",
    )
    xml = twiml.call_back_later(
        helpline, config.get("ON_CALL_NUMBER"), caller_id=config.get("HELPLINE_NUMBER")
    )
    return twiml_response(xml)
