"""Guards on every outbound call or text to a lead, checked before any Twilio request."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from leadrouter.assignment.policy_store import load_policy
from leadrouter.i18n import N_
from leadrouter.leads.consent import has_consent
from leadrouter.leads.timeline import add_event
from leadrouter.models import Lead, utcnow
from leadrouter.routing.hours import to_local, within_contact_window
from leadrouter.routing.vocabulary import DEFAULT_TIMEZONE


@dataclass(frozen=True)
class Refusal:
    code: str
    template: str  # a catalog message; pages show its translation
    params: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        """In English, as stored on the timeline."""
        return self.template % self.params if self.params else self.template


def outbound_refusal(lead: Lead, channel: str, now: datetime | None = None) -> Refusal | None:
    """Why we may not call or text this lead right now, or None when it is allowed."""
    now = now or utcnow()
    if not lead.phone:
        return Refusal("no_phone", N_("The lead has no phone number we can call."))
    if lead.do_not_contact:
        return Refusal("do_not_contact", N_("The lead asked not to be contacted."))
    if not has_consent(lead):
        return Refusal("no_consent", N_("The lead has not given consent to be called or texted."))
    if channel == "sms" and not (lead.contact_preferences or {}).get("text_ok", False):
        return Refusal("no_texts", N_("The lead did not agree to text messages."))
    start, end = load_policy().contact_window
    zone = lead.timezone or DEFAULT_TIMEZONE
    if lead.urgency != "critical" and not within_contact_window(now, zone, start, end):
        local = to_local(now, zone).strftime("%H:%M")
        return Refusal(
            "quiet_hours",
            N_("It is %(local)s for the lead (%(zone)s); calls are allowed %(start)s-%(end)s."),
            {"local": local, "zone": zone, "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"},
        )
    return None


def refuse_outbound(lead: Lead, channel: str, refusal: Refusal, actor: str) -> None:
    """Write the refusal on the lead's timeline, so the reason is never lost."""
    add_event(
        lead, "outbound_blocked", actor, {"channel": channel, "code": refusal.code, "why": refusal.message}
    )
