"""The fixed cast of the generated year: places, phone numbers, advisors and scored lead templates.

Everything here is built once in the main process before the workers fork. Urgency,
severity and region come from the app's own functions (score_urgency, severity_for,
state_for_phone, state_for_zip, parse_phone), so the generated rows hold what intake
would have stored; only the choice of inputs is random.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import random
from dataclasses import dataclass, field, replace

from leadrouter.intake.consent import consent_text
from leadrouter.models.lead import SUBSTANCES as ALL_SUBSTANCES
from leadrouter.models.lead import URGENCY_RANK
from leadrouter.routing.phone import parse_phone
from leadrouter.routing.region import state_for_phone, state_for_zip
from leadrouter.routing.severity import DSM_CRITERIA, severity_for
from leadrouter.routing.timezones import STATE_TIMEZONES
from leadrouter.routing.urgency import Urgency, UrgencySignals, raise_only, score_urgency

HELPLINE_NUMBER = "+18005550100"
OPERATOR = "Leadrouter Demo Helpline"
BENCH_PASSWORD = "bench-password-2026"

# 2023 population in millions: leads arrive roughly where people live.
STATE_WEIGHTS = {
    "CA": 39.0, "TX": 30.5, "FL": 22.6, "NY": 19.6, "PA": 13.0, "IL": 12.5, "OH": 11.8,
    "GA": 11.0, "NC": 10.8, "MI": 10.0, "NJ": 9.3, "VA": 8.7, "WA": 7.8, "AZ": 7.4, "TN": 7.1,
    "MA": 7.0, "IN": 6.9, "MO": 6.2, "MD": 6.2, "WI": 5.9, "CO": 5.9, "MN": 5.7, "SC": 5.4,
    "AL": 5.1, "LA": 4.6, "KY": 4.5, "OR": 4.2, "OK": 4.1, "CT": 3.6, "UT": 3.4, "IA": 3.2,
    "NV": 3.2, "AR": 3.1, "MS": 2.9, "KS": 2.9, "NM": 2.1, "NE": 2.0, "ID": 2.0, "WV": 1.8,
    "HI": 1.4, "NH": 1.4, "ME": 1.4, "MT": 1.1, "RI": 1.1, "DE": 1.0, "SD": 0.9, "ND": 0.8,
    "AK": 0.7, "DC": 0.7, "VT": 0.6, "WY": 0.6,
}  # fmt: skip
# States with their own advisors; the rest are served by the national pool.
COVERED_STATES = sorted(STATE_WEIGHTS, key=STATE_WEIGHTS.get, reverse=True)[:30]
SPANISH_STATES = {
    "CA": 0.22,
    "TX": 0.22,
    "FL": 0.16,
    "NM": 0.2,
    "AZ": 0.16,
    "NV": 0.14,
    "NY": 0.11,
    "NJ": 0.1,
}
CITIES = {
    "CA": ["Los Angeles", "San Diego", "Sacramento", "Fresno"],
    "TX": ["Houston", "Dallas", "Austin", "El Paso"],
    "FL": ["Miami", "Orlando", "Tampa", "Jacksonville"], "NY": ["New York", "Buffalo", "Rochester"],
    "PA": ["Philadelphia", "Pittsburgh", "Allentown"], "IL": ["Chicago", "Springfield", "Rockford"],
    "OH": ["Columbus", "Cleveland", "Cincinnati", "Dayton"], "GA": ["Atlanta", "Savannah", "Macon"],
    "NC": ["Charlotte", "Raleigh", "Greensboro"], "MI": ["Detroit", "Grand Rapids", "Flint"],
    "NJ": ["Newark", "Jersey City", "Trenton"], "VA": ["Richmond", "Norfolk"], "WA": ["Seattle", "Spokane"],
    "AZ": ["Phoenix", "Tucson", "Mesa"], "TN": ["Nashville", "Memphis", "Knoxville"],
    "MA": ["Boston", "Worcester"], "IN": ["Indianapolis", "Fort Wayne"], "MO": ["St. Louis", "Kansas City"],
    "MD": ["Baltimore"], "WI": ["Milwaukee", "Madison"], "CO": ["Denver", "Colorado Springs"],
    "MN": ["Minneapolis", "Saint Paul"], "SC": ["Columbia", "Charleston"], "AL": ["Birmingham", "Mobile"],
    "LA": ["New Orleans", "Baton Rouge"], "KY": ["Louisville", "Lexington"], "OR": ["Portland", "Eugene"],
    "OK": ["Oklahoma City", "Tulsa"], "CT": ["Hartford", "New Haven"], "UT": ["Salt Lake City"],
    "WV": ["Charleston", "Huntington"], "NM": ["Albuquerque"], "NV": ["Las Vegas", "Reno"],
}  # fmt: skip

# fmt: off
FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Chris", "Karen",
    "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "Jordan", "Taylor",
    "Alex", "Sam", "Casey", "Riley", "Jamie", "Dana", "Maria", "José", "Rosa", "Luis", "Carmen", "Ana",
    "Miguel", "Sofia", "Diego", "Tyler", "Brittany", "Kevin", "Ashley", "Brandon", "Amber", "Justin",
    "Megan", "Aaron", "Kayla", "Tanisha", "Darnell", "Mei", "Hoang", "Priya"
)
# fmt: on
# fmt: off
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez",
    "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen",
    "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell",
    "Carter", "Roberts", "Patel", "Kim", "Chen", "Okafor", "Schmidt", "Novak"
)
# fmt: on

# Every named substance but "other", weighted below.
SUBSTANCES = tuple(s for s in ALL_SUBSTANCES if s != "other")
SUBSTANCE_WEIGHTS = (16, 18, 12, 24, 12, 8, 6)
# (text or None, who it is usually about, weight)
MESSAGES = {
    "en": [
        (None, None, 24),
        ("My son has been using heroin for two years. We want to find a detox program.", "loved_one", 4),
        ("I want to stop using pills but I get so sick when I try. Dope sick every morning.", "self", 4),
        ("Looking for information about inpatient programs and whether insurance covers it.", "self", 6),
        ("I've tried to cut down on fentanyl many times and can't.", "self", 4),
        ("Just some information for now, nothing urgent.", "self", 5),
        ("Can you send me a brochure about your programs?", "loved_one", 3),
        ("Need help for my daughter, she is using meth and won't talk to us.", "loved_one", 4),
        ("I relapsed after 6 months clean. I need to get back into treatment.", "self", 4),
        ("Is there a program that takes Medicaid near me?", "self", 5),
        ("My husband drinks every day and hides bottles. How does treatment work?", "loved_one", 4),
        ("I'm in withdrawal right now and need a detox bed today.", "self", 3),
        ("Do you take Blue Cross? Looking at options for my wife.", "loved_one", 4),
        ("Just looking at options, no rush.", "self", 3),
        ("Need to talk to someone about alcohol and benzos.", "self", 3),
        ("My brother overdosed last night, he is home now but we are scared.", "loved_one", 0.8),
        ("My friend is not breathing right after using, what do I do", "loved_one", 0.25),
        ("I don't want to live like this anymore, I've thought about killing myself.", "self", 0.35),
        ("What does a 30 day program cost without insurance?", "self", 3),
        ("My mom is on oxy and cannot stop, she is willing to go now.", "loved_one", 3),
    ],
    "es": [
        (None, None, 10),
        ("Mi esposo usa heroína y necesitamos ayuda. Está en abstinencia.", "loved_one", 3),
        ("Necesito información sobre desintoxicación.", "self", 4),
        ("Mi hijo toma mucho alcohol, ¿cómo funciona el tratamiento?", "loved_one", 4),
        ("Solo información por ahora.", "self", 3),
        ("¿Aceptan Medicaid?", "self", 3),
        ("Mi hermana tuvo una sobredosis anoche.", "loved_one", 0.4),
    ],
}
SMS_MESSAGES = {
    "en": [
        ("Need help with detox", 5), ("info please", 4), ("How much does rehab cost", 4),
        ("I need help", 6), ("Can someone call me about my son", 4), ("is anyone there? my son OD'd", 0.5),
        ("looking for a bed today, im dope sick", 2), ("Do you take insurance", 3),
    ],
    "es": [("Necesito ayuda", 4), ("Información por favor", 3), ("¿Cuánto cuesta el tratamiento?", 2)],
}  # fmt: skip
# Inbound calls, by what happened on the line (kind, weight).
CALL_KINDS = (
    ("answered", 62),
    ("voicemail", 18),
    ("missed", 8),
    ("abandoned", 9),
    ("emergency", 2.2),
    ("crisis_line", 0.8),
)
CAMPAIGNS = (
    ("google", "cpc", "opioid-detox-search"),
    ("google", "cpc", "alcohol-rehab-search"),
    ("facebook", "social", "family-support"),
    ("bing", "cpc", "detox-near-me"),
    ("newsletter", "email", "recovery-stories"),
)
TRACKING_NUMBERS = (
    ("+18885550142", "opioid-detox-search"),
    ("+18885550156", "alcohol-rehab-search"),
    ("+18885550171", "family-support"),
    ("+18885550188", "radio-spot-spring"),
    ("+18885550199", "billboard-i95"),
)
REFERRERS = (
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://m.facebook.com/",
    "https://duckduckgo.com/",
    None,
)
USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S918U) AppleWebKit/537.36 Chrome/125.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15",
)
PARTNERS = ("Partner: Recovery Directory", "Partner: Insurance Navigator", "Partner: Hospital ED referrals")
MANAGERS = 6
ADMINS = 2
SHIFT_PATTERNS = {
    "day": {d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "late": {d: [["12:00", "21:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "evening": {d: [["14:00", "23:00"]] for d in ("mon", "tue", "wed", "thu", "sun")},
    "weekend": {d: [["08:00", "20:00"]] for d in ("fri", "sat", "sun")} | {"mon": [["08:00", "14:00"]]},
    "night": {d: [["22:00", "07:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "always": None,
}
STATE_SHIFTS = (("day", 40), ("late", 28), ("evening", 16), ("weekend", 16))
POOL_SHIFTS = (("night", 40), ("evening", 20), ("weekend", 16), ("day", 8), ("late", 8), ("always", 8))
POOL_TIMEZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Phoenix",
)


class Picker:
    """Weighted choice in O(log n) from a precomputed cumulative table."""

    def __init__(self, pairs):
        pairs = list(pairs)
        self.items = [item for item, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]

    def __call__(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


@dataclass(frozen=True)
class Template:
    """One scored combination of what a person said and ticked, as intake stores it."""

    for_whom: str
    message: str | None
    substances: str  # JSON
    dsm_criteria: str  # JSON
    severity: str
    urgency: str
    urgency_rank: int
    urgency_score: int
    urgency_reasons: str  # JSON
    emergency: bool
    created_urgency: str  # what the "created" event saw (calls are re-scored during the call)


@dataclass
class Advisor:
    id: int
    user_id: int
    name: str
    email: str
    phone: str | None
    regions: list[str]
    languages: list[str]
    capacity: int
    timezone: str
    shift: str
    shift_hours: dict | None
    active: bool
    hired_at: float
    left_at: float
    created_at: float


@dataclass
class World:
    advisors: list[Advisor]
    area_codes: dict[str, list[tuple[str, str]]]  # state -> [(area code, phone time zone)]
    zip_prefixes: dict[str, list[str]]
    templates: dict[tuple[str, str], list[Template]]  # (kind, language) -> templates
    consent_texts: dict[str, str]
    password_hash: str
    api_key_ids: list[int] = field(default_factory=list)
    manager_user_ids: list[int] = field(default_factory=list)

    def zones(self) -> list[str]:
        zones = {tz for codes in self.area_codes.values() for _, tz in codes}
        zones |= set(STATE_TIMEZONES.values()) | {a.timezone for a in self.advisors} | {"America/New_York"}
        return sorted(zones)


def build_world(rng: random.Random, advisor_count: int, start: float, now: float) -> World:
    """Make the places, templates and team; deterministic for a given rng state."""
    from argon2 import PasswordHasher

    area_codes = _area_codes()
    world = World(
        advisors=_advisors(rng, advisor_count, area_codes, start, now),
        area_codes=area_codes,
        zip_prefixes=_zip_prefixes(),
        templates=_templates(rng),
        consent_texts={lang: consent_text(lang, OPERATOR) for lang in ("en", "es")},
        # One argon2 hash for every generated user: hashing 200 passwords would take seconds.
        password_hash=PasswordHasher().hash(BENCH_PASSWORD),
    )
    world.api_key_ids = list(range(1, len(PARTNERS) + 1))
    first_manager = advisor_count + 1
    world.manager_user_ids = list(range(first_manager, first_manager + MANAGERS))
    return world


def _area_codes() -> dict[str, list[tuple[str, str]]]:
    """Geographic area codes per state, with the time zone intake would take from the number."""
    codes: dict[str, list[tuple[str, str]]] = {}
    for area in range(201, 990):
        e164 = f"+1{area}2345678"
        state = state_for_phone(e164)
        if state is None or state not in STATE_WEIGHTS:
            continue
        tz = parse_phone(e164).timezone or STATE_TIMEZONES.get(state, "America/New_York")
        codes.setdefault(state, []).append((str(area), tz))
    missing = set(STATE_WEIGHTS) - set(codes)
    if missing:
        raise SystemExit(f"no area code found for {sorted(missing)}: phonenumbers metadata changed?")
    return codes


def _zip_prefixes() -> dict[str, list[str]]:
    prefixes: dict[str, list[str]] = {}
    for prefix in range(5, 1000):
        state = state_for_zip(f"{prefix:03d}01")
        if state in STATE_WEIGHTS:
            prefixes.setdefault(state, []).append(f"{prefix:03d}")
    return prefixes


def phone_number(area: str, phone_id: int) -> str:
    """A distinct E.164 number per phone_id (< 8,000,000), whatever the area code."""
    subscriber = (phone_id * 2654435761) % 8_000_000 + 2_000_000
    return f"+1{area}{subscriber}"


def _advisors(rng, count: int, area_codes, start: float, now: float) -> list[Advisor]:
    pool_count = max(1, round(count * 0.25))
    state_count = count - pool_count
    total = sum(STATE_WEIGHTS[s] for s in COVERED_STATES)
    # Seats per covered state in proportion to its leads, at least one each when there is room.
    floor = 1 if state_count >= len(COVERED_STATES) else 0
    seats = {s: max(floor, round(state_count * STATE_WEIGHTS[s] / total)) for s in COVERED_STATES}
    order = sorted(COVERED_STATES, key=STATE_WEIGHTS.get, reverse=True)
    while sum(seats.values()) > state_count:
        biggest = max(order, key=lambda s: seats[s])
        seats[biggest] -= 1
    i = 0
    while sum(seats.values()) < state_count:
        seats[order[i % len(order)]] += 1
        i += 1
    homes = [s for s in order for _ in range(seats[s])] + ["*"] * pool_count
    names = rng.sample([f"{f} {last}" for f in FIRST_NAMES for last in LAST_NAMES], count)
    state_shift, pool_shift = Picker(STATE_SHIFTS), Picker(POOL_SHIFTS)
    capacities = (20, 22, 25, 25, 28, 30, 30, 30, 32, 35, 35, 40, 45)
    advisors = []
    for index, home in enumerate(homes):
        advisor_id = index + 1
        if home == "*":
            regions, tz, shift = ["*"], rng.choice(POOL_TIMEZONES), pool_shift(rng)
            spanish = 0.4
        else:
            regions, tz, shift = [home], STATE_TIMEZONES.get(home, "America/New_York"), state_shift(rng)
            if rng.random() < 0.25:
                regions.append(rng.choice([s for s in COVERED_STATES if s != home]))
            spanish = min(0.85, SPANISH_STATES.get(home, 0.03) * 3.5)
        languages = ["en", "es"] if rng.random() < spanish else ["en"]
        if rng.random() < 0.02:
            languages.append(rng.choice(["vi", "zh", "ru", "ht"]))
        # Most of the team predates the year; some joined during it, a few have left.
        hired_at = (
            start - rng.uniform(30, 900) * 86400
            if rng.random() < 0.9
            else rng.uniform(start, now - 30 * 86400)
        )
        left_at = float("inf")
        active = True
        if rng.random() < 0.02:
            active, left_at = False, rng.uniform(max(hired_at, start) + 60 * 86400, now - 45 * 86400)
        area = rng.choice(area_codes.get(home, area_codes["NY"]))[0]
        advisors.append(
            Advisor(
                id=advisor_id,
                user_id=advisor_id,
                name=names[index],
                email=f"advisor{advisor_id:03d}@bench.leadrouter.test",
                phone=phone_number(area, 7_000_000 + advisor_id) if rng.random() < 0.88 else None,
                regions=regions,
                languages=languages,
                capacity=rng.choice(capacities) + (5 if home == "*" else 0),
                timezone=tz,
                shift=shift,
                shift_hours=SHIFT_PATTERNS[shift],
                active=active,
                hired_at=hired_at,
                left_at=left_at,
                created_at=hired_at,
            )
        )
    return advisors


# --- lead templates -------------------------------------------------------------------------


def _dump(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _template(signals: UrgencySignals, message, for_whom, substances, criteria, previous=None) -> Template:
    urgency = score_urgency(signals)
    created_urgency = urgency.level
    if previous is not None:
        created_urgency = previous.level
        urgency = raise_only(
            {
                "level": previous.level,
                "score": previous.score,
                "reasons": previous.reasons,
                "emergency": previous.emergency,
            },
            urgency,
        )
    return Template(
        for_whom=for_whom,
        message=message,
        substances=_dump(sorted(set(substances))),
        dsm_criteria=_dump(sorted(set(criteria))),
        severity=severity_for(criteria),
        urgency=urgency.level,
        urgency_rank=URGENCY_RANK[urgency.level],
        urgency_score=urgency.score,
        urgency_reasons=_dump(list(urgency.reasons)),
        emergency=urgency.emergency,
        created_urgency=created_urgency,
    )


def _templates(rng: random.Random) -> dict[tuple[str, str], list[Template]]:
    """Score a few hundred realistic inputs per channel with the app's own urgency rules."""
    templates: dict[tuple[str, str], list[Template]] = {}
    substance = Picker(zip(SUBSTANCES, SUBSTANCE_WEIGHTS, strict=True))
    criteria_count = Picker(
        [(0, 46), (2, 10), (3, 10), (4, 8), (5, 8), (6, 6), (7, 5), (8, 3), (9, 2), (11, 2)]
    )
    for lang in ("en", "es"):
        message = Picker((m[:2], m[2]) for m in MESSAGES[lang])
        for source, count in (("web_form", 500), ("api", 300)):
            rows = []
            for _ in range(count):
                text, about = message(rng)
                for_whom = about or ("loved_one" if rng.random() < 0.45 else "self")
                chosen = sorted({substance(rng) for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))})
                if rng.random() < 0.12:
                    chosen = []
                criteria = (
                    sorted(rng.sample(DSM_CRITERIA, criteria_count(rng))) if source == "web_form" else []
                )
                if source == "api" and rng.random() < 0.35:
                    criteria = sorted(rng.sample(DSM_CRITERIA, rng.randint(2, 9)))
                if text and score_urgency(UrgencySignals(texts=[text])).level == "low" and rng.random() < 0.8:
                    # People who only want a brochure rarely fill in the checklist.
                    criteria = []
                    chosen = [s for s in chosen if s not in ("heroin", "fentanyl")]
                signals = UrgencySignals(
                    texts=[text] if text else [],
                    severity=severity_for(criteria),
                    dsm_criteria=frozenset(criteria),
                    substances=frozenset(chosen),
                    source=source,
                    for_whom=for_whom,
                )
                rows.append(_template(signals, text, for_whom, chosen, criteria))
            templates[(source, lang)] = rows
        sms = Picker(SMS_MESSAGES[lang])
        rows = []
        for _ in range(120):
            text = sms(rng)
            signals = UrgencySignals(texts=[text], source="sms")
            rows.append(_template(signals, text, "self", [], []))
        templates[("sms", lang)] = rows
        for kind, _ in CALL_KINDS:
            rows = []
            for for_whom in ("self", "loved_one"):
                base = score_urgency(UrgencySignals(source="call", for_whom=for_whom))
                signals = {
                    "answered": UrgencySignals(source="call", for_whom=for_whom),
                    "missed": UrgencySignals(source="call", for_whom=for_whom, missed_call=True),
                    "abandoned": UrgencySignals(source="call", for_whom=for_whom, abandoned_call=True),
                    "emergency": UrgencySignals(source="call", for_whom=for_whom, emergency_pressed=True),
                    "crisis_line": UrgencySignals(source="call", for_whom=for_whom, emergency_pressed=True),
                    "voicemail": UrgencySignals(source="call", for_whom=for_whom, missed_call=True),
                }[kind]
                template = _template(signals, None, for_whom, [], [], previous=base)
                if kind == "voicemail":  # record_voicemail re-scores once more as a voicemail
                    again = UrgencySignals(source="voicemail", for_whom=for_whom)
                    template = _template(again, None, for_whom, [], [], previous=_as_urgency(template))
                    template = _replace_created(template, base.level)
                rows.append(template)
            templates[(kind, lang)] = rows
    return templates


def _as_urgency(template: Template) -> Urgency:
    return Urgency(
        template.urgency,
        template.urgency_score,
        tuple(json.loads(template.urgency_reasons)),
        template.emergency,
    )


def _replace_created(template: Template, level: str) -> Template:
    return replace(template, created_urgency=level)


def stable_hex(*parts, length: int = 32) -> str:
    """Deterministic hex for Twilio-style ids and key hashes."""
    return hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=length // 2).hexdigest()
