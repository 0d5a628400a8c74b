"""Demo data: a helpline team and a month of realistic leads, made by the real operations.

Leads are recorded through intake and routed by the engine at the moment they "arrived",
so every trace, timeline and report is what the product itself would have produced.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import func, select

from leadrouter.assignment import operations
from leadrouter.auth.users import create_user
from leadrouter.extensions import db
from leadrouter.intake.operations import ConsentInput, LeadInput, record_lead
from leadrouter.leads.timeline import add_event
from leadrouter.models import Advisor, Call, CallOffer, Lead, Recording, TrackingNumber, User, utcnow
from leadrouter.models.lead import SUBSTANCES
from leadrouter.pipeline import operations as pipeline
from leadrouter.routing.hours import next_contact_time
from leadrouter.routing.severity import DSM_CRITERIA
from leadrouter.routing.vocabulary import DEFAULT_TIMEZONE, WEEKDAYS

DEMO_PASSWORD = "helpline-demo"
MANAGERS = [
    ("Morgan Reyes", "morgan@demo.leadrouter.org"),
    ("Priya Shah", "priya@demo.leadrouter.org"),
]
# name, email, regions, languages, capacity, timezone
ADVISORS = [
    ("Ana Torres", "ana@demo.leadrouter.org", ["TX"], ["en", "es"], 12, "America/Chicago"),
    ("Ben Carter", "ben@demo.leadrouter.org", ["TX", "OK"], ["en"], 10, "America/Chicago"),
    ("Camila Ruiz", "camila@demo.leadrouter.org", ["CA"], ["en", "es"], 12, "America/Los_Angeles"),
    ("Derek Olsen", "derek@demo.leadrouter.org", ["CA", "NV"], ["en"], 10, "America/Los_Angeles"),
    ("Erin Walsh", "erin@demo.leadrouter.org", ["FL"], ["en"], 10, "America/New_York"),
    (
        "Felix Moreno",
        "felix@demo.leadrouter.org",
        ["FL", "GA"],
        ["en", "es"],
        10,
        "America/New_York",
    ),
    ("Grace Kim", "grace@demo.leadrouter.org", ["OH"], ["en"], 8, "America/New_York"),
    ("Hank Miller", "hank@demo.leadrouter.org", ["OH", "KY", "WV"], ["en"], 10, "America/New_York"),
    ("Iris Chen", "iris@demo.leadrouter.org", ["PA"], ["en"], 10, "America/New_York"),
    ("Jamal Brooks", "jamal@demo.leadrouter.org", ["PA", "NJ"], ["en"], 10, "America/New_York"),
    ("Kara Lewis", "kara@demo.leadrouter.org", ["AZ"], ["en", "es"], 8, "America/Phoenix"),
    ("Luis Ortega", "luis@demo.leadrouter.org", ["NY"], ["en", "es"], 10, "America/New_York"),
    ("Maya Patel", "maya@demo.leadrouter.org", ["*"], ["en"], 15, "America/Chicago"),
    ("Noah Fischer", "noah@demo.leadrouter.org", ["*"], ["en"], 15, "America/Denver"),
    ("Olivia Santos", "olivia@demo.leadrouter.org", ["*"], ["en", "es"], 15, "America/New_York"),
]
_WEEKDAYS_ONLY, _EVERY_DAY = ("mon", "tue", "wed", "thu", "fri"), WEEKDAYS
_EARLY, _LATE, _NIGHT = ("07:00", "15:00"), ("15:00", "23:00"), ("23:00", "07:00")
# Per advisor above, in their own zone: state advisors alternate early and late shifts on
# weekdays; the national pool covers every day and the night.
ROTA = [
    *[(_WEEKDAYS_ONLY, _EARLY if n % 2 == 0 else _LATE) for n in range(12)],
    (_EVERY_DAY, _EARLY),
    (_EVERY_DAY, _NIGHT),
    (_EVERY_DAY, _LATE),
]
CURRENT_STATUSES = [
    "available",
    "available",
    "busy",
    "available",
    "available",
    "offline",
    "available",
    "available",
    "busy",
    "available",
    "available",
    "offline",
    "available",
    "available",
    "offline",
]
DEMO_LOGINS = [
    (MANAGERS[0][1], DEMO_PASSWORD, "manager"),
    (MANAGERS[1][1], DEMO_PASSWORD, "manager"),
    (ADVISORS[0][1], DEMO_PASSWORD, "advisor"),
    (ADVISORS[12][1], DEMO_PASSWORD, "advisor"),
]
FIRST_NAMES = [
    "Jordan",
    "Taylor",
    "Alex",
    "Sam",
    "Chris",
    "Pat",
    "Jamie",
    "Casey",
    "Riley",
    "Drew",
    "Maria",
    "José",
    "Linda",
    "Robert",
    "Ashley",
    "Tyler",
    "Brittany",
    "Kevin",
    "Rosa",
    "Dana",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Garcia",
    "Brown",
    "Davis",
    "Martinez",
    "Lopez",
    "Wilson",
    "Clark",
    "Young",
    "Hall",
    "Allen",
    "King",
    "Wright",
    "Hernandez",
    "Nguyen",
    "Baker",
    "Adams",
]
# area code -> city, state; real geographic area codes so region-by-area-code works
PLACES = [
    ("512", "Austin", "TX"),
    ("713", "Houston", "TX"),
    ("214", "Dallas", "TX"),
    ("213", "Los Angeles", "CA"),
    ("619", "San Diego", "CA"),
    ("305", "Miami", "FL"),
    ("407", "Orlando", "FL"),
    ("614", "Columbus", "OH"),
    ("216", "Cleveland", "OH"),
    ("215", "Philadelphia", "PA"),
    ("412", "Pittsburgh", "PA"),
    ("602", "Phoenix", "AZ"),
    ("718", "New York", "NY"),
    ("303", "Denver", "CO"),
    ("317", "Indianapolis", "IN"),
    ("615", "Nashville", "TN"),
    ("206", "Seattle", "WA"),
    ("404", "Atlanta", "GA"),
]
MESSAGES = [
    ("My son has been using heroin for two years. We want to find a detox program.", "loved_one"),
    ("I want to stop using pills but I get so sick when I try. Dope sick every morning.", "self"),
    ("Looking for information about inpatient programs and whether insurance covers it.", "self"),
    ("My brother overdosed last night, he is home now but we are scared.", "loved_one"),
    ("I've tried to cut down on fentanyl many times and can't.", "self"),
    ("Just some information for now, nothing urgent.", "self"),
    ("Can you send me a brochure about your programs?", "loved_one"),
    ("Mi esposo usa heroína y necesitamos ayuda. Está en abstinencia.", "loved_one"),
    ("Need help for my daughter, she is using meth and won't talk to us.", "loved_one"),
    ("I relapsed after 6 months clean. I need to get back into treatment.", "self"),
    ("Is there a program that takes Medicaid near me?", "self"),
    ("My husband drinks every day and hides bottles. How does treatment work?", "loved_one"),
    ("", "self"),
]
SOURCES = [("web_form", 45), ("call", 25), ("voicemail", 10), ("sms", 8), ("api", 12)]
CAMPAIGNS = ["heroin-detox-search", "opioid-help-social", "family-support-radio", None]
CONSENT_TEXT = (
    "I agree that the helpline may call or text me at the number I gave about treatment "
    "options. Consent is not a condition of any service; reply STOP to opt out."
)


def seed_demo(lead_count: int = 300, force: bool = False, seed: int = 7) -> str:
    """Create the demo team and leads; refuse to touch a database that already has users."""
    if not force and db.session.scalar(select(func.count(User.id))):
        return "the database already has users; demo data not added (use --force to add anyway)"
    rng = random.Random(seed)
    for name, email in MANAGERS:
        create_user(email, DEMO_PASSWORD, "manager", name)
    advisors = [_create_advisor(rng, *row) for row in ADVISORS]
    db.session.add_all(
        [
            TrackingNumber(number="+18885550142", campaign="heroin-detox-search"),
            TrackingNumber(number="+18885550199", campaign="family-support-radio"),
        ]
    )
    now = utcnow()
    arrivals = sorted(now - timedelta(minutes=rng.uniform(5, 30 * 24 * 60)) for _ in range(lead_count))
    for index, created_at in enumerate(arrivals):
        _demo_lead(rng, index, created_at, now, route_now=index >= lead_count - 3)
        if index % 50 == 0:
            db.session.flush()
    # The team as it is right now: most on shift, a few away.
    for advisor, status in zip(advisors, CURRENT_STATUSES, strict=True):
        advisor.status = status
    db.session.flush()
    _spanish_leads_waiting_for_a_speaker(rng, now)
    # The rota from now on (the history above was routed before anyone kept one), so the
    # staffing forecast has scheduled hours to set against the calls.
    for advisor, shift in zip(advisors, ROTA, strict=True):
        advisor.shift_hours = {day: [list(shift[1])] for day in shift[0]}
    leads = db.session.scalar(select(func.count(Lead.id)))
    return f"demo data: {len(MANAGERS)} managers, {len(advisors)} advisors, {leads} leads"


def _spanish_leads_waiting_for_a_speaker(rng, now) -> None:
    """Ohio has no Spanish-speaking advisor and the pool's (Olivia) is offline: these wait."""
    for minutes_ago in (25, 9):
        created_at = now - timedelta(minutes=minutes_ago)
        data = LeadInput(
            source="web_form",
            name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            phone=f"+1614{rng.randint(2000000, 9999999)}",
            state="OH",
            language="es",
            substances=("heroin",),
            message="Necesito información sobre desintoxicación.",
            consent=ConsentInput(True, CONSENT_TEXT, "2026-01"),
            occurred_at=created_at,
        )
        lead = record_lead(data, actor="demo:web_form", route=False).lead
        operations.route_lead(lead.id, now=created_at + timedelta(seconds=1), notify=False)


def _create_advisor(rng, name, email, regions, languages, capacity, timezone) -> Advisor:
    user = create_user(
        email,
        DEMO_PASSWORD,
        "advisor",
        name,
        regions=regions,
        languages=languages,
        capacity=capacity,
        timezone=timezone,
        status="available",
        phone=f"+1512206{rng.randint(1000, 9999)}",
    )
    return user.advisor


def _demo_lead(rng, index: int, created_at, now, route_now: bool) -> None:
    source = rng.choices([s for s, _ in SOURCES], [w for _, w in SOURCES])[0]
    area, city, state = rng.choice(PLACES)
    message, for_whom = rng.choice(MESSAGES)
    give_state = source in ("web_form", "api") and rng.random() < 0.8
    criteria = rng.sample(DSM_CRITERIA, rng.choice([0, 0, 2, 3, 4, 5, 6, 7, 9]))
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    data = LeadInput(
        source=source,
        name=name if source in ("web_form", "api", "voicemail") else None,
        phone=f"+1{area}{rng.randint(2000000, 9999999)}",
        email=f"demo{index}@example.com" if source in ("web_form", "api") and rng.random() < 0.6 else None,
        for_whom=for_whom,
        patient_name=f"{rng.choice(FIRST_NAMES)} (family)" if for_whom == "loved_one" else None,
        state=state if give_state else None,
        city=city if give_state else None,
        substances=tuple(rng.sample(SUBSTANCES[:-1], rng.randint(1, 2))),
        dsm_criteria=tuple(criteria) if source in ("web_form", "api") else (),
        message=message or None,
        language="es" if "ú" in message or "Está" in message else "en",
        consent=ConsentInput(
            True,
            CONSENT_TEXT,
            "2026-01",
            "203.0.113.7",
            "Mozilla/5.0 (demo)",
            f"https://helpline.example.org/help/{state.lower()}",
        )
        if source in ("web_form", "api") and rng.random() < 0.9
        else None,
        utm={"source": "google", "medium": "cpc", "campaign": c} if (c := rng.choice(CAMPAIGNS)) else {},
        page_url=f"https://helpline.example.org/help/{state.lower()}" if source == "web_form" else None,
        missed_call=source == "voicemail",
        occurred_at=created_at,
    )
    if route_now:
        # The newest few are left for the live worker to route when the helpline starts.
        record_lead(replace(data, occurred_at=now), actor=f"demo:{source}")
        return
    lead = record_lead(data, actor=f"demo:{source}", route=False).lead
    if source in ("call", "voicemail"):
        _demo_call(rng, lead, source, created_at)
    operations.route_lead(
        lead.id,
        trigger="intake",
        now=created_at + timedelta(seconds=rng.uniform(0.2, 3)),
        notify=False,
    )
    _work_the_lead(rng, lead, created_at, now)


def _demo_call(rng, lead: Lead, source: str, created_at) -> None:
    call = Call(
        call_sid=f"CAdemo{lead.id:026d}",
        lead_id=lead.id,
        to_number="+18005550100",
        status="completed",
        for_whom=lead.for_whom,
        menu_choice="1" if lead.for_whom == "self" else "2",
        outcome="voicemail" if source == "voicemail" else "answered",
        duration_seconds=rng.randint(40, 900),
        started_at=created_at,
        # 4-27 s to answer, so the report's service level within 20 s is not a flat 100 %.
        answered_at=None if source == "voicemail" else created_at + timedelta(seconds=4 + lead.id * 7 % 24),
        ended_at=created_at + timedelta(minutes=rng.randint(1, 15)),
    )
    db.session.add(call)
    db.session.flush()
    if call.answered_at is not None:
        _demo_offers(call, lead.id)
    if source == "voicemail":
        db.session.add(
            Recording(
                recording_sid=f"REdemo{lead.id:026d}",
                call_id=call.id,
                kind="voicemail",
                duration_seconds=rng.randint(15, 120),
                url=f"https://api.twilio.com/2010-04-01/Accounts/ACdemo/Recordings/REdemo{lead.id}",
            )
        )
    add_event(
        lead,
        "voicemail" if source == "voicemail" else "call",
        "twilio",
        {"call_id": call.id, "outcome": call.outcome},
        at=created_at,
    )


def _demo_offers(call: Call, lead_id: int) -> None:
    """The advisor rung for an answered demo call, who answered it.

    Chosen from the lead's id rather than the seed's random numbers, so every other seeded value
    stays what it was. No missed rings: the live line counts an advisor's recent misses (two in a
    row set them away), and a seeded miss would count against a demo advisor's first live call.
    """
    advisors = db.session.scalars(select(Advisor).order_by(Advisor.id)).all()
    if not advisors:
        return
    answerer = advisors[lead_id % len(advisors)]
    db.session.add(
        CallOffer(
            call_id=call.id,
            advisor_id=answerer.id,
            rang_at=call.started_at,
            ended_at=call.answered_at,
            ring_seconds=int((call.answered_at - call.started_at).total_seconds()),
            outcome="answered",
        )
    )
    call.advisor_id = answerer.id


def _work_the_lead(rng, lead: Lead, created_at, now) -> None:
    """Play out what advisors did with the lead, leaving recent leads still open."""
    if lead.owner_id is None:
        return
    actor = f"advisor:{lead.owner_id}"
    age = now - created_at
    first_touch = created_at + timedelta(minutes=rng.choice([1, 2, 4, 7, 12, 20, 35, 50, 90, 240]))
    if age < timedelta(hours=2) and rng.random() < 0.6 or first_touch >= now:
        return
    outcome = rng.choices(["reached", "no_answer", "voicemail_left", "wrong_number"], [6, 2, 2, 0.3])[0]
    pipeline.log_contact_attempt(lead, outcome, actor, now=first_touch)
    if outcome != "reached":
        if outcome == "wrong_number":
            pipeline.change_status(lead, "closed", actor, "wrong_number", now=first_touch)
        elif age > timedelta(days=5):
            pipeline.change_status(lead, "closed", actor, "unreachable", now=first_touch + timedelta(days=3))
        elif rng.random() < 0.5:
            tomorrow = _in_calling_hours(lead, first_touch + timedelta(days=1))
            pipeline.schedule_follow_up(lead, tomorrow, actor, "Try again tomorrow", now=first_touch)
        return
    pipeline.add_note(
        lead,
        rng.choice(
            [
                "Talked through options.",
                "Wants to discuss with family first.",
                "Asked about detox length and cost.",
            ]
        ),
        actor,
        now=first_touch,
    )
    step = first_touch + timedelta(hours=rng.randint(2, 48))
    if step >= now:
        return
    settled = age > timedelta(days=9)
    weights = [0.3, 0.5, 3, 2, 4] if settled else [5, 4, 1, 1, 1]
    final = rng.choices(["contacted", "assessment", "referred", "admitted", "closed"], weights)[0]
    if final in ("contacted", "assessment"):
        if final == "assessment":
            pipeline.change_status(lead, "assessment", actor, now=step)
        next_call = _in_calling_hours(lead, now + timedelta(hours=rng.randint(2, 60)))
        pipeline.schedule_follow_up(lead, next_call, actor, "Check in after they talk it over", now=step)
        return
    if final == "closed":
        reason = rng.choice(["not_interested", "unreachable", "declined_treatment", "no_coverage"])
        pipeline.change_status(lead, "closed", actor, reason, now=step)
        return
    pipeline.change_status(lead, "assessment", actor, now=step)
    pipeline.change_status(lead, final, actor, now=step + timedelta(hours=rng.randint(1, 72)))


def _in_calling_hours(lead: Lead, moment: datetime) -> datetime:
    """The demo's advisors plan calls when the person may be called (08:00-21:00 their time)."""
    return next_contact_time(moment, lead.timezone or DEFAULT_TIMEZONE)
