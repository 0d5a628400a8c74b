"""What a manager must confirm before handing a lead to an advisor routing would pass over."""

from datetime import UTC, datetime

from leadrouter.routing.engine import AdvisorFacts, LeadFacts
from leadrouter.routing.reassignment import reassignment_concerns, unconfirmed

NOW = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)  # Wednesday 10:00 in Chicago
LEAD = LeadFacts(id=1, urgency="normal", region="FL", language="es")


def _advisor(**fields) -> AdvisorFacts:
    values = {
        "id": 7,
        "name": "Kara",
        "regions": frozenset({"FL"}),
        "languages": frozenset({"en", "es"}),
        "capacity": 5,
        "open_leads": 1,
        "status": "available",
        "timezone": "America/Chicago",
    }
    values.update(fields)
    return AdvisorFacts(**values)


def test_an_advisor_routing_could_choose_needs_no_confirmation():
    assert reassignment_concerns(_advisor(), LEAD, NOW) == ()
    assert reassignment_concerns(_advisor(regions=frozenset({"*"})), LEAD, NOW) == ()


def test_every_reason_routing_would_pass_an_advisor_over_is_named_in_reading_order():
    advisor = _advisor(
        status="offline",
        shift_hours={"wed": [["18:00", "22:00"]]},
        regions=frozenset({"TX"}),
        languages=frozenset({"en"}),
        open_leads=5,
    )
    assert reassignment_concerns(advisor, LEAD, NOW) == (
        "not_available",
        "off_shift",
        "outside_state",
        "other_language",
        "at_capacity",
    )


def test_a_lead_with_no_known_state_is_outside_every_advisor_but_the_national_pool():
    lead = LeadFacts(id=2, urgency="normal", region=None)
    assert reassignment_concerns(_advisor(), lead, NOW) == ("outside_state",)
    assert reassignment_concerns(_advisor(regions=frozenset({"*"})), lead, NOW) == ()


def test_only_the_unconfirmed_concerns_remain():
    concerns = ("not_available", "outside_state")
    assert unconfirmed(concerns, {"outside_state"}) == ("not_available",)
    assert unconfirmed(concerns, set(concerns)) == ()
