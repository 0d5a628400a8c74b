"""Clock rules: shifts, the contact window, business days and SLA deadlines, across DST."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadrouter.routing.hours import (
    describe_shift,
    next_business_open,
    next_contact_time,
    on_shift,
    quiet_hours_window,
    sla_due_at,
    within_contact_window,
)
from leadrouter.routing.policy import BusinessHours, default_policy

NY = "America/New_York"
US_ZONES = (
    NY,
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def local(tz, *args, fold=0):
    return datetime(*args, tzinfo=ZoneInfo(tz), fold=fold)


# --- shifts ---------------------------------------------------------------------------

DAY_SHIFT = {"mon": [["08:00", "17:00"]]}
FRIDAY_NIGHTS = {"fri": [["22:00", "06:00"]]}


@pytest.mark.parametrize(
    ("shift", "when", "expected"),
    [
        (DAY_SHIFT, (2025, 3, 3, 8, 0), True),
        (DAY_SHIFT, (2025, 3, 3, 16, 59), True),
        (DAY_SHIFT, (2025, 3, 3, 17, 0), False),
        (DAY_SHIFT, (2025, 3, 3, 7, 59), False),
        (DAY_SHIFT, (2025, 3, 4, 9, 0), False),  # Tuesday: no shift
        (FRIDAY_NIGHTS, (2025, 3, 7, 23, 0), True),
        (FRIDAY_NIGHTS, (2025, 3, 8, 5, 59), True),  # Saturday morning, Friday's shift
        (FRIDAY_NIGHTS, (2025, 3, 8, 6, 0), False),
        (FRIDAY_NIGHTS, (2025, 3, 7, 21, 59), False),
        (FRIDAY_NIGHTS, (2025, 3, 7, 3, 0), False),  # Friday morning belongs to Thursday
        ({"sun": [["22:00", "06:00"]]}, (2025, 3, 3, 2, 0), True),  # wraps the week
        ({"mon": [["08:00", "12:00"], ["13:00", "17:00"]]}, (2025, 3, 3, 12, 30), False),
        ({"mon": [["08:00", "12:00"], ["13:00", "17:00"]]}, (2025, 3, 3, 13, 30), True),
        ({"mon": [["18:00", "24:00"]]}, (2025, 3, 3, 23, 59), True),
        ({"Monday": [["08:00", "17:00"]]}, (2025, 3, 3, 9, 0), True),
        (None, (2025, 3, 9, 3, 0), True),
    ],
)
def test_on_shift(shift, when, expected):
    assert on_shift(shift, NY, local(NY, *when)) is expected


def test_on_shift_reads_the_advisors_own_zone():
    # 15:30 UTC is 09:30 in Chicago but 07:30 in Los Angeles.
    now = utc(2025, 3, 3, 15, 30)
    assert on_shift({"mon": [["09:00", "17:00"]]}, "America/Chicago", now)
    assert not on_shift({"mon": [["09:00", "17:00"]]}, "America/Los_Angeles", now)


def test_overnight_shift_across_fall_back():
    # 2025-11-02: 01:30 happens twice in New York; the shift covers both.
    saturday_nights = {"sat": [["22:00", "06:00"]]}
    assert on_shift(saturday_nights, NY, local(NY, 2025, 11, 2, 1, 30, fold=0))
    assert on_shift(saturday_nights, NY, local(NY, 2025, 11, 2, 1, 30, fold=1))
    assert on_shift(saturday_nights, NY, local(NY, 2025, 11, 2, 5, 59))
    assert not on_shift(saturday_nights, NY, local(NY, 2025, 11, 2, 6, 0))


def test_overnight_shift_across_spring_forward():
    saturday_nights = {"sat": [["22:00", "06:00"]]}
    assert on_shift(saturday_nights, NY, utc(2025, 3, 9, 7, 30))  # 03:30 EDT
    assert not on_shift(saturday_nights, NY, utc(2025, 3, 9, 10, 0))  # 06:00 EDT


def test_describe_shift():
    monday = local(NY, 2025, 3, 3, 7, 0)
    shifts = {"sun": [["22:00", "06:00"]], "mon": [["08:00", "12:00"]]}
    assert describe_shift(shifts, NY, monday) == "shift 22:00-06:00, 08:00-12:00 America/New_York"
    assert describe_shift(DAY_SHIFT, NY, local(NY, 2025, 3, 4, 7)) == ("no shift on tue America/New_York")


# --- contact window -------------------------------------------------------------------


def test_contact_window_bounds():
    assert within_contact_window(local(NY, 2025, 6, 2, 8, 0), NY)
    assert within_contact_window(local(NY, 2025, 6, 2, 20, 59), NY)
    assert not within_contact_window(local(NY, 2025, 6, 2, 21, 0), NY)
    assert not within_contact_window(local(NY, 2025, 6, 2, 7, 59), NY)
    assert within_contact_window(local(NY, 2025, 6, 2, 7, 0), NY, start=time(7))


def test_next_contact_time_inside_window_is_now():
    now = local(NY, 2025, 6, 2, 12, 0)
    assert next_contact_time(now, NY) is now


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(NY, 2025, 6, 2, 21, 0), utc(2025, 6, 3, 12, 0)),  # evening -> tomorrow 08:00
        (local(NY, 2025, 6, 2, 6, 0), utc(2025, 6, 2, 12, 0)),  # early -> today 08:00
        # Spring forward (2025-03-09 02:00 EST -> 03:00 EDT): 08:00 EDT is 12:00 UTC.
        (local(NY, 2025, 3, 8, 22, 0), utc(2025, 3, 9, 12, 0)),
        (local(NY, 2025, 3, 9, 1, 30), utc(2025, 3, 9, 12, 0)),
        (local(NY, 2025, 3, 9, 3, 30), utc(2025, 3, 9, 12, 0)),
        # Fall back (2025-11-02 02:00 EDT -> 01:00 EST): 08:00 EST is 13:00 UTC.
        (local(NY, 2025, 11, 1, 22, 0), utc(2025, 11, 2, 13, 0)),
        (local(NY, 2025, 11, 2, 1, 30, fold=0), utc(2025, 11, 2, 13, 0)),
        (local(NY, 2025, 11, 2, 1, 30, fold=1), utc(2025, 11, 2, 13, 0)),
    ],
)
def test_next_contact_time_moves_to_next_0800_local(now, expected):
    assert next_contact_time(now, NY) == expected
    assert next_contact_time(now, NY).astimezone(ZoneInfo(NY)).time() == time(8)


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        (NY, utc(2025, 7, 15, 12, 0)),  # 08:00 EDT: already open
        ("America/Chicago", utc(2025, 7, 15, 13, 0)),
        ("America/Denver", utc(2025, 7, 15, 14, 0)),
        ("America/Phoenix", utc(2025, 7, 15, 15, 0)),  # no DST: MST in July
        ("America/Los_Angeles", utc(2025, 7, 15, 15, 0)),
        ("America/Anchorage", utc(2025, 7, 15, 16, 0)),
        ("Pacific/Honolulu", utc(2025, 7, 15, 18, 0)),
    ],
)
def test_next_contact_time_across_us_zones(tz, expected):
    assert next_contact_time(utc(2025, 7, 15, 12, 0), tz) == expected


def test_quiet_hours_window_on_a_dst_day_is_in_local_time():
    opens, closes = quiet_hours_window(local(NY, 2025, 3, 9, 12, 0), NY)
    assert (opens, closes) == (utc(2025, 3, 9, 12, 0), utc(2025, 3, 10, 1, 0))


@given(
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    st.sampled_from(US_ZONES),
)
def test_next_contact_time_is_the_first_allowed_moment(now, tz):
    result = next_contact_time(now, tz)
    assert result >= now
    assert within_contact_window(result, tz)
    assert result - now < timedelta(hours=12)
    if result != now:
        assert not within_contact_window(result - timedelta(seconds=1), tz)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        next_contact_time(datetime(2025, 1, 1, 12), NY)


# --- business days and SLA ------------------------------------------------------------


def test_next_business_open():
    hours = BusinessHours()
    assert next_business_open(local(NY, 2025, 3, 4, 7), hours) == utc(2025, 3, 4, 14)
    assert next_business_open(local(NY, 2025, 3, 4, 10), hours) == utc(2025, 3, 5, 14)
    assert next_business_open(local(NY, 2025, 3, 8, 10), hours) == utc(2025, 3, 10, 13)  # EDT
    texas = BusinessHours(overrides={"TX": BusinessHours(timezone="America/Chicago")})
    assert next_business_open(local(NY, 2025, 3, 4, 7), texas, "TX") == utc(2025, 3, 4, 15)


def test_critical_sla_runs_around_the_clock():
    at_night = local(NY, 2025, 3, 8, 3, 0)
    assert sla_due_at("critical", at_night, default_policy(), NY) == at_night + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("urgency", "created", "tz", "due"),
    [
        ("high", utc(2025, 3, 4, 15, 0), NY, utc(2025, 3, 4, 15, 15)),
        ("normal", utc(2025, 3, 4, 15, 0), NY, utc(2025, 3, 4, 16, 0)),
        # 23:00 in New York: the clock starts at 08:00.
        ("high", local(NY, 2025, 3, 4, 23, 0), NY, utc(2025, 3, 5, 13, 15)),
        # 20:30: 30 minutes tonight, the other 30 tomorrow from 08:00.
        ("normal", local(NY, 2025, 3, 4, 20, 30), NY, utc(2025, 3, 5, 13, 30)),
        # 07:00 in Los Angeles, though 10:00 in New York.
        ("normal", utc(2025, 3, 4, 15, 0), "America/Los_Angeles", utc(2025, 3, 4, 17, 0)),
    ],
)
def test_high_and_normal_sla_count_contact_window_time(urgency, created, tz, due):
    assert sla_due_at(urgency, created, default_policy(), tz) == due


@pytest.mark.parametrize(
    ("created", "holidays", "due"),
    [
        # Friday -> Monday 09:00 + 1 h; DST began on the Sunday.
        (local(NY, 2025, 3, 7, 10), (), utc(2025, 3, 10, 14)),
        # Christmas Eve -> Christmas is a holiday -> Friday 26th.
        (local(NY, 2025, 12, 24, 10), (date(2025, 12, 25),), utc(2025, 12, 26, 15)),
        (local(NY, 2025, 12, 24, 10), (), utc(2025, 12, 25, 15)),
        # Holiday Friday, then a weekend: Monday.
        (local(NY, 2025, 7, 3, 10), (date(2025, 7, 4),), utc(2025, 7, 7, 14)),
        # Before opening on a business day still means the next business day.
        (local(NY, 2025, 3, 3, 7), (), utc(2025, 3, 4, 15)),
        # Saturday night: Monday.
        (local(NY, 2025, 3, 8, 23), (), utc(2025, 3, 10, 14)),
    ],
)
def test_low_sla_is_next_business_day_opening_plus_one_hour(created, holidays, due):
    policy = default_policy(business_hours=BusinessHours(holidays=frozenset(holidays)))
    assert sla_due_at("low", created, policy, NY) == due


def test_low_sla_uses_the_states_business_hours():
    policy = default_policy(
        business_hours=BusinessHours(overrides={"TX": BusinessHours(timezone="America/Chicago")})
    )
    friday = local(NY, 2025, 3, 7, 10)
    assert sla_due_at("low", friday, policy, "America/Chicago", state="TX") == utc(2025, 3, 10, 15)


def test_low_sla_waits_for_the_leads_contact_window():
    # 10:00 in New York is 05:00 in Honolulu: due at 08:00 there.
    friday = local(NY, 2025, 3, 7, 10)
    assert sla_due_at("low", friday, default_policy(), "Pacific/Honolulu") == utc(2025, 3, 10, 18)


def test_sla_minutes_are_configurable():
    policy = default_policy(sla_minutes={"low": 120, "critical": 1})
    created = utc(2025, 3, 4, 15, 0)
    assert sla_due_at("low", created, policy, NY) == utc(2025, 3, 4, 17, 0)
    assert sla_due_at("critical", created, policy, NY) == utc(2025, 3, 4, 15, 1)


def test_sla_refuses_unknown_urgency():
    with pytest.raises(ValueError, match="urgency"):
        sla_due_at("urgent", utc(2025, 3, 4, 15), default_policy())


@given(
    st.sampled_from(("critical", "high", "normal", "low")),
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    st.sampled_from(US_ZONES),
)
def test_sla_is_after_creation_and_inside_contact_hours(urgency, created, tz):
    due = sla_due_at(urgency, created, default_policy(), tz)
    assert due > created
    if urgency != "critical":
        opens, closes = quiet_hours_window(due, tz)
        assert opens <= due <= closes
