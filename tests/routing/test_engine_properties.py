"""Property tests: the engine's guarantees hold for any roster and any queue."""

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from leadrouter.routing.engine import AdvisorFacts, LeadFacts, assign_batch, choose, decide, queue_order
from leadrouter.routing.hours import on_shift
from leadrouter.routing.policy import default_policy
from leadrouter.routing.vocabulary import URGENCIES as URGENCY_ORDER

NOW = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
STATES = ("TX", "OK", "CA")
SHIFTS = (
    None,
    {"tue": [["08:00", "17:00"]]},
    {"mon": [["22:00", "06:00"]], "tue": [["22:00", "06:00"]]},
    {"sat": [["09:00", "12:00"]]},
)
TIMEZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles")

policies = st.builds(default_policy, pool_overflow_minutes=st.sampled_from([0, 0, 10]))


@st.composite
def rosters(draw, max_size=6):
    size = draw(st.integers(0, max_size))
    ids = draw(st.lists(st.integers(1, 50), min_size=size, max_size=size, unique=True))
    # Half the time everyone is free, so ordering among eligible advisors gets exercised.
    friendly = draw(st.booleans())
    return [draw(advisors(id, friendly)) for id in ids]


@st.composite
def advisors(draw, id, friendly=False):
    capacity = draw(st.integers(1 if friendly else 0, 3))
    last = draw(st.one_of(st.none(), st.integers(0, 300)))
    return AdvisorFacts(
        id=id,
        name=f"A{id}",
        regions=frozenset(draw(st.sets(st.sampled_from((*STATES, "*")), min_size=1))),
        languages=frozenset(draw(st.sets(st.sampled_from(("en", "es")), min_size=1))),
        capacity=capacity,
        open_leads=draw(st.integers(0, capacity - 1 if friendly else capacity + 1)),
        status="available"
        if friendly
        else draw(st.sampled_from(("available", "available", "busy", "offline"))),
        active=friendly or draw(st.booleans()) or draw(st.booleans()),
        timezone=draw(st.sampled_from(TIMEZONES)),
        shift_hours=None if friendly else draw(st.sampled_from(SHIFTS)),
        last_assigned_at=None if last is None else NOW - timedelta(minutes=last),
    )


@st.composite
def leads(draw, id, urgencies=URGENCY_ORDER, advisor_ids=()):
    owner = draw(st.one_of(st.none(), st.sampled_from(advisor_ids))) if advisor_ids else None
    excluded = frozenset({owner}) if owner is not None and draw(st.booleans()) else frozenset()
    return LeadFacts(
        id=id,
        urgency=draw(st.sampled_from(urgencies)),
        region=draw(st.sampled_from((*STATES, None))),
        language=draw(st.sampled_from(("en", "en", "es"))),
        source=draw(st.sampled_from(("web_form", "call"))),
        created_at=NOW - timedelta(minutes=draw(st.integers(0, 30))),
        owner_id=owner,
        exclude_ids=excluded,
    )


@st.composite
def scenarios(draw, urgencies=URGENCY_ORDER):
    roster = draw(rosters())
    ids = [a.id for a in roster]
    count = draw(st.integers(0, 8))
    batch = [draw(leads(i, urgencies, ids)) for i in range(1, count + 1)]
    return roster, batch, draw(policies)


@st.composite
def contested_scenarios(draw):
    """Few free seats, many similar leads: the case where queue order matters."""
    roster = [
        AdvisorFacts(
            id=id,
            name=f"A{id}",
            regions=frozenset(draw(st.sampled_from([{"TX"}, {"*"}, {"TX", "OK"}]))),
            languages=frozenset({"en"}),
            capacity=draw(st.integers(1, 2)),
            open_leads=0,
            status="available",
        )
        for id in range(1, draw(st.integers(1, 2)) + 1)
    ]
    batch = [
        LeadFacts(
            id=i,
            urgency=draw(st.sampled_from(URGENCY_ORDER)),
            region=draw(st.sampled_from(("TX", "OK", None))),
            created_at=NOW - timedelta(minutes=draw(st.integers(0, 30))),
        )
        for i in range(1, draw(st.integers(2, 8)) + 1)
    ]
    return roster, batch, draw(policies)


# --- an oracle written straight from SPEC §3, independent of the engine ------------


def basic_ok(advisor, lead, *, shift=True, capacity=True, language=True):
    """Return whether the advisor passes the non-coverage checks."""
    return (
        advisor.active
        and advisor.status == "available"
        and advisor.id not in lead.exclude_ids
        and (not language or lead.language in advisor.languages)
        and (not shift or on_shift(advisor.shift_hours, advisor.timezone, NOW))
        and (not capacity or advisor.open_leads < advisor.capacity)
    )


def in_state(advisor, lead):
    return lead.region is not None and lead.region in advisor.regions


def pool_open(lead, policy):
    return (NOW - lead.created_at) >= timedelta(minutes=policy.pool_overflow_minutes)


def could_take(advisor, lead, policy):
    """Return whether any default rule (or continuity) would allow this advisor."""
    if lead.urgency == "critical":
        return basic_ok(advisor, lead, shift=False, capacity=False, language=False)
    if lead.owner_id == advisor.id and basic_ok(advisor, lead):
        return True
    pool = "*" in advisor.regions and pool_open(lead, policy)
    return basic_ok(advisor, lead) and (in_state(advisor, lead) or pool)


# --- properties ---------------------------------------------------------------------


@settings(max_examples=300)
@given(scenarios(urgencies=("high", "normal", "low")))
def test_batch_never_takes_anyone_over_capacity_without_a_critical_lead(scenario):
    roster, batch, policy = scenario
    decisions = assign_batch(batch, roster, NOW, policy)
    added = Counter(d.advisor_id for d in decisions if d.advisor_id is not None)
    for advisor in roster:
        if added[advisor.id]:
            assert advisor.open_leads + added[advisor.id] <= advisor.capacity


@settings(max_examples=300)
@given(scenarios())
def test_only_the_critical_override_goes_past_capacity(scenario):
    roster, batch, policy = scenario
    load = {a.id: a.open_leads for a in roster}
    capacity = {a.id: a.capacity for a in roster}
    urgency = {lead.id: lead.urgency for lead in batch}
    for decision in assign_batch(batch, roster, NOW, policy):
        if decision.advisor_id is None:
            continue
        if load[decision.advisor_id] >= capacity[decision.advisor_id]:
            assert urgency[decision.lead_id] == "critical"
            assert decision.rule == "critical_override"
        load[decision.advisor_id] += 1


@settings(max_examples=300)
@given(rosters(), st.data(), policies)
def test_chosen_advisor_is_always_allowed(roster, data, policy):
    lead = data.draw(leads(1, advisor_ids=[a.id for a in roster]))
    decision = decide(lead, roster, NOW, policy)
    by_id = {a.id: a for a in roster}
    if decision.advisor_id is not None:
        assert could_take(by_id[decision.advisor_id], lead, policy)
        chosen = [c for c in decision.candidates if c.chosen]
        assert [c.advisor_id for c in chosen] == [decision.advisor_id]
        assert chosen[0].eligible
    else:
        # Queued only when no one at all could take it.
        assert not any(could_take(a, lead, policy) for a in roster)
        assert decision.outcome == "queued"


@settings(max_examples=600)
@given(rosters(), st.data(), policies)
def test_choose_is_decide_without_the_trace(roster, data, policy):
    lead = data.draw(leads(1, advisor_ids=[a.id for a in roster]))
    chosen = choose(lead, roster, NOW, policy)
    assert (chosen and chosen.id) == decide(lead, roster, NOW, policy).advisor_id


@given(rosters(), st.data(), policies)
def test_exact_state_advisor_wins_whenever_one_is_eligible(roster, data, policy):
    lead = data.draw(leads(1, urgencies=("high", "normal", "low")))
    decision = decide(lead, roster, NOW, policy)
    local = [a for a in roster if in_state(a, lead) and basic_ok(a, lead)]
    if local:
        chosen = next(a for a in roster if a.id == decision.advisor_id)
        assert in_state(chosen, lead)
        assert decision.rule == "exact_state"
        fewest = min(a.open_leads for a in local)
        assert chosen.open_leads == fewest


@settings(max_examples=300)
@given(st.one_of(scenarios(), contested_scenarios()))
def test_higher_urgency_never_waits_while_a_lower_one_takes_its_advisor(scenario):
    roster, batch, policy = scenario
    by_id = {a.id: a for a in roster}
    decisions = {d.lead_id: d for d in assign_batch(batch, roster, NOW, policy)}
    for waiting in batch:
        if decisions[waiting.id].outcome != "queued":
            continue
        for served in batch:
            advisor_id = decisions[served.id].advisor_id
            if advisor_id is None:
                continue
            if URGENCY_ORDER.index(served.urgency) > URGENCY_ORDER.index(waiting.urgency):
                # The advisor had at least as much room when the urgent lead was decided.
                assert not could_take(by_id[advisor_id], waiting, policy), (waiting, served)


@settings(max_examples=200)
@given(scenarios(), st.randoms(use_true_random=False))
def test_same_input_gives_the_same_decisions(scenario, rng: random.Random):
    roster, batch, policy = scenario
    first = assign_batch(batch, roster, NOW, policy)
    assert assign_batch(batch, roster, NOW, policy) == first
    shuffled_roster, shuffled_batch = roster[:], batch[:]
    rng.shuffle(shuffled_roster)
    rng.shuffle(shuffled_batch)
    assert assign_batch(shuffled_batch, shuffled_roster, NOW, policy) == first


@settings(max_examples=200)
@given(scenarios())
def test_every_advisor_is_traced_once_with_a_reason(scenario):
    roster, batch, policy = scenario
    for decision in assign_batch(batch, roster, NOW, policy):
        assert sorted(c.advisor_id for c in decision.candidates) == sorted(a.id for a in roster)
        assert all(c.reasons for c in decision.candidates)
        assert decision.explain().endswith(".")
        ranks = [c.rank for c in decision.candidates if c.rank is not None]
        assert sorted(ranks) == list(range(1, len(ranks) + 1))


@given(
    st.lists(
        st.builds(
            LeadFacts,
            id=st.integers(0, 20),
            urgency=st.sampled_from(URGENCY_ORDER),
            region=st.none(),
            created_at=st.datetimes(timezones=st.just(UTC)),
        )
    )
)
def test_queue_order_puts_more_urgent_first(batch):
    ordered = queue_order(batch)
    ranks = [URGENCY_ORDER.index(lead.urgency) for lead in ordered]
    assert ranks == sorted(ranks)
    assert sorted(map(id, ordered)) == sorted(map(id, batch))
