"""Turn lead plans into table rows, in the column order of `TABLES` (runs in the workers).

Rows carry what the app's operations would have written for the same story: the event
types and details of add_event's callers, the decision trace shape of Decision.to_dict
(cut to the chosen advisor and a few others, with the count of the rest), Twilio-style
ids, consent text from leadrouter.intake.consent. Only cosmetic values (names, notes,
IP addresses) are drawn here, from a per-chunk random generator.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

from bench.datagen.simulate import (
    FU_ADVISOR,
    FU_BY,
    FU_CREATED,
    FU_DONE,
    FU_DUE,
    FU_ID,
    FU_KIND,
    FU_STATUS,
    STEP_ACTOR,
    STEP_ADVISOR,
    STEP_ASSIGNMENT,
    STEP_DECISION,
    STEP_END,
    STEP_END_REASON,
    STEP_FACTS,
    STEP_KIND,
    STEP_OUTCOME,
    STEP_RULE,
    STEP_T,
    STEP_TRIGGER,
)
from bench.datagen.world import (
    FIRST_NAMES,
    HELPLINE_NUMBER,
    LAST_NAMES,
    REFERRERS,
    USER_AGENTS,
    World,
    stable_hex,
)
from leadrouter.intake.consent import CONSENT_VERSION
from leadrouter.models.lead import NOTHING_DUE

# Column order of every table the workers fill; ids left out come from the table's sequence.
TABLES = {
    "leads": (
        "id", "public_id", "source", "status", "is_open", "closed_reason", "name", "phone", "email",
        "for_whom", "patient_name", "language", "preferred_time", "contact_preferences", "message",
        "state", "zip", "city", "region", "region_source", "timezone", "substances", "dsm_criteria",
        "severity", "urgency", "urgency_rank", "urgency_score", "urgency_reasons", "emergency",
        "do_not_contact", "unknown_caller", "page_url", "referrer", "utm", "campaign", "owner_id",
        "routed_at", "assigned_at", "queued_at", "sla_due_at", "next_due_at", "first_contact_at",
        "reassignment_count", "escalated_at", "routing_trace", "created_at", "updated_at", "last_touch_at",
    ),
    "calls": (
        "id", "call_sid", "lead_id", "direction", "to_number", "advisor_id", "status", "for_whom",
        "menu_choice", "outcome", "dial_status", "duration_seconds", "started_at", "answered_at",
        "ended_at", "updated_at",
    ),
    "recordings": ("recording_sid", "call_id", "kind", "url", "duration_seconds", "transcript", "created_at"),
    "text_messages": ("message_sid", "lead_id", "direction", "phone", "body", "created_at"),
    "routing_decisions": (
        "id", "lead_id", "advisor_id", "outcome", "rule", "reason", "trace", "trigger", "decided_at",
    ),
    "assignments": (
        "id", "lead_id", "advisor_id", "decision_id", "kind", "reason", "actor", "started_at", "ended_at",
        "end_reason",
    ),
    "notifications": (
        "assignment_id", "channel", "status", "provider_sid", "attempts", "last_error", "created_at",
        "sent_at",
    ),
    "follow_ups": (
        "id", "lead_id", "advisor_id", "kind", "due_at", "note", "status", "created_by", "created_at",
        "completed_at",
    ),
    "events": ("lead_id", "type", "at", "actor", "detail", "dedupe_key"),
    "consent_records": (
        "lead_id", "given", "text", "version", "given_at", "ip", "user_agent", "page_url", "source",
    ),
    "contact_preferences": ("phone", "do_not_contact", "blocked", "reason", "updated_by", "updated_at"),
}  # fmt: skip
NOTIFY_BY_SMS = ("critical", "high")
MENU_CHOICES = {"self": "1", "loved_one": "2", "emergency": "0"}
RULE_GROUPS = {"critical_override": "critical override", "national_pool": "national pool"}
NOTES = {
    "contact": (
        "Talked through options.",
        "Wants to discuss with family first.",
        "Asked about detox length and cost.",
        "Has Medicaid; sent list of in-network programs.",
        "Caller is the mother; son is willing to talk tomorrow.",
        "Explained what to expect at intake.",
    ),
    "assessment": (
        "Assessment done: recommends medically supervised detox.",
        "Assessment done: outpatient with MAT fits best.",
        "Verified insurance benefits; 28-day residential covered.",
        "Needs dual-diagnosis program.",
    ),
}
FOLLOW_UP_NOTES = (
    "Try again tomorrow",
    "No answer, try after 5pm",
    "Left voicemail, call back",
    "Texted, wait a day",
)
TRANSCRIPTS = (
    "Hi, I'm calling about getting my son into detox, please call me back.",
    "Hello, I need information about your program. Call me when you can.",
    "Hola, necesito ayuda para mi esposo, llámenme por favor.",
    "Yeah, I'm looking for help for myself, I've been using pills. Call me back.",
)
WHY_MANUAL = ("waited too long in the queue", "no Spanish speaker on shift", "covering for the night team")
NOTHING_DUE_TS = NOTHING_DUE.timestamp()
_from_ts = datetime.fromtimestamp


def at(t: float | None) -> datetime | None:
    return None if t is None else _from_ts(t, UTC)


class Renderer:
    """Rows for a chunk of plans; per-chunk randomness for the cosmetic values."""

    def __init__(self, world: World, seed: int, chunk_index: int, now: float):
        self.world = world
        self.rng = random.Random(f"{seed}:render:{chunk_index}")
        self.now = now
        self.advisors = world.advisors
        self.advisor_count = len(world.advisors)
        self._json: dict = {}

    def dumps(self, value) -> str:
        return json.dumps(value)

    def cached(self, key, value) -> str:
        """JSON for details that repeat (status moves, attempt outcomes), serialised once per chunk."""
        text = self._json.get(key)
        if text is None:
            text = self._json[key] = self.dumps(value)
        return text

    def chunk(self, plans: list[dict]) -> dict[str, list[tuple]]:
        rows: dict[str, list[tuple]] = {table: [] for table in TABLES}
        for plan in plans:
            self.lead(plan, rows)
        return rows

    # --- one lead -----------------------------------------------------------------------

    def lead(self, plan: dict, rows: dict[str, list[tuple]]) -> None:
        rng, world = self.rng, self.world
        lead_id, created, source = plan["id"], plan["created"], plan["source"]
        template = world.templates[(plan["template_key"], plan["language"])][plan["template"]]
        events: list[tuple] = []  # (t, type, actor, detail json, dedupe key)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        phone, language, tz = plan["phone"], plan["language"], plan["tz"]
        call = plan["call"]
        created_source = "call" if call is not None else source
        actor = {"web_form": "web_form", "api": f"api_key:{lead_id % len(world.api_key_ids) + 1}"}.get(
            created_source, "twilio"
        )
        events.append(
            (
                created,
                "created",
                actor,
                self.cached(
                    (
                        "created",
                        created_source,
                        template.created_urgency,
                        plan["region"],
                        plan["region_source"],
                    ),
                    {
                        "source": created_source,
                        "urgency": template.created_urgency,
                        "region": plan["region"],
                        "region_source": plan["region_source"],
                    },
                ),
                None,
            )
        )
        name = email = patient = preferred = page_url = referrer = None
        preferences, utm = "{}", "{}"
        if source in ("web_form", "api"):
            name = f"{first} {last}"
            if phone is None or rng.random() < (0.6 if source == "web_form" else 0.8):
                email = f"{first}.{last}{lead_id % 997}@example.com".lower()
            if template.for_whom == "loved_one" and rng.random() < 0.5:
                patient = rng.choice(FIRST_NAMES)
            if source == "web_form":
                preferred = rng.choice(("asap", "morning", "afternoon", "evening", None, None))
                preferences = self.dumps(
                    {
                        "voicemail_ok": rng.random() < 0.7,
                        "text_ok": rng.random() < 0.55,
                        "call_name": first if rng.random() < 0.2 else None,
                    }
                )
                path = (plan["state"] or "treatment").lower()
                page_url = f"https://helpline.example.org/{'es/' if language == 'es' else ''}help/{path}"
                referrer = rng.choice(REFERRERS)
                if plan["utm"] is not None:
                    utm_source, medium, campaign = plan["utm"]
                    utm = self.cached(
                        ("utm", plan["utm"]),
                        {"source": utm_source, "medium": medium, "campaign": campaign},
                    )
            self.consent(plan, page_url, rows)
        elif call is not None and rng.random() < 0.4:
            name = f"{first} {last}"  # caller ID name
        if call is not None:
            self.call(plan, template, events, rows)
        elif source == "sms":
            sid = "SM" + f"{lead_id:010x}" + stable_hex("sms", lead_id, length=22)
            rows["text_messages"].append((sid, lead_id, "inbound", phone, template.message, at(created)))
            events.append(
                (
                    created,
                    "sms",
                    "twilio",
                    self.dumps({"direction": "inbound", "message_sid": sid}),
                    f"sms:{sid}",
                )
            )
        trace = self.routing(plan, template, events, rows)
        self.timeline(plan, events, rows)
        dnc_at = plan["dnc_at"]
        if dnc_at is not None and phone is not None:
            owner = plan["owner"]
            rows["contact_preferences"].append(
                (phone, True, False, "asked during a call", f"user:{owner + 1}", at(dnc_at))
            )
        events.sort(key=lambda e: e[0])
        for t, kind, who, detail, dedupe in events:
            rows["events"].append((lead_id, kind, at(t), who, detail, dedupe))
        owner = plan["owner"]
        escalated = plan["escalated"]
        first_contact, sla = plan["first_contact"], plan["sla"]
        next_due = NOTHING_DUE_TS
        if plan["is_open"]:
            dues = [f[FU_DUE] for f in plan["follow_ups"] if f[FU_STATUS] == "open"]
            if first_contact is None and sla is not None:
                dues.append(sla)
            if dues:
                next_due = min(dues)
        rows["leads"].append(
            (
                lead_id,
                f"{rng.getrandbits(128):032x}",
                source,
                plan["status"],
                plan["is_open"],
                plan["closed_reason"],
                name,
                phone,
                email,
                template.for_whom,
                patient,
                language,
                preferred,
                preferences,
                template.message,
                plan["state"],
                plan["zip"],
                plan["city"],
                plan["region"],
                plan["region_source"],
                tz,
                template.substances,
                template.dsm_criteria,
                template.severity,
                template.urgency,
                template.urgency_rank,
                template.urgency_score,
                template.urgency_reasons,
                template.emergency,
                dnc_at is not None,
                source in ("call", "voicemail", "sms") and phone is None,
                page_url,
                referrer,
                utm,
                plan["campaign"],
                None if owner is None else owner + 1,
                at(plan["routed_at"]),
                at(plan["assigned_at"]),
                at(plan["queued_at"]),
                at(sla),
                at(next_due),
                at(first_contact),
                plan["reassignments"],
                None if escalated is None else at(escalated[0]),
                trace,
                at(created),
                at(events[-1][0]),
                at(created),
            )
        )

    def consent(self, plan: dict, page_url: str | None, rows) -> None:
        consent = plan["consent"]
        if consent is None:
            return
        rng = self.rng
        web = plan["source"] == "web_form"
        network = rng.choice((24, 47, 68, 71, 73, 98, 107, 174))
        ip = f"{network}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        rows["consent_records"].append(
            (
                plan["id"],
                consent[0],
                self.world.consent_texts[plan["language"]],
                CONSENT_VERSION,
                at(plan["created"]),
                ip,
                rng.choice(USER_AGENTS) if web else "PartnerCRM/2.4 (+https://partner.example.com)",
                page_url,
                plan["source"],
            )
        )

    # --- calls --------------------------------------------------------------------------

    def call(self, plan: dict, template, events, rows) -> None:
        rng, lead_id, call = self.rng, plan["id"], plan["call"]
        sid = "CA" + f"{lead_id:010x}" + stable_hex("call", lead_id, length=22)
        kind, start = call["kind"], call["start"]
        menu = call["menu"]
        if kind == "abandoned" and rng.random() < 0.5:
            menu = None  # hung up before choosing
        if menu is not None:
            events.append(
                (
                    start + rng.uniform(4, 8),
                    "call",
                    "twilio",
                    self.dumps({"call_sid": sid, "step": "menu", "choice": menu}),
                    f"call:{sid}:menu",
                )
            )
        advisor = call["advisor"]
        in_progress = call.get("in_progress", False)
        end = call.get("end")
        outcome = kind if kind != "emergency" else "answered"
        if kind == "answered" or kind == "emergency":
            if not in_progress:
                events.append(
                    (
                        end,
                        "call",
                        "twilio",
                        self.dumps({"call_sid": sid, "outcome": "answered", "advisor_id": advisor + 1}),
                        f"call:{sid}:answered",
                    )
                )
        elif kind in ("missed", "voicemail"):
            why = "advisor did not answer (no-answer)" if advisor >= 0 else "no advisor free"
            if call["missed"] <= self.now:
                events.append(
                    (
                        call["missed"],
                        "call",
                        "twilio",
                        self.dumps({"call_sid": sid, "outcome": "missed", "detail": why}),
                        f"call:{sid}:missed",
                    )
                )
            if kind == "voicemail" and not in_progress:
                rsid = "RE" + f"{lead_id:010x}" + stable_hex("recording", lead_id, length=22)
                duration = call["recording"]
                rows["recordings"].append(
                    (
                        rsid,
                        call["id"],
                        "voicemail",
                        f"https://api.twilio.com/2010-04-01/Accounts/AC{stable_hex('account')}/Recordings/{rsid}",
                        duration,
                        rng.choice(TRANSCRIPTS) if rng.random() < 0.4 else None,
                        at(end),
                    )
                )
                events.append(
                    (
                        end,
                        "voicemail",
                        "twilio",
                        self.dumps({"call_sid": sid, "recording_sid": rsid, "duration_seconds": duration}),
                        f"voicemail:{rsid}",
                    )
                )
        elif kind == "abandoned" and not in_progress:
            detail = {
                "call_sid": sid,
                "outcome": "abandoned",
                "detail": "caller hung up before reaching an advisor",
            }
            events.append((end, "call", "twilio", self.dumps(detail), f"call:{sid}:abandoned"))
        elif kind == "crisis_line":
            detail = {"call_sid": sid, "outcome": "crisis_line", "detail": "connected to the 988 Lifeline"}
            events.append(
                (start + rng.uniform(8, 20), "call", "twilio", self.dumps(detail), f"call:{sid}:988")
            )
        answered = call.get("answered")
        if in_progress:
            status, outcome, end = "in-progress", "in_progress", None
            answered = answered if answered is not None and answered <= self.now else None
        else:
            status = "completed"
        rows["calls"].append(
            (
                call["id"],
                sid,
                lead_id,
                "inbound",
                plan.get("to_number", HELPLINE_NUMBER),
                None if advisor < 0 else advisor + 1,
                status,
                menu if menu in ("self", "loved_one") else None,
                None if menu is None else MENU_CHOICES[menu],
                outcome,
                call.get("dial_status"),
                None if end is None else int(end - start),
                at(start),
                at(answered),
                at(end),
                at(end if end is not None else start),
            )
        )

    # --- routing ------------------------------------------------------------------------

    def routing(self, plan: dict, template, events, rows) -> str | None:
        """Decisions, assignments, their events and notifications; returns the lead's last trace."""
        lead_id, region, language = plan["id"], plan["region"], plan["language"]
        trace = None
        advisors = self.advisors
        urgency = template.urgency
        for step in plan["steps"]:
            t, outcome, advisor = step[STEP_T], step[STEP_OUTCOME], step[STEP_ADVISOR]
            rule, trigger, facts = step[STEP_RULE], step[STEP_TRIGGER], step[STEP_FACTS]
            decision_id = step[STEP_DECISION]
            if rule == "manual":
                manager = f"user:{step[STEP_ACTOR]}"
                why = self.rng.choice(WHY_MANUAL)
                reason = f"{manager} reassigned the lead: {why}"
                trace = self.dumps({"manual": True, "by": manager, "why": why})
            else:
                reason, trace = self.decision(lead_id, t, outcome, advisor, rule, facts, region, language)
            rows["routing_decisions"].append(
                (
                    decision_id,
                    lead_id,
                    None if advisor < 0 else advisor + 1,
                    outcome,
                    rule,
                    reason,
                    trace,
                    trigger,
                    at(t),
                )
            )
            if outcome == "queued":
                events.append(
                    (t, "queued", "system", self.dumps({"reason": reason, "trigger": trigger}), None)
                )
                continue
            assignment_id, chosen = step[STEP_ASSIGNMENT], advisors[advisor]
            actor = manager if rule == "manual" else "system"
            rows["assignments"].append(
                (
                    assignment_id,
                    lead_id,
                    advisor + 1,
                    decision_id,
                    step[STEP_KIND],
                    reason,
                    actor,
                    at(t),
                    at(step[STEP_END]),
                    step[STEP_END_REASON],
                )
            )
            if rule == "manual":
                detail = {"advisor_id": advisor + 1, "advisor": chosen.name, "why": why}
            else:
                detail = {
                    "advisor_id": advisor + 1,
                    "advisor": chosen.name,
                    "rule": rule,
                    "reason": reason,
                    "trigger": trigger,
                }
            events.append((t, step[STEP_KIND], actor, self.dumps(detail), None))
            if trigger in ("intake", "drain", "sla") and urgency in NOTIFY_BY_SMS and chosen.phone:
                self.notification(assignment_id, t, rows)
        return trace

    def decision(self, lead_id, t, outcome, advisor, rule, facts, region, language):
        """Decision.reason and a trimmed Decision.to_dict() trace for one routing decision."""
        load, idle, others, passed_over, eligible, in_scope, waived = facts
        advisors = self.advisors
        candidates = []
        groups = {"exact_state": f"{region} advisors", **RULE_GROUPS}
        group = groups.get(rule, "")
        if outcome == "assigned":
            chosen = advisors[advisor]
            reasons = [f"chosen by {rule}: first in line"]
            if waived and language not in chosen.languages:
                reasons.append(f"does not speak {language} (waived: nobody available does)")
            if load >= chosen.capacity:
                reasons.append(f"at capacity ({load}/{chosen.capacity}), waived for critical lead")
            candidates.append(self._candidate(chosen, True, True, reasons, load, rule, 1, group, idle))
            for rank, (other, other_load) in enumerate(others, start=2):
                reasons = [f"eligible under {rule}, ranked {rank}"]
                candidates.append(
                    self._candidate(advisors[other], True, False, reasons, other_load, rule, rank, group)
                )
        for other, why, other_load in passed_over:
            person = advisors[other]
            text = {
                "offline": "offline",
                "language": f"does not speak {language}",
                "capacity": f"at capacity ({other_load}/{person.capacity})",
                "excluded": "excluded: first contact overdue",
            }[why]
            candidates.append(self._candidate(person, False, False, [text], other_load, rule, None, group))
        if outcome == "assigned":
            chosen = advisors[advisor]
            waived_text = f"; nobody available speaks {language}, so language was waived" if waived else ""
            reason = f"Assigned to {chosen.name} by {rule} ({load}/{chosen.capacity} open){waived_text}."
        else:
            reason = f"No eligible advisor among {self.advisor_count}: lead queued."
        explanation = self._explain(candidates, reason, outcome, eligible, region)
        trace = self.dumps(
            {
                "lead_id": lead_id,
                "advisor_id": None if advisor < 0 else advisor + 1,
                "outcome": outcome,
                "rule": rule,
                "reason": reason,
                "candidates": candidates,
                "decided_at": at(t).isoformat(),
                "explanation": explanation,
            }
        )
        return reason, trace

    @staticmethod
    def _candidate(advisor, eligible, chosen, reasons, load, rule, rank, group, idle=None) -> dict:
        return {
            "advisor_id": advisor.id,
            "name": advisor.name,
            "eligible": eligible,
            "chosen": chosen,
            "reasons": reasons,
            "open_leads": load,
            "capacity": advisor.capacity,
            "rule": rule,
            "rank": rank,
            "group": group,
            "idle_minutes": idle,
        }

    def _explain(self, candidates, reason, outcome, eligible, region) -> str:
        parts = []
        passed = [c for c in candidates if not c["eligible"]]
        if passed:
            names = "; ".join(f"{c['name']}: {', '.join(c['reasons'])}" for c in passed)
            parts.append(f"{passed[0]['group'] or 'advisors'} passed over — {names}")
        if outcome == "assigned":
            chosen = candidates[0]
            idle = chosen["idle_minutes"]
            idle_text = "never assigned before" if idle is None else f"idle {idle} min"
            details = [f"{chosen['open_leads']}/{chosen['capacity']} open", idle_text, *chosen["reasons"][1:]]
            parts.append(f"{chosen['group']}: {chosen['name']} chosen, {', '.join(details)}")
            others = [c for c in candidates if c["eligible"] and not c["chosen"]]
            if others:
                names = ", ".join(f"{c['name']} ({c['open_leads']}/{c['capacity']})" for c in others)
                more = eligible - 1 - len(others)
                parts.append(f"also eligible: {names}" + (f" and {more} more" if more > 0 else ""))
        rest = self.advisor_count - len(candidates)
        if rest > 0 and region is not None:
            parts.append(f"{rest} not considered (does not cover {region}, or not shown in this trace)")
        if outcome != "assigned":
            parts.append(reason)
        text = ". ".join(part[:1].upper() + part[1:] for part in parts)
        return text if text.endswith(".") else text + "."

    def notification(self, assignment_id: int, t: float, rows) -> None:
        rng = self.rng
        sent = t + rng.uniform(0.8, 4)
        if sent > self.now:
            rows["notifications"].append((assignment_id, "sms", "pending", None, 0, None, at(t), None))
            return
        roll = rng.random()
        if roll < 0.965:
            sid = "SM" + f"{assignment_id:010x}" + stable_hex("notify", assignment_id, length=22)
            rows["notifications"].append((assignment_id, "sms", "sent", sid, 1, None, at(t), at(sent)))
        elif roll < 0.99:
            error = "HTTP 400 error: Unable to create record: The 'To' number is not a valid phone number."
            rows["notifications"].append((assignment_id, "sms", "failed", None, 6, error, at(t), None))
        else:
            reason = "advisor has no mobile number on file"
            rows["notifications"].append((assignment_id, "sms", "skipped", None, 1, reason, at(t), None))

    # --- the advisor's work ------------------------------------------------------------

    def timeline(self, plan: dict, events, rows) -> None:
        """Attempts, notes, status moves, follow-ups and escalation, with the app's event details."""
        rng, lead_id = self.rng, plan["id"]
        for follow_up in plan["follow_ups"]:
            created_by = follow_up[FU_BY]
            if follow_up[FU_KIND] == "callback":
                note, by = "First callback", "routing"
                detail = self.dumps({"kind": "callback", "due_at": at(follow_up[FU_DUE]).isoformat()})
                events.append((follow_up[FU_CREATED], "follow_up", "system", detail, None))
            else:
                note = (
                    "Check in after admission"
                    if plan["status"] == "admitted"
                    else rng.choice(FOLLOW_UP_NOTES)
                )
                by = f"user:{created_by + 1}"
            rows["follow_ups"].append(
                (
                    follow_up[FU_ID],
                    lead_id,
                    follow_up[FU_ADVISOR] + 1,
                    follow_up[FU_KIND],
                    at(follow_up[FU_DUE]),
                    note,
                    follow_up[FU_STATUS],
                    by,
                    at(follow_up[FU_CREATED]),
                    at(follow_up[FU_DONE]),
                )
            )
        cached = self.cached
        for t, kind, owner, detail in plan["events"]:
            actor = "system" if kind == "escalated" else f"user:{owner + 1}"
            if kind == "contact_attempt":
                text = cached(("attempt", detail), {"outcome": detail})
            elif kind == "note":
                text = self.dumps({"text": rng.choice(NOTES[detail])})
            elif kind == "follow_up_scheduled":
                kind, text = (
                    "follow_up",
                    self.dumps({"action": "scheduled", "id": detail[0], "due_at": at(detail[1]).isoformat()}),
                )
            elif kind == "follow_up_completed":
                kind, text = "follow_up", self.dumps({"action": "completed", "id": detail})
            elif kind == "opted_out":
                text = cached(("opted_out",), {"why": "asked during a call"})
            elif kind == "escalated":
                text = self.dumps({"reason": detail[0], "owner_id": detail[1] + 1})
            else:
                raise ValueError(f"unknown planned event {kind}")
            events.append((t, kind, actor, text, None))
        status = "assigned"
        for t, new_status, reason, who in plan["statuses"]:
            actor = "twilio" if who == "twilio" else f"user:{who + 1}"
            if reason:
                text = cached(
                    ("status", status, new_status, reason),
                    {"from": status, "to": new_status, "reason": reason},
                )
            else:
                text = cached(("status", status, new_status), {"from": status, "to": new_status})
            events.append((t, "status_changed", actor, text, None))
            status = new_status
