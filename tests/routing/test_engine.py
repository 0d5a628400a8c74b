"""Unit tests for the routing engine: each SPEC §3 assignment rule and the trace text."""

import ast
import json
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from leadrouter.routing.engine import (
    AdvisorFacts,
    LeadFacts,
    assign_batch,
    decide,
    is_eligible,
    queue_order,
)
from leadrouter.routing.policy import (
    BusinessHours,
    Rule,
    default_policy,
    default_rules,
    policy_from_dict,
)

# Tuesday 2025-03-04 15:00 UTC = 10:00 in New York, 09:00 in Chicago.
NOW = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


def advisor(id, name=None, regions=("TX",), **kw):
    """Build an available, idle English-speaking advisor with room for leads."""
    defaults = dict(
        name=name or f"A{id}",
        regions=frozenset(regions),
        languages=frozenset({"en"}),
        capacity=5,
        open_leads=0,
        status="available",
    )
    defaults.update(kw)
    return AdvisorFacts(id=id, **defaults)


def lead(id=100, urgency="normal", region="TX", **kw):
    return LeadFacts(id=id, urgency=urgency, region=region, created_at=kw.pop("created_at", NOW), **kw)


def trace_of(decision, advisor_id):
    return next(c for c in decision.candidates if c.advisor_id == advisor_id)


# --- preference: exact state, then national pool -----------------------------------


def test_exact_state_advisor_beats_national_pool_even_with_more_open_leads():
    advisors = [advisor(1, regions={"*"}, open_leads=0), advisor(2, regions={"TX"}, open_leads=3)]
    decision = decide(lead(), advisors, NOW)
    assert decision.advisor_id == 2
    assert decision.rule == "exact_state"
    assert decision.outcome == "assigned"
    pool = trace_of(decision, 1)
    assert pool.eligible and not pool.chosen
    assert pool.reasons == ("eligible under national_pool, but exact_state matched first",)


def test_national_pool_takes_lead_when_no_state_advisor_is_eligible():
    advisors = [advisor(1, "Ana", open_leads=3, capacity=3), advisor(2, "Cleo", regions={"*"})]
    decision = decide(lead(), advisors, NOW)
    assert (decision.advisor_id, decision.rule) == (2, "national_pool")
    assert trace_of(decision, 1).reasons == ("at capacity (3/3)",)


def test_pool_overflow_waits_before_using_national_pool():
    policy = default_policy(pool_overflow_minutes=10)
    advisors = [advisor(1, "Ana", status="busy"), advisor(2, "Cleo", regions={"*"})]
    fresh = decide(lead(created_at=NOW - timedelta(minutes=3)), advisors, NOW, policy)
    assert fresh.outcome == "queued"
    assert trace_of(fresh, 2).reasons == ("national pool opens after 10 min wait (waited 3 min)",)
    assert "national pool opens after 10 min wait" in fresh.reason
    waited = decide(lead(created_at=NOW - timedelta(minutes=10)), advisors, NOW, policy)
    assert (waited.advisor_id, waited.rule) == (2, "national_pool")


def test_queued_since_not_created_at_measures_the_wait():
    policy = default_policy(pool_overflow_minutes=10)
    old_but_requeued = lead(created_at=NOW - timedelta(hours=5), queued_since=NOW - timedelta(minutes=1))
    decision = decide(old_but_requeued, [advisor(2, regions={"*"})], NOW, policy)
    assert decision.outcome == "queued"


def test_unknown_region_goes_to_national_pool_only():
    advisors = [advisor(1, regions={"TX"}), advisor(2, regions={"*"})]
    decision = decide(lead(region=None), advisors, NOW)
    assert decision.advisor_id == 2
    assert trace_of(decision, 1).reasons == ("lead state unknown and not in national pool",)


def test_advisor_of_another_state_is_not_considered():
    decision = decide(lead(region="OK"), [advisor(1, regions={"TX"})], NOW)
    assert decision.outcome == "queued"
    assert decision.advisor_id is None
    assert decision.rule is None
    assert trace_of(decision, 1).reasons == ("does not cover OK",)
    assert trace_of(decision, 1).rule is None


# --- ordering among equals ----------------------------------------------------------


def test_fewest_open_leads_wins():
    advisors = [advisor(1, open_leads=2), advisor(2, open_leads=1), advisor(3, open_leads=4)]
    decision = decide(lead(), advisors, NOW)
    assert decision.advisor_id == 2
    assert [c.advisor_id for c in decision.candidates] == [2, 1, 3]
    assert [c.rank for c in decision.candidates] == [1, 2, 3]


def test_longest_idle_breaks_ties_and_never_assigned_counts_as_longest():
    advisors = [
        advisor(1, last_assigned_at=NOW - timedelta(minutes=5)),
        advisor(2, last_assigned_at=NOW - timedelta(minutes=50)),
        advisor(3, last_assigned_at=None),
    ]
    assert decide(lead(), advisors, NOW).advisor_id == 3
    assert decide(lead(), advisors[:2], NOW).advisor_id == 2


def test_lowest_id_breaks_full_ties_whatever_the_input_order():
    advisors = [advisor(7), advisor(3), advisor(5)]
    first = decide(lead(), advisors, NOW)
    assert first.advisor_id == 3
    assert decide(lead(), list(reversed(advisors)), NOW) == first


# --- eligibility and the reasons shown to managers ---------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (dict(active=False), "inactive"),
        (dict(status="offline"), "offline"),
        (dict(status="busy"), "busy"),
        (dict(languages=frozenset({"en"})), "does not speak es"),
        (dict(open_leads=3, capacity=3), "at capacity (3/3)"),
        (
            dict(timezone="America/Chicago", shift_hours={"tue": [["12:00", "17:00"]]}),
            "off shift (shift 12:00-17:00 America/Chicago)",
        ),
        (
            dict(timezone="America/Chicago", shift_hours={"mon": [["08:00", "17:00"]]}),
            "off shift (no shift on tue America/Chicago)",
        ),
        (dict(shift_hours={"tue": [["nine", "five"]]}), "shift hours or time zone unreadable"),
        (dict(timezone="Mars/Olympus"), None),  # no shift limits: the zone is never read
    ],
)
def test_each_ineligibility_reason_is_traced(changes, reason):
    spanish_lead = lead(language="es")
    candidate = replace(advisor(1, "Ana", languages=frozenset({"en", "es"})), **changes)
    decision = decide(spanish_lead, [candidate], NOW)
    if reason is None:
        assert decision.advisor_id == 1
        return
    assert decision.outcome == "queued"
    assert trace_of(decision, 1).reasons == (reason,)
    assert trace_of(decision, 1).eligible is False


def test_several_reasons_are_all_listed():
    candidate = advisor(1, status="offline", open_leads=2, capacity=2, active=False)
    assert trace_of(decide(lead(), [candidate], NOW), 1).reasons == (
        "inactive",
        "offline",
        "at capacity (2/2)",
    )


def test_on_shift_advisor_is_eligible():
    # 09:00 in Chicago on a Tuesday.
    candidate = advisor(1, timezone="America/Chicago", shift_hours={"tue": [["08:00", "17:00"]]})
    assert decide(lead(), [candidate], NOW).advisor_id == 1


def test_overnight_shift_from_yesterday_counts():
    # Monday 22:00-06:00 covers Tuesday 03:00 in New York.
    night = NOW.replace(hour=8)  # 03:00 EST
    candidate = advisor(1, shift_hours={"mon": [["22:00", "06:00"]]})
    assert decide(lead(), [candidate], night).advisor_id == 1
    assert decide(lead(), [candidate], NOW).outcome == "queued"


def test_excluded_owner_is_skipped_with_its_reason():
    overdue = lead(owner_id=1, exclude_ids=frozenset({1}))
    decision = decide(overdue, [advisor(1), advisor(2, open_leads=3)], NOW)
    assert decision.advisor_id == 2
    assert trace_of(decision, 1).reasons == ("excluded: current owner overdue",)


def test_is_eligible_matches_rule_target():
    exact, pool, anyone = default_rules()[1], default_rules()[2], default_rules()[0]
    tx = advisor(1, regions={"TX"})
    assert is_eligible(tx, lead(), exact, NOW)
    assert not is_eligible(tx, lead(), pool, NOW)
    assert is_eligible(tx, lead(region="OK"), anyone, NOW)


# --- critical override ---------------------------------------------------------------


def test_critical_lead_goes_to_any_available_human_ignoring_caps_and_shift():
    full_off_shift = advisor(
        1,
        "Ana",
        regions={"CA"},
        open_leads=4,
        capacity=4,
        shift_hours={"sat": [["09:00", "10:00"]]},
    )
    decision = decide(lead(urgency="critical"), [full_off_shift], NOW)
    assert (decision.advisor_id, decision.rule) == (1, "critical_override")
    chosen = trace_of(decision, 1)
    assert "at capacity (4/4), waived for critical lead" in chosen.reasons
    assert any(r.startswith("off shift") and "waived" in r for r in chosen.reasons)


def test_critical_override_prefers_advisors_who_need_no_override():
    over_capacity = advisor(1, open_leads=1, capacity=1)
    off_shift = advisor(2, open_leads=0, shift_hours={"sat": [["09:00", "10:00"]]})
    ok = advisor(3, open_leads=3, capacity=5)
    decision = decide(lead(urgency="critical"), [over_capacity, off_shift, ok], NOW)
    assert decision.advisor_id == 3
    assert [c.advisor_id for c in decision.candidates] == [3, 2, 1]


def test_critical_lead_still_needs_an_active_available_human():
    advisors = [advisor(1, status="offline"), advisor(2, active=False), advisor(3, status="busy")]
    decision = decide(lead(urgency="critical"), advisors, NOW)
    assert decision.outcome == "queued"


def test_critical_lead_prefers_a_speaker_of_its_language():
    advisors = [advisor(1), advisor(2, open_leads=4, languages=frozenset({"en", "es"}))]
    decision = decide(lead(urgency="critical", language="es"), advisors, NOW)
    assert decision.advisor_id == 2
    assert "waived" not in decision.reason


def test_critical_lead_falls_back_to_any_language_and_says_so():
    advisors = [advisor(1, "Ana"), advisor(2, "Luz", status="offline", languages={"es"})]
    decision = decide(lead(urgency="critical", language="es"), advisors, NOW)
    assert decision.advisor_id == 1
    assert "nobody available speaks es" in decision.reason
    assert "does not speak es (waived: nobody available does)" in trace_of(decision, 1).reasons
    assert "does not speak es (waived" in decision.explain()


def test_non_critical_lead_never_waives_language():
    decision = decide(lead(urgency="high", language="es"), [advisor(1)], NOW)
    assert decision.outcome == "queued"


# --- continuity -----------------------------------------------------------------------


def test_returning_lead_goes_back_to_its_owner_when_eligible():
    owner = advisor(1, "Ana", regions={"OK"}, open_leads=4)
    decision = decide(lead(owner_id=1), [owner, advisor(2)], NOW)
    assert (decision.advisor_id, decision.rule) == (1, "continuity")
    assert decision.reason == "Returned to previous advisor Ana (4/5 open)."
    assert trace_of(decision, 1).group == "previous advisor"


def test_returning_lead_goes_through_rules_when_owner_is_unavailable():
    decision = decide(lead(owner_id=1), [advisor(1, status="offline"), advisor(2)], NOW)
    assert (decision.advisor_id, decision.rule) == (2, "exact_state")
    assert trace_of(decision, 1).reasons == ("offline",)


def test_owner_missing_from_roster_is_ignored():
    assert decide(lead(owner_id=99), [advisor(2)], NOW).advisor_id == 2


# --- custom rules ------------------------------------------------------------------------


def test_rules_can_be_conditioned_on_source():
    calls_anywhere = Rule(name="calls_anywhere", target="any", sources=frozenset({"call"}))
    policy = default_policy(rules=(*default_rules(), calls_anywhere))
    ca_advisor = [advisor(1, regions={"CA"})]
    assert decide(lead(source="call"), ca_advisor, NOW, policy).rule == "calls_anywhere"
    form = decide(lead(source="web_form"), ca_advisor, NOW, policy)
    assert form.outcome == "queued"
    assert trace_of(form, 1).reasons == ("does not cover TX",)


def test_an_empty_rule_list_queues_everything():
    decision = decide(lead(), [advisor(1)], NOW, default_policy(rules=()))
    assert decision.outcome == "queued"


# --- trace output ------------------------------------------------------------------------


def test_explain_reads_like_the_manager_view():
    advisors = [
        advisor(1, "Ana", open_leads=3, capacity=3),
        advisor(2, "Ben", status="offline"),
        advisor(3, "Cleo", regions={"*"}, open_leads=1, last_assigned_at=NOW - timedelta(minutes=42)),
        advisor(4, "Eve", regions={"CA"}),
    ]
    decision = decide(lead(), advisors, NOW)
    assert decision.explain() == (
        "TX advisors passed over — Ana: at capacity (3/3); Ben: offline. "
        "National pool: Cleo chosen, 1/5 open, idle 42 min. "
        "1 not considered (does not cover TX)."
    )
    assert decision.reason == "Assigned to Cleo by national_pool (1/5 open)."


def test_explain_for_a_queued_lead_ends_with_the_reason():
    decision = decide(lead(), [advisor(1, "Ana", status="busy")], NOW)
    assert decision.explain() == (
        "TX advisors passed over — Ana: busy. No eligible advisor among 1: lead queued."
    )
    assert decide(lead(), [], NOW).explain() == "No eligible advisor among 0: lead queued."


def test_to_dict_is_json_and_complete():
    decision = decide(lead(), [advisor(1, last_assigned_at=NOW - timedelta(hours=2))], NOW)
    data = json.loads(json.dumps(decision.to_dict()))
    assert data["outcome"] == "assigned"
    assert data["advisor_id"] == 1
    assert data["decided_at"] == "2025-03-04T15:00:00+00:00"
    assert data["explanation"] == decision.explain()
    assert data["candidates"][0] == {
        "advisor_id": 1,
        "name": "A1",
        "eligible": True,
        "chosen": True,
        "reasons": ["chosen by exact_state: first in line"],
        "open_leads": 0,
        "capacity": 5,
        "rule": "exact_state",
        "rank": 1,
        "group": "TX advisors",
        "idle_minutes": 120,
    }


# --- input checks ----------------------------------------------------------------------


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="urgency"):
        decide(lead(urgency="urgent"), [], NOW)
    with pytest.raises(ValueError, match="aware"):
        decide(lead(), [], NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="unique"):
        decide(lead(), [advisor(1), advisor(1)], NOW)


# --- queue order and batches --------------------------------------------------------------


def test_queue_order_is_urgency_then_wait_then_id():
    leads = [
        lead(1, "low", created_at=NOW - timedelta(hours=9)),
        lead(2, "high", created_at=NOW - timedelta(minutes=1)),
        lead(3, "high", created_at=NOW - timedelta(minutes=30)),
        lead(4, "critical", created_at=NOW),
        lead(5, "high", created_at=NOW - timedelta(minutes=30)),
        lead(6, "high", created_at=NOW - timedelta(hours=9), queued_since=NOW),
    ]
    assert [item.id for item in queue_order(leads)] == [4, 3, 5, 2, 6, 1]


def test_batch_respects_capacity_and_spreads_load():
    advisors = [advisor(1, capacity=2, open_leads=1), advisor(2, capacity=1)]
    leads = [lead(i, created_at=NOW - timedelta(minutes=i)) for i in range(1, 5)]
    decisions = assign_batch(leads, advisors, NOW)
    assert [d.lead_id for d in decisions] == [4, 3, 2, 1]
    assert [d.advisor_id for d in decisions] == [2, 1, None, None]


def test_batch_serves_higher_urgency_first():
    leads = [lead(1, "low"), lead(2, "high", created_at=NOW)]
    decisions = assign_batch(leads, [advisor(1, capacity=1)], NOW)
    assert [(d.lead_id, d.outcome) for d in decisions] == [(2, "assigned"), (1, "queued")]


def test_batch_does_not_mutate_inputs():
    advisors = [advisor(1)]
    assign_batch([lead(1), lead(2)], advisors, NOW)
    assert advisors[0].open_leads == 0


# --- policy as data --------------------------------------------------------------------------


def test_default_policy_matches_the_spec():
    policy = default_policy()
    assert policy.sla_minutes == {"critical": 5, "high": 15, "normal": 60, "low": None}
    assert [r.name for r in policy.rules] == ["critical_override", "exact_state", "national_pool"]
    assert policy.max_reassignments == 2
    assert policy.business_hours.timezone == "America/New_York"


def test_pool_overflow_sets_the_pool_rule_wait():
    assert default_policy(pool_overflow_minutes=7).rules[2].after_wait_minutes == 7


def test_policy_survives_a_json_round_trip():
    policy = default_policy(
        sla_minutes={"normal": 45},
        pool_overflow_minutes=5,
        business_hours=BusinessHours(
            holidays=frozenset({date(2025, 12, 25)}),
            overrides={"CA": BusinessHours(timezone="America/Los_Angeles", opens=time(8))},
        ),
    )
    data = json.loads(json.dumps(policy.to_dict()))
    assert policy_from_dict(data) == policy
    assert policy_from_dict(data).to_dict() == data
    assert data["sla_minutes"]["normal"] == 45


def test_policy_from_partial_dict_keeps_defaults():
    policy = policy_from_dict({"sla_minutes": {"high": 10}, "pool_overflow_minutes": 3})
    assert policy.sla_minutes == {"critical": 5, "high": 10, "normal": 60, "low": None}
    assert policy.rules == default_rules(3)


def test_state_override_inherits_holidays():
    policy = policy_from_dict(
        {
            "business_hours": {
                "holidays": ["2025-07-04"],
                "overrides": {"TX": {"timezone": "America/Chicago"}},
            }
        }
    )
    texas = policy.business_hours.for_state("TX")
    assert texas.timezone == "America/Chicago"
    assert date(2025, 7, 4) in texas.holidays
    assert policy.business_hours.for_state("NY") is policy.business_hours


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"colour": "red"}, "colour"),
        ({"sla_minutes": {"urgent": 5}}, "sla_minutes.urgent"),
        ({"sla_minutes": {"high": -1}}, "sla_minutes.high"),
        ({"sla_minutes": {"high": "15"}}, "sla_minutes.high"),
        ({"sla_minutes": {"high": True}}, "sla_minutes.high"),
        ({"sla_minutes": [5]}, "sla_minutes"),
        ({"pool_overflow_minutes": 2.5}, "pool_overflow_minutes"),
        ({"max_reassignments": -2}, "max_reassignments"),
        ({"rules": {"name": "x"}}, "rules"),
        ({"rules": [{"target": "any"}]}, "rules[0].name"),
        ({"rules": [{"name": "x", "target": "moon"}]}, "rules[0].target"),
        (
            {"rules": [{"name": "x", "target": "any", "urgencies": ["meh"]}]},
            "rules[0].urgencies[0]",
        ),
        ({"rules": [{"name": "x", "target": "any", "sources": ["fax"]}]}, "rules[0].sources[0]"),
        (
            {"rules": [{"name": "x", "target": "any", "ignore_shift": "yes"}]},
            "rules[0].ignore_shift",
        ),
        ({"rules": [{"name": "x", "target": "any", "extra": 1}]}, "rules[0].extra"),
        ({"business_hours": {"timezone": "Mars/Base"}}, "business_hours.timezone"),
        ({"business_hours": {"opens": "9am"}}, "business_hours.opens"),
        ({"business_hours": {"opens": "18:00"}}, "business_hours.opens"),
        ({"business_hours": {"weekdays": ["funday"]}}, "business_hours.weekdays[0]"),
        ({"business_hours": {"weekdays": []}}, "business_hours.weekdays"),
        ({"business_hours": {"holidays": ["25/12/2025"]}}, "business_hours.holidays[0]"),
        (
            {"business_hours": {"overrides": {"TX": {"timezone": "Nowhere"}}}},
            "business_hours.overrides.TX.timezone",
        ),
        (
            {"business_hours": {"overrides": {"TX": {"overrides": {}}}}},
            "business_hours.overrides.TX.overrides",
        ),
        ({"contact_window": ["21:00", "08:00"]}, "contact_window"),
    ],
)
def test_policy_from_dict_names_the_bad_key(data, key):
    with pytest.raises(ValueError) as error:
        policy_from_dict(data)
    assert str(error.value).startswith(f"{key}:")


def test_engine_modules_import_only_stdlib_and_routing():
    package = Path(__file__).parents[2] / "leadrouter" / "routing"
    for name in ("engine.py", "hours.py", "policy.py"):
        tree = ast.parse((package / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                allowed = top in sys.stdlib_module_names or module.startswith("leadrouter.routing")
                assert allowed, f"{name} imports {module}"
