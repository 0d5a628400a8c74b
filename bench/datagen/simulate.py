"""Play out a year of leads in arrival order, as the app's rules would have handled them.

Runs in the main process because routing depends on shared state: each advisor's open
leads (the capacity the claim checks), when they were last assigned (the tie-break) and
who is on shift. Every lead's story (routing decisions, SLA reassignments, contact
attempts, status moves, follow-ups) is decided here and cut at `now`; the workers only
turn these plans into rows. An advisor's load is counted from the moment a lead is
planned until the planned release, never less, so no claim exceeds capacity (only the
critical override and a manager's reassignment may, as in the app), and at `now` the
counters equal the open leads each advisor owns.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Iterator

from bench.datagen.clock import DAY, HOUR, Clock
from bench.datagen.world import (
    CALL_KINDS,
    CAMPAIGNS,
    CITIES,
    SPANISH_STATES,
    STATE_WEIGHTS,
    TRACKING_NUMBERS,
    Picker,
    World,
    phone_number,
)
from leadrouter.models.lead import OPEN_STATUSES
from leadrouter.routing.policy import default_policy
from leadrouter.routing.timezones import STATE_TIMEZONES

OPEN = frozenset(OPEN_STATUSES)
INF = float("inf")
MAX_REASSIGNMENTS = default_policy().max_reassignments
# When the queue is drained again for a lead nobody could take (minutes after queueing).
DRAIN_RETRIES = (2, 6, 15, 30, 60, 120, 240, 480, 720)
MANUAL_AFTER = 14 * HOUR
# Arrivals by local hour (Eastern) and weekday (Monday first).
HOUR_FACTORS = (0.35, 0.28, 0.24, 0.22, 0.22, 0.3, 0.5, 0.8, 1.1, 1.3, 1.4, 1.4,
                1.35, 1.3, 1.3, 1.3, 1.25, 1.2, 1.2, 1.25, 1.3, 1.2, 0.9, 0.6)  # fmt: skip
WEEKDAY_FACTORS = (1.12, 1.1, 1.05, 1.02, 0.95, 0.8, 0.86)
CHANNELS = (("web_form", 40), ("api", 18), ("sms", 7), ("phone", 35))
REGION_SOURCES = {
    "web_form": (("state", 72), ("zip", 12), ("area_code", 13), ("unknown", 3)),
    "api": (("state", 80), ("zip", 10), ("area_code", 8), ("unknown", 2)),
    "phone": (("twilio_from_state", 74), ("area_code", 20), ("unknown", 6)),
    "sms": (("twilio_from_state", 70), ("area_code", 30)),
}
# Minutes from assignment to the first call-back attempt (median, spread); contact-window
# minutes except for critical leads, which are called at any hour.
FIRST_ATTEMPT = {"critical": (2.5, 0.8), "high": (6, 1.0), "normal": (20, 1.1), "low": (200, 0.9)}
# Working (contact-window) minutes between an advisor's steps: (median, log-normal spread).
# A lead holds a seat of its owner's capacity until it leaves the pipeline; with these the
# average hold is about a day, which keeps a 200-advisor team at 1M leads/year below
# capacity most of the time (peaks still queue, and overnight leads wait for the morning).
RETRY_GAP = (150, 0.6)
GIVE_UP_AFTER = (240, 0.6)
CLOSE_AFTER_CONTACT = (90, 1.0)
REFER_AFTER_CONTACT = (180, 1.0)
ASSESS_AFTER_CONTACT = (90, 1.0)
DECIDE_AFTER_ASSESSMENT = (300, 0.8)
CLOSE_REASONS = (
    ("not_interested", 34),
    ("declined_treatment", 20),
    ("no_coverage", 16),
    ("referred_elsewhere", 14),
    ("duplicate", 5),
    ("other", 11),
)
MISS_OUTCOMES = (
    ("no_answer", 55),
    ("voicemail_left", 40),
    ("wrong_number", 3.5),
    ("asked_not_to_be_contacted", 1.5),
)
PHONE_REUSE = 0.04
# A lead's story (routing, attempts, pipeline, a check-in follow-up) ends well within this.
SETTLED_AFTER = 120 * DAY  # leads from a number that already called more than 24 h earlier


class Simulation:
    """Decide every lead's story in creation order, keeping advisor load as routing sees it."""

    def __init__(self, world: World, clock: Clock, leads: int, start: float, now: float, seed: int):
        self.world, self.clock = world, clock
        self.leads, self.start, self.now = leads, start, now
        self.rng = random.Random(f"{seed}:simulation")
        advisors = world.advisors
        self.on_shift = [
            clock.shift_hours_on(a.shift_hours, a.timezone, a.hired_at, a.left_at) for a in advisors
        ]
        # The same, hour by hour: who is on shift in hour h is self.shift_rows[h][advisor].
        self.shift_rows = [bytes(row) for row in zip(*self.on_shift, strict=True)]
        self.capacity = [a.capacity for a in advisors]
        self.languages = [frozenset(a.languages) for a in advisors]
        self.has_phone = [a.phone is not None for a in advisors]
        self.open = [0] * len(advisors)
        self.last = [None] * len(advisors)  # last_assigned_at as routing sees it
        self.last_past = [None] * len(advisors)  # the newest assignment not after `now`
        self.everyone = list(range(len(advisors)))
        self.pool = [i for i, a in enumerate(advisors) if "*" in a.regions]
        self.by_state: dict[str, list[int]] = {}
        for i, a in enumerate(advisors):
            for region in a.regions:
                if region != "*":
                    self.by_state.setdefault(region, []).append(i)
        self.releases: list[tuple[float, int]] = []
        self.scopes = {"any": self.everyone, "*": self.pool, **self.by_state}
        self._roster_cache: dict[int, dict] = {}
        self.decision_ids = itertools.count(1)
        self.assignment_ids = itertools.count(1)
        self.follow_up_ids = itertools.count(1)
        self.call_ids = itertools.count(1)
        self.dnc_phones: set[str] = set()
        self.reused_phones: dict[str, float] = {}  # phone -> when its newest repeat lead came in
        self.recent_phones: list[tuple[float, str, str, str]] = []  # (created, phone, state, tz), a ring
        self._pick_channel = Picker(CHANNELS)
        self._pick_call = Picker(CALL_KINDS)
        self._pick_state = Picker(STATE_WEIGHTS.items())
        self._pick_region_source = {k: Picker(v) for k, v in REGION_SOURCES.items()}
        self._pick_close = Picker(CLOSE_REASONS)
        self._pick_miss = Picker(MISS_OUTCOMES)
        self._arrivals = self._arrival_curve()

    # --- arrivals ------------------------------------------------------------------------

    def _arrival_curve(self) -> list[float]:
        """Cumulative arrival weight per hour from `start` to `now`: growth, weekdays, time of day."""
        span = self.now - self.start
        hours_total = int(math.ceil(span / HOUR))
        offsets = self.clock.offsets("America/New_York")
        cumulative, total = [0.0], 0.0
        for i in range(hours_total):
            t = self.start + i * HOUR
            wall = t + offsets[self.clock.hour_index(t)]
            weekday, hour = int((wall // DAY + 3) % 7), int((wall % DAY) // HOUR)
            growth = 0.8 + 0.4 * i / hours_total
            share = min(1.0, (span - i * HOUR) / HOUR)  # the last hour may be cut short by `now`
            total += growth * WEEKDAY_FACTORS[weekday] * HOUR_FACTORS[hour] * share
            cumulative.append(total)
        return cumulative

    def arrival_times(self) -> Iterator[float]:
        """Creation times for lead 1..N, non-decreasing, to the millisecond."""
        curve, total, n = self._arrivals, self._arrivals[-1], self.leads
        hour = 0
        for i in range(n):
            target = (i + self.rng.random()) / n * total
            while curve[hour + 1] <= target:
                hour += 1
            fraction = (target - curve[hour]) / (curve[hour + 1] - curve[hour])
            t = self.start + min(hour + fraction, (self.now - self.start) / HOUR) * HOUR
            yield min(round(t, 3), self.now)

    # --- the run -------------------------------------------------------------------------

    def chunks(self, size: int) -> Iterator[list[dict]]:
        """Plans for every lead, `size` at a time, in id (= creation) order."""
        chunk = []
        for lead_id, created in enumerate(self.arrival_times(), start=1):
            self._release_until(created)
            chunk.append(self._lead(lead_id, created))
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def advisor_state(self) -> list[tuple[int, float | None]]:
        """(open leads, last assigned) per advisor at `now`, once every chunk was planned."""
        self._release_until(self.now)
        return list(zip(self.open, self.last_past, strict=True))

    def _release_until(self, t: float) -> None:
        releases = self.releases
        while releases and releases[0][0] <= t:
            _, advisor = heapq.heappop(releases)
            self.open[advisor] -= 1

    # --- routing -------------------------------------------------------------------------

    def _choose(self, region, language, urgency, t, exclude=-1):
        """The default policy: critical override, exact state, national pool; -1 = queue.

        Returns (advisor index, rule, trace facts) where the facts are (open before the
        claim, idle minutes, the runner-up (index, open), up to 2 passed over
        (index, reason, load), eligible count, in-scope count, language waived).
        """
        rosters = self._rosters(self.clock.hour_index(t))
        open_, capacity, languages, last = self.open, self.capacity, self.languages, self.last
        rules = []
        if urgency == "critical":
            rules.append(("critical_override", "any"))
        if region is not None and region in self.by_state:
            rules.append(("exact_state", region))
        rules.append(("national_pool", "*"))
        passed_over = []
        for rule, scope in rules:
            working, off_shift, members = rosters[scope]
            for advisor in off_shift:
                if len(passed_over) < 2:
                    passed_over.append((advisor, "offline", 0))
            critical = rule == "critical_override"
            for require_language in (True, False) if critical else (True,):
                # rank_key as one number: over capacity last, then fewest open leads, then
                # never assigned before longest idle (stamps are epoch seconds < 1e10).
                best, best_key, eligible, runner_up = -1, INF, 0, None
                for a in working:
                    load = open_[a]
                    if a == exclude:
                        reason = "excluded"
                    elif require_language and language not in languages[a]:
                        reason = "language"
                    elif load >= capacity[a] and not critical:
                        reason = "capacity"
                    else:
                        eligible += 1
                        key = (1e13 if load >= capacity[a] else 0.0) + load * 1e10 + (last[a] or 0.0)
                        if key < best_key:
                            if best >= 0 and (runner_up is None or (open_[best], best) < runner_up):
                                runner_up = (open_[best], best)
                            best, best_key = a, key
                        elif runner_up is None or (load, a) < runner_up:
                            runner_up = (load, a)
                        continue
                    if len(passed_over) < 2:
                        passed_over.append((a, reason, load))
                if best >= 0:
                    others = [] if runner_up is None else [(runner_up[1], runner_up[0])]
                    stamp = last[best]
                    idle = None if stamp is None else max(0, int((t - stamp) // 60))
                    waived = critical and not require_language
                    facts = (open_[best], idle, others, passed_over, eligible, len(members), waived)
                    return best, rule, facts
        in_scope = sum(len(rosters[scope][2]) for _, scope in rules)
        return -1, None, (0, None, [], passed_over, 0, in_scope, False)

    def _rosters(self, hour: int) -> dict[str, tuple[list[int], list[int], list[int]]]:
        """Per scope (a state, "*" the pool, "any" everyone): (on shift, two who are not, members)."""
        rosters = self._roster_cache.get(hour)
        if rosters is None:
            if len(self._roster_cache) > 500:  # lookups cluster around the lead being planned
                self._roster_cache.clear()
            row = self.shift_rows[hour]
            rosters = {}
            for scope, members in self.scopes.items():
                rosters[scope] = (
                    [a for a in members if row[a]],
                    [a for a in members if not row[a]][:2],
                    members,
                )
            self._roster_cache[hour] = rosters
        return rosters

    def _claim(self, advisor: int, t: float) -> None:
        self.open[advisor] += 1
        if self.last[advisor] is None or t > self.last[advisor]:
            self.last[advisor] = t
        if t <= self.now and (self.last_past[advisor] is None or t > self.last_past[advisor]):
            self.last_past[advisor] = t

    # --- one lead ------------------------------------------------------------------------

    def _lead(self, lead_id: int, created: float) -> dict:
        rng, clock, world = self.rng, self.clock, self.world
        channel = self._pick_channel(rng)
        call_kind = self._pick_call(rng) if channel == "phone" else None
        state = self._pick_state(rng)
        region_source = self._pick_region_source[channel](rng)
        language = "es" if rng.random() < SPANISH_STATES.get(state, 0.035) else "en"
        phone, phone_tz = None, None
        if region_source != "unknown":
            phone, phone_state, phone_tz = self._phone(lead_id, created, state, region_source)
            if region_source in ("twilio_from_state", "area_code"):
                state = phone_state
        region = None if region_source == "unknown" else state
        tz = phone_tz or STATE_TIMEZONES.get(region or "", "America/New_York")
        source = {"phone": "call", "web_form": "web_form", "api": "api", "sms": "sms"}[channel]
        if call_kind == "voicemail":
            source = "voicemail"
        lead = {
            "id": lead_id,
            "created": created,
            "source": source,
            "language": language,
            "region": region,
            "region_source": region_source,
            "state": region if region_source == "state" else None,
            "zip": None,
            "city": None,
            "phone": phone,
            "tz": tz,
            "call": None,
            "consent": None,
            "campaign": None,
            "utm": None,
        }
        self._details(lead, channel, state)
        if channel == "phone":
            # Call templates are [self, loved one]; the emergency option leaves for_whom at "self".
            loved_one = call_kind not in ("emergency", "crisis_line") and rng.random() < 0.42
            self._set_template(lead, call_kind, 1 if loved_one else 0)
        else:
            self._set_template(lead, source, rng.randrange(len(world.templates[(source, language)])))
        urgency = lead["urgency"]
        consented = lead["consent"] is not None and lead["consent"][0]

        steps: list[list] = []
        events: list[tuple] = []  # (t, type, actor code, detail) for the timeline beyond routing
        follow_ups: list[list] = []
        statuses: list[tuple] = []  # (t, from, to, reason, actor)
        first_contact = None
        dnc_at = None

        # --- the call, and routing at the moment it happens -------------------------------
        route_at, trigger, route_urgency = created + rng.uniform(0.2, 2.5), "intake", urgency
        call = None
        if channel == "phone":
            call, route_at, trigger, route_urgency = self._call_start(lead, call_kind, created, urgency)
        self._route(lead, route_at, trigger, route_urgency, steps)
        if call is not None:
            # The caller is put through only to an advisor routing found while they were on
            # the line; one found later by draining the queue calls them back instead.
            connected = steps[0][STEP_ADVISOR] if steps and steps[0][STEP_OUTCOME] == "assigned" else -1
            first_contact = self._call_finish(lead, call, connected)
            urgency = lead["urgency"]  # a missed call or a voicemail raised it
        # --- SLA, first contact and the pipeline ------------------------------------------
        sla, escalated, reassignments = None, None, 0
        if steps and steps[-1][STEP_OUTCOME] == "assigned":
            manual = steps[-1][STEP_TRIGGER] == "manual"
            # reassign_lead (manual) does not set an SLA; _assign does, from creation.
            sla = None if manual else clock.sla_due(urgency, created, tz)
            if consented and phone and not manual:
                self._callback(lead, steps[-1], urgency, follow_ups)
            if first_contact is not None:
                self._pipeline(lead, steps, first_contact, events, statuses, follow_ups, "twilio")
            else:
                attempt_at = self._first_attempt(urgency, steps[-1][STEP_T], tz)
                if sla is not None:
                    attempt_at, sla, reassignments, escalated = self._sla(
                        lead, steps, urgency, sla, attempt_at, events, follow_ups
                    )
                first_contact = attempt_at
                dnc_at = self._work(lead, steps, attempt_at, events, statuses, follow_ups)
        lead.update(
            steps=steps,
            events=events,
            follow_ups=follow_ups,
            statuses=statuses,
            sla=sla,
            first_contact=first_contact,
            escalated=escalated,
            reassignments=reassignments,
            dnc_at=dnc_at,
        )
        self._cut_at_now(lead)
        return lead

    def _set_template(self, lead: dict, key: str, index: int) -> None:
        templates = self.world.templates[(key, lead["language"])]
        lead["template_key"], lead["template"] = key, min(index, len(templates) - 1)
        lead["urgency"] = templates[lead["template"]].urgency

    def _phone(self, lead_id, created, state, region_source):
        rng, recent = self.rng, self.recent_phones
        if recent and rng.random() < PHONE_REUSE:
            # The same person again, more than 24 h after their last lead: intake creates a new lead.
            t, phone, phone_state, phone_tz = recent[rng.randrange(len(recent))]
            last_seen = self.reused_phones.get(phone, t)
            if last_seen < created - DAY and phone not in self.dnc_phones:
                self.reused_phones[phone] = created
                return phone, phone_state, phone_tz
        phone_state = state
        if region_source in ("state", "zip") and rng.random() < 0.15:
            phone_state = self._pick_state(rng)  # moved, or a family member's phone
        area, phone_tz = rng.choice(self.world.area_codes[phone_state])
        phone = phone_number(area, lead_id)
        entry = (created, phone, phone_state, phone_tz)
        if len(recent) < 60_000:
            recent.append(entry)
        else:
            recent[lead_id % 60_000] = entry
        return phone, phone_state, phone_tz

    def _details(self, lead: dict, channel: str, state: str) -> None:
        rng = self.rng
        if channel in ("web_form", "api"):
            if lead["region_source"] in ("state", "zip") or rng.random() < 0.3:
                prefixes = self.world.zip_prefixes.get(state)
                if prefixes and (lead["region_source"] == "zip" or rng.random() < 0.5):
                    lead["zip"] = f"{rng.choice(prefixes)}{rng.randrange(100):02d}"
                if lead["region_source"] == "state" and state in CITIES and rng.random() < 0.7:
                    lead["city"] = rng.choice(CITIES[state])
            if channel == "web_form":
                lead["consent"] = (rng.random() < 0.88,)
                if rng.random() < 0.55:
                    medium = rng.choice(CAMPAIGNS)
                    lead["utm"] = medium
                    lead["campaign"] = medium[2]
            elif rng.random() < 0.7:
                lead["consent"] = (rng.random() < 0.97,)
        elif channel == "phone" and rng.random() < 0.35:
            number, campaign = rng.choice(TRACKING_NUMBERS)
            lead["to_number"], lead["campaign"] = number, campaign

    def _route(self, lead, t, trigger, urgency, steps):
        """Route at `t`; queue and retry (drain) when nobody is eligible; a manager steps in last."""
        if t > self.now:
            return -1
        advisor, rule, facts = self._choose(lead["region"], lead["language"], urgency, t)
        if advisor >= 0:
            self._claim(advisor, t)
            steps.append(self._step(t, "assigned", advisor, rule, trigger, "assigned", facts))
            return advisor
        steps.append(self._step(t, "queued", -1, None, trigger, None, facts))
        for minutes in DRAIN_RETRIES:
            retry = t + minutes * 60
            if retry > self.now:
                return -1
            advisor, rule, facts = self._choose(lead["region"], lead["language"], lead["urgency"], retry)
            if advisor >= 0:
                self._claim(advisor, retry)
                steps.append(self._step(retry, "assigned", advisor, rule, "drain", "assigned", facts))
                return advisor
        manual = t + MANUAL_AFTER
        if manual > self.now:
            return -1
        members = self.by_state.get(lead["region"]) or self.pool
        rosters = self._rosters(self.clock.hour_index(manual))
        working = rosters[lead["region"]][0] if lead["region"] in self.by_state else []
        working = working or rosters["*"][0]
        advisor = min(working or members, key=lambda a: (self.open[a], a))
        self._claim(advisor, manual)
        facts = (self.open[advisor] - 1, None, [], [], 1, 1, False)
        step = self._step(manual, "assigned", advisor, "manual", "manual", "reassigned", facts)
        step[STEP_ACTOR] = self.rng.choice(self.world.manager_user_ids)
        steps.append(step)
        return advisor

    def _step(self, t, outcome, advisor, rule, trigger, kind, facts) -> list:
        # Routing never plans past `now` (see _route and _sla), so every step gets its ids.
        decision_id = next(self.decision_ids)
        assignment_id = next(self.assignment_ids) if outcome == "assigned" else 0
        return [t, outcome, advisor, rule, trigger, kind, facts, decision_id, assignment_id, INF, None, None]

    def _end(self, step: list, t: float, reason: str) -> None:
        """End an ownership period; its capacity comes back at `t`."""
        step[STEP_END], step[STEP_END_REASON] = t, reason[:200]
        heapq.heappush(self.releases, (t, step[STEP_ADVISOR]))

    # --- calls ---------------------------------------------------------------------------

    def _call_start(self, lead, kind, created, urgency):
        rng = self.rng
        call = {"id": next(self.call_ids), "kind": kind, "start": created, "advisor": -1}
        if kind in ("emergency", "crisis_line"):
            call["menu"] = "emergency"
        else:
            call["menu"] = "loved_one" if lead["template"] == 1 else "self"
        lead["call"] = call
        connect = created + rng.uniform(8, 25)
        if kind == "abandoned":
            call["end"] = created + rng.uniform(4, 40)
            return call, call["end"] + rng.uniform(0.3, 3), "intake", urgency
        if kind == "crisis_line":
            call["end"] = connect + rng.uniform(60, 900)
            return call, call["end"] + rng.uniform(0.3, 3), "intake", "critical"
        urgency = "critical" if kind == "emergency" else "normal"
        call["connect"] = connect
        return call, connect, "call", urgency

    def _call_finish(self, lead, call, advisor):
        """What happened on the line once routing picked someone (or nobody); the first contact."""
        rng, kind = self.rng, call["kind"]
        if kind in ("abandoned", "crisis_line"):
            return None
        connect = call["connect"]
        if kind in ("answered", "emergency") and advisor < 0:
            # Nobody free to take it: the caller hears the voicemail prompt.
            kind = "voicemail" if rng.random() < 0.7 else "missed"
        if kind in ("answered", "emergency"):
            call["advisor"] = advisor
            call["answered"] = connect + rng.uniform(6, 25)
            call["end"] = call["answered"] + rng.lognormvariate(math.log(540), 0.7)
            call["dial_status"] = "completed"
            return call["end"]  # record_dial_result: the first contact, status contacted
        call["kind"] = kind
        self._set_template(lead, kind, lead["template"])
        if advisor >= 0:
            call["advisor"] = advisor
            call["dial_status"] = "no-answer"
            missed_at = connect + rng.uniform(15, 25)
        else:
            missed_at = connect + 0.5
        call["missed"] = missed_at
        if kind == "voicemail":
            lead["source"] = "voicemail"  # record_voicemail turns a call lead into a voicemail lead
            call["recording"] = rng.randint(12, 140)
            call["end"] = missed_at + 6 + call["recording"]
        else:
            call["end"] = missed_at + rng.uniform(2, 20)
        return None

    # --- after assignment ----------------------------------------------------------------

    def _callback(self, lead, step, urgency, follow_ups):
        """routing schedules a first callback when the person consented to calls."""
        t = step[STEP_T]
        due = t if urgency == "critical" else self.clock.next_contact_time(t, lead["tz"])
        follow_ups.append(
            [next(self.follow_up_ids), "callback", t, due, "open", None, step[STEP_ADVISOR], "routing"]
        )

    def _sla(self, lead, steps, urgency, sla, attempt, events, follow_ups):
        """enforce_sla: an overdue first contact moves to another advisor, then escalates."""
        rng, clock, tz = self.rng, self.clock, lead["tz"]
        step = steps[-1]
        reassignments, escalated = 0, None
        while attempt > sla:
            sweep = max(sla, step[STEP_T]) + rng.uniform(20, 80)
            if sweep >= attempt or sweep > self.now:
                break
            if reassignments >= MAX_REASSIGNMENTS:
                escalated = (sweep, f"first contact still overdue after {reassignments} reassignments")
                break
            advisor, rule, facts = self._choose(
                lead["region"], lead["language"], urgency, sweep, step[STEP_ADVISOR]
            )
            if advisor < 0:
                escalated = (sweep, "first contact overdue and no other advisor is eligible")
                break
            late = int((sweep - sla) // 60)
            self._end(step, sweep, f"first contact overdue by {late} min")
            self._claim(advisor, sweep)
            step = self._step(sweep, "assigned", advisor, rule, "sla", "reassigned", facts)
            steps.append(step)
            for follow_up in follow_ups:  # _schedule_callback hands the open callback over
                if follow_up[FU_KIND] == "callback" and follow_up[FU_DONE] is None:
                    follow_up[FU_ADVISOR] = advisor
            reassignments += 1
            sla = clock.sla_due(urgency, sweep, tz)
            attempt = self._first_attempt(urgency, sweep, tz)
        if escalated is not None:
            events.append((escalated[0], "escalated", None, (escalated[1], step[STEP_ADVISOR])))
        return attempt, sla, reassignments, escalated

    def _first_attempt(self, urgency: str, t: float, tz: str) -> float:
        median, spread = FIRST_ATTEMPT[urgency]
        minutes = median * math.exp(spread * self.rng.gauss())
        if urgency == "critical":
            return round(t + minutes * 60, 3)
        return round(self.clock.add_contact_minutes(t, minutes, tz), 3)

    def _later(self, t: float, median_minutes: float, spread: float, tz: str) -> float:
        """An advisor's next step on the lead, in working (contact-window) minutes."""
        minutes = median_minutes * math.exp(spread * self.rng.gauss())
        return round(self.clock.add_contact_minutes(t, minutes, tz), 3)

    def _work(self, lead, steps, attempt_at, events, statuses, follow_ups):
        """Call-back attempts until someone is reached, the number is wrong, or they give up."""
        rng, tz = self.rng, lead["tz"]
        owner = steps[-1][STEP_ADVISOR]
        t = attempt_at
        tries = rng.choice((2, 2, 3, 3, 4))
        first = True
        for n in range(tries):
            reach = 0.5 if first and lead["source"] in ("voicemail", "call") else (0.46 if first else 0.3)
            outcome = "reached" if rng.random() < reach else self._pick_miss(rng)
            events.append((t, "contact_attempt", owner, outcome))
            if first:
                self._complete_callback(follow_ups, t, owner, events)
                first = False
            if outcome == "reached":
                self._pipeline(lead, steps, t, events, statuses, follow_ups, owner)
                return None
            if outcome == "wrong_number":
                self._close(lead, steps, t, "wrong_number", owner, statuses, follow_ups)
                return None
            if outcome == "asked_not_to_be_contacted":
                if lead["phone"]:
                    self.dnc_phones.add(lead["phone"])
                events.append((t, "opted_out", owner, None))
                self._cancel_follow_ups(follow_ups, t)
                self._close(
                    lead, steps, t + rng.uniform(60, 600), "not_interested", owner, statuses, follow_ups
                )
                return t
            if n + 1 < tries:
                due = self._later(t, *RETRY_GAP, tz)
                follow_up_id = next(self.follow_up_ids)
                follow_ups.append([follow_up_id, "follow_up", t, due, "open", None, owner, owner])
                events.append((t, "follow_up_scheduled", owner, (follow_up_id, due)))
                events.append((due, "follow_up_completed", owner, follow_up_id))
                self._complete(follow_ups[-1], due)
                t = due
        self._close(
            lead, steps, self._later(t, *GIVE_UP_AFTER, tz), "unreachable", owner, statuses, follow_ups
        )
        return None

    def _pipeline(self, lead, steps, t, events, statuses, follow_ups, actor):
        """From the first conversation to referred, admitted or closed (actor: who reached them)."""
        rng, tz = self.rng, lead["tz"]
        owner = steps[-1][STEP_ADVISOR]
        statuses.append((t, "contacted", None, actor))
        if rng.random() < 0.65:
            events.append((t + rng.uniform(60, 400), "note", owner, "contact"))
        path = rng.random()
        if path < 0.30:
            self._close(
                lead,
                steps,
                self._later(t, *CLOSE_AFTER_CONTACT, tz),
                self._pick_close(rng),
                owner,
                statuses,
                follow_ups,
            )
            return None
        if path < 0.38:
            self._release(
                lead, steps, self._later(t, *REFER_AFTER_CONTACT, tz), "referred", owner, statuses, follow_ups
            )
            return None
        assessed = self._later(t, *ASSESS_AFTER_CONTACT, tz)
        statuses.append((assessed, "assessment", None, owner))
        if rng.random() < 0.5:
            events.append((assessed + rng.uniform(120, 1800), "note", owner, "assessment"))
        final = self._later(assessed, *DECIDE_AFTER_ASSESSMENT, tz)
        roll = rng.random()
        if roll < 0.30:
            self._release(lead, steps, final, "referred", owner, statuses, follow_ups)
        elif roll < 0.75:
            self._release(lead, steps, final, "admitted", owner, statuses, follow_ups)
            if rng.random() < 0.15:
                due = final + rng.uniform(7, 14) * DAY
                follow_up_id = next(self.follow_up_ids)
                follow_ups.append([follow_up_id, "follow_up", final, due, "open", None, owner, owner])
                events.append((final, "follow_up_scheduled", owner, (follow_up_id, due)))
                done = due + rng.uniform(0, 2) * DAY
                events.append((done, "follow_up_completed", owner, follow_up_id))
                self._complete(follow_ups[-1], done)
        else:
            reason = self._pick_close(rng)
            self._close(lead, steps, final, reason, owner, statuses, follow_ups)

    def _close(self, lead, steps, t, reason, owner, statuses, follow_ups):
        self._release(lead, steps, t, "closed", owner, statuses, follow_ups, reason)

    def _release(self, lead, steps, t, status, owner, statuses, follow_ups, reason=None):
        """change_status out of the open pipeline: the assignment ends, open follow-ups are cancelled."""
        statuses.append((t, status, reason, owner))
        step = steps[-1]
        if step[STEP_END] == INF and step[STEP_T] <= self.now:
            self._end(step, t, f"status {status}")
        self._cancel_follow_ups(follow_ups, t)

    def _cancel_follow_ups(self, follow_ups, t):
        for follow_up in follow_ups:
            if follow_up[FU_STATUS] == "open" and follow_up[FU_CREATED] <= t and follow_up[FU_DONE] is None:
                follow_up[FU_STATUS], follow_up[FU_DONE] = "cancelled", t

    def _complete(self, follow_up, t):
        if follow_up[FU_STATUS] == "open" and follow_up[FU_DONE] is None:
            follow_up[FU_STATUS], follow_up[FU_DONE] = "done", t

    def _complete_callback(self, follow_ups, t, owner, events):
        for follow_up in follow_ups:
            if follow_up[FU_KIND] == "callback" and follow_up[FU_DONE] is None:
                self._complete(follow_up, t)
                events.append((t, "follow_up_completed", owner, follow_up[FU_ID]))

    # --- what is true at `now` -----------------------------------------------------------

    def _cut_at_now(self, lead: dict) -> None:
        """Drop what has not happened yet; a step still running at `now` stays current."""
        now = self.now
        if lead["created"] < now - SETTLED_AFTER:
            self._settle(lead)  # its whole story is in the past (checked: nothing after now())
            return
        steps = lead["steps"]  # routing never plans past `now`, so every step has happened
        for step in steps:
            if step[STEP_END] > now:
                step[STEP_END], step[STEP_END_REASON] = None, None
        lead["events"] = [e for e in lead["events"] if e[0] <= now]
        lead["statuses"] = [s for s in lead["statuses"] if s[0] <= now]
        follow_ups = []
        for follow_up in lead["follow_ups"]:
            if follow_up[FU_CREATED] > now:
                continue
            if follow_up[FU_DONE] is not None and follow_up[FU_DONE] > now:
                follow_up[FU_STATUS], follow_up[FU_DONE] = "open", None
            follow_ups.append(follow_up)
        lead["follow_ups"] = follow_ups
        if lead["first_contact"] is not None and lead["first_contact"] > now:
            lead["first_contact"] = None
        if lead["escalated"] is not None and lead["escalated"][0] > now:
            lead["escalated"] = None
        if lead["dnc_at"] is not None and lead["dnc_at"] > now:
            lead["dnc_at"] = None
        call = lead["call"]
        if call is not None and call.get("end", INF) > now:
            # Still on the line: nothing from the end of the call has happened yet.
            call["in_progress"] = True
            if call["kind"] == "voicemail":
                lead["source"] = "call"
                self._set_template(lead, "missed" if call["missed"] <= now else "answered", lead["template"])
                if lead["sla"] is not None and not lead["reassignments"]:
                    lead["sla"] = self.clock.sla_due(lead["urgency"], lead["created"], lead["tz"])
        self._settle(lead)

    def _settle(self, lead: dict) -> None:
        """The lead row's status, owner and timestamps after everything up to `now`."""
        status, owner, assigned_at, queued_at, routed_at = "new", None, None, None, None
        closed_reason = None
        # Routing (queue, assign, SLA reassignment) is over before the first contact, which
        # starts the status moves, so the two lists apply one after the other.
        for step in lead["steps"]:
            t = step[STEP_T]
            routed_at = routed_at or t
            if step[STEP_OUTCOME] == "queued":
                if status != "queued":
                    status, queued_at = "queued", t
            else:
                owner, assigned_at = step[STEP_ADVISOR], t
                if step[STEP_TRIGGER] != "manual":  # reassign_lead leaves queued_at alone
                    queued_at = None
                if status in ("new", "queued"):
                    status = "assigned"
        if lead["statuses"]:
            status, closed_reason = lead["statuses"][-1][1], lead["statuses"][-1][2]
        lead.update(
            status=status,
            is_open=status in OPEN,
            closed_reason=closed_reason if status == "closed" else None,
            owner=owner,
            assigned_at=assigned_at,
            queued_at=queued_at,
            routed_at=routed_at,
        )
        if owner is None:
            lead["sla"] = None


# Step fields: [t, outcome, advisor, rule, trigger, kind, facts, decision_id, assignment_id,
#               end, end reason, actor]
STEP_T, STEP_OUTCOME, STEP_ADVISOR, STEP_RULE, STEP_TRIGGER, STEP_KIND, STEP_FACTS = range(7)
STEP_DECISION, STEP_ASSIGNMENT, STEP_END, STEP_END_REASON, STEP_ACTOR = range(7, 12)
# Follow-up fields: [id, kind, created, due, status, done, advisor, created by (advisor index or "routing")]
FU_ID, FU_KIND, FU_CREATED, FU_DUE, FU_STATUS, FU_DONE, FU_ADVISOR, FU_BY = range(8)
