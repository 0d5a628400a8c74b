"""Live calls, decided without I/O: hunting, ringing several, holding, order of service, figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadrouter.routing.calls import (
    CallRecord,
    Hold,
    MissedOffer,
    NobodyOnDuty,
    Ring,
    call_figures,
    expected_wait_seconds,
    first_in_line_for,
    hold_order,
    missed_offer_reason,
    next_call_step,
    next_staffed_at,
    notice_due,
    offer_outcome,
    place_in_line,
    recently_missed,
    serves,
    should_set_away,
    waited_too_long,
)
from tests.routing.test_engine import NOW, advisor, lead


def test_a_caller_rings_the_engines_first_choice():
    team = [advisor(1, open_leads=3), advisor(2, open_leads=1), advisor(3, open_leads=2)]
    step = next_call_step(lead(), team, NOW)
    assert isinstance(step, Ring)
    assert step.advisor_ids == (2,)
    assert step.decision.advisor_id == 2


def test_an_advisor_who_let_the_call_ring_out_is_skipped_for_a_minute_then_rung_again():
    team = [advisor(1, open_leads=0), advisor(2, open_leads=1)]
    missed = [MissedOffer(advisor_id=1, ended_at=NOW - timedelta(seconds=20))]
    assert next_call_step(lead(), team, NOW, missed=missed).advisor_ids == (2,)
    a_minute_later = NOW + timedelta(seconds=41)
    assert next_call_step(lead(), team, a_minute_later, missed=missed).advisor_ids == (1,)


def test_the_skipped_advisor_reads_why_in_the_trace():
    team = [advisor(1), advisor(2, open_leads=1)]
    step = next_call_step(lead(), team, NOW, missed=[MissedOffer(1, NOW)])
    reasons = next(c for c in step.decision.candidates if c.advisor_id == 1).reasons
    assert any("did not answer this call" in reason for reason in reasons)


def test_an_emergency_rings_up_to_the_ring_all_size_best_first():
    team = [advisor(i, open_leads=i) for i in range(1, 6)]
    step = next_call_step(lead(urgency="critical"), team, NOW, ring_all_size=3)
    assert step.advisor_ids == (1, 2, 3)


def test_ring_all_never_rings_an_advisor_who_just_missed_the_call_or_is_not_eligible():
    team = [advisor(1), advisor(2, open_leads=1), advisor(3, status="offline"), advisor(4, regions=("CA",))]
    step = next_call_step(lead(), team, NOW, missed=[MissedOffer(1, NOW)], ring_all_size=3)
    assert step.advisor_ids == (2,)


def test_all_busy_but_on_duty_means_hold():
    team = [advisor(1, status="busy"), advisor(2, status="busy", regions=("*",))]
    assert next_call_step(lead(), team, NOW) == Hold(on_duty=2)


def test_everyone_who_just_missed_the_call_means_hold_not_voicemail():
    team = [advisor(1)]
    assert next_call_step(lead(), team, NOW, missed=[MissedOffer(1, NOW)]) == Hold(on_duty=1)


@pytest.mark.parametrize(
    "team",
    [
        [advisor(1, status="offline")],
        [advisor(1, status="busy", regions=("CA",))],  # on duty, but not for Texas
        [advisor(1, status="busy", languages=frozenset({"es"}))],
        [advisor(1, status="busy", shift_hours={"tue": [["06:00", "07:00"]]}, timezone="America/Chicago")],
        [advisor(1, status="busy", active=False)],
        [],
    ],
    ids=["offline", "other-state", "other-language", "off-shift", "inactive", "no-team"],
)
def test_nobody_who_could_take_the_call_on_duty_means_voicemail_at_once(team):
    assert next_call_step(lead(), team, NOW) == NobodyOnDuty()


def test_hold_order_is_urgency_then_longest_wait():
    early, late = NOW - timedelta(minutes=3), NOW - timedelta(minutes=1)
    callers = [
        lead(1, urgency="normal", created_at=early),
        lead(2, urgency="high", created_at=late),
        lead(3, urgency="high", created_at=early),
        lead(4, urgency="critical", created_at=NOW),
    ]
    assert [caller.id for caller in hold_order(callers)] == [4, 3, 2, 1]
    assert place_in_line(2, callers) == 3
    assert place_in_line(99, callers) is None


def test_expected_wait_is_known_only_with_advisors_on_duty_and_a_talk_time():
    assert expected_wait_seconds(place=2, on_duty=2, average_talk_seconds=300) == 300
    assert expected_wait_seconds(place=1, on_duty=0, average_talk_seconds=300) is None
    assert expected_wait_seconds(place=1, on_duty=3, average_talk_seconds=None) is None


def test_two_unanswered_offers_in_a_row_set_the_advisor_away():
    assert should_set_away(["no-answer", "busy", "answered"])
    assert not should_set_away(["no-answer", "answered", "no-answer"])
    assert not should_set_away(["no-answer"])


def test_a_canceled_or_still_ringing_offer_does_not_count_towards_away():
    assert not should_set_away(["canceled", "no-answer", "answered"])
    assert should_set_away(["ringing", "no-answer", "canceled", "not-accepted"])
    assert not should_set_away(["canceled", "canceled"])


def test_recently_missed_forgets_after_a_minute():
    missed = [MissedOffer(1, NOW - timedelta(seconds=59)), MissedOffer(2, NOW - timedelta(seconds=60))]
    assert recently_missed(missed, NOW) == frozenset({1})


def test_call_figures_against_a_hand_counted_set():
    start = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    calls = [
        CallRecord(start, start + timedelta(seconds=5), "answered", offers=1),
        CallRecord(start, start + timedelta(seconds=20), "answered", offers=2),
        CallRecord(start, start + timedelta(seconds=50), "answered", offers=3),
        CallRecord(start, None, "abandoned", offers=1),
        CallRecord(start, None, "voicemail", offers=2),
    ]
    figures = call_figures(calls).to_dict()
    assert figures == {
        "inbound": 5,
        "answered": 3,
        "abandoned": 1,
        "voicemail": 1,
        "service_level_20s": 0.4,  # 2 of the 5 calls that reached the line, within 20 s
        "average_speed_of_answer_seconds": 25.0,  # (5 + 20 + 50) / 3
        "abandonment_rate": 0.2,
        "offers_per_answered_call": 2.0,  # 1 + 2 + 3 offers on the answered calls / 3 answered
    }


def test_no_calls_means_no_figures_rather_than_zero():
    assert call_figures([]).to_dict()["service_level_20s"] is None


# --- offers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dial_status", "accepted", "outcome"),
    [
        ("completed", True, "answered"),
        ("answered", True, "answered"),
        ("completed", False, "not-accepted"),
        ("no-answer", False, "no-answer"),
        ("busy", False, "busy"),
        ("failed", False, "failed"),
        ("canceled", False, "canceled"),
        ("", False, "no-answer"),
        (None, False, "no-answer"),
        ("something-new", False, "no-answer"),
    ],
)
def test_offer_outcome_counts_an_answer_only_when_the_whisper_was_accepted(dial_status, accepted, outcome):
    assert offer_outcome(dial_status, accepted) == outcome


def test_missed_offer_reason_reads_like_the_timeline_line():
    assert (
        missed_offer_reason("Ana", "no-answer", 20, "Ben") == "Ana did not answer after 20 s; offered to Ben"
    )
    assert missed_offer_reason("Ana", "busy", 1, None) == "Ana was busy; nobody else could take it"
    assert missed_offer_reason("Ana", "not-accepted", 9, "Ben") == (
        "Ana did not accept the call after 9 s; offered to Ben"
    )


# --- holding ---------------------------------------------------------------------------------


def test_the_notice_comes_again_before_a_minute_has_passed_by_the_clock():
    assert notice_due(None, NOW, 30)
    # A 30 s turn plus the message: every turn opens with the notice.
    assert notice_due(NOW - timedelta(seconds=20), NOW, 30)
    assert not notice_due(NOW - timedelta(seconds=10), NOW, 30)
    # Shorter turns: every other turn is enough.
    assert not notice_due(NOW - timedelta(seconds=25), NOW, 10)
    assert notice_due(NOW - timedelta(seconds=35), NOW, 10)


def test_the_max_wait_counts_from_the_calls_start_by_the_clock():
    assert not waited_too_long(NOW - timedelta(seconds=119), NOW, 120)
    assert waited_too_long(NOW - timedelta(seconds=120), NOW, 120)


def test_an_advisor_serves_callers_of_their_states_and_languages_or_all_as_the_national_pool():
    assert serves(advisor(1), lead())
    assert not serves(advisor(1, regions=("CA",)), lead())
    assert serves(advisor(1, regions=("*",)), lead(region=None))
    assert not serves(advisor(1), lead(language="es"))


def test_the_head_of_the_line_for_an_advisor_is_the_most_urgent_then_the_longest_waiting_they_serve():
    early = lead(1, queued_since=NOW - timedelta(minutes=2))
    later = lead(2, queued_since=NOW - timedelta(minutes=1))
    urgent = lead(3, urgency="high", queued_since=NOW)
    spanish = lead(4, urgency="critical", language="es", queued_since=NOW)
    assert first_in_line_for(advisor(1), [later, early]) is early
    assert first_in_line_for(advisor(1), [later, early, urgent, spanish]) is urgent
    assert first_in_line_for(advisor(1, languages=frozenset({"en", "es"})), [early, spanish]) is spanish
    assert first_in_line_for(advisor(1, regions=("CA",)), [early]) is None


def test_the_line_is_staffed_again_at_the_next_shift_of_someone_who_could_take_the_caller():
    # NOW is Tuesday 09:00 in Chicago.
    weekdays = {"wed": [["08:00", "16:00"]], "thu": [["07:00", "15:00"]]}
    team = [
        advisor(1, status="offline", shift_hours=weekdays, timezone="America/Chicago"),
        advisor(2, status="offline", regions=("CA",), shift_hours={"tue": [["10:00", "11:00"]]}),
        advisor(3, status="offline"),  # no shift hours: says nothing about when
    ]
    assert next_staffed_at(team, lead(), NOW) == datetime(2025, 3, 5, 14, 0, tzinfo=UTC)
    later_today = advisor(
        4, status="offline", shift_hours={"tue": [["13:30", "20:00"]]}, timezone="America/Chicago"
    )
    assert next_staffed_at([*team, later_today], lead(), NOW) == datetime(2025, 3, 4, 19, 30, tzinfo=UTC)
    assert next_staffed_at(team[1:], lead(), NOW) is None


def test_a_missed_ring_followed_by_hold_says_so_on_the_timeline():
    reason = missed_offer_reason("Ana", "no-answer", 20, None, then="hold")
    assert reason == "Ana did not answer after 20 s; the caller waits in line for the next advisor free"
    assert missed_offer_reason("Ana", "busy", None, None, then="on_call").endswith("on-call line")


def test_an_advisor_kept_for_a_caller_ahead_is_passed_over_and_the_trace_says_why():
    team = [advisor(1), advisor(2, open_leads=1)]
    step = next_call_step(lead(), team, NOW, taken=frozenset({1}))
    assert step.advisor_ids == (2,)
    [kept] = [c for c in step.decision.candidates if c.advisor_id == 1]
    assert any("kept for or taken by another caller" in reason for reason in kept.reasons)
    both = next_call_step(lead(), team, NOW, missed=[MissedOffer(2, NOW)], taken=frozenset({1}))
    assert isinstance(both, Hold)


def test_a_caller_who_cannot_take_the_advisor_does_not_keep_her_from_the_next_in_line():
    early = lead(1, queued_since=NOW - timedelta(minutes=2))
    later = lead(2, queued_since=NOW - timedelta(minutes=1))
    # She let the first caller ring out a moment ago: not rung again for them yet.
    missed_her = lead(1, queued_since=NOW - timedelta(minutes=2), exclude_ids=frozenset({1}))
    assert first_in_line_for(advisor(1), [later, early], NOW) is early
    assert first_in_line_for(advisor(1), [later, missed_her], NOW) is later
    # Full: the engine gives her no new lead, but a caller whose lead is already hers may have her.
    full = advisor(1, open_leads=5)
    theirs = lead(3, queued_since=NOW, owner_id=1)
    assert first_in_line_for(full, [later, early], NOW) is None
    assert first_in_line_for(full, [early, theirs], NOW) is theirs
