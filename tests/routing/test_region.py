"""Region: state names and codes, ZIP prefixes, and the SPEC's order of sources."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadrouter.routing.region import (
    Region,
    resolve_region,
    state_for_phone,
    state_for_zip,
)
from leadrouter.routing.states import US_STATES, normalize_state


def test_us_states_has_fifty_states_dc_and_puerto_rico():
    assert {"DC", "PR"} <= set(US_STATES)
    assert len(set(US_STATES) - {"DC", "PR", "VI", "GU", "AS", "MP"}) == 50


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("tx", "TX"),
        ("TX", "TX"),
        (" Tx ", "TX"),
        ("Texas", "TX"),
        ("TEXAS", "TX"),
        ("new york", "NY"),
        ("New  York", "NY"),
        ("District of Columbia", "DC"),
        ("Washington D.C.", "DC"),
        ("D.C.", "DC"),
        ("Washington", "WA"),
        ("Washington State", "WA"),
        ("Puerto Rico", "PR"),
        ("puerto-rico", "PR"),
        ("Nuevo México", None),
        ("Texass", None),
        ("ON", None),  # Ontario: Twilio sends Canadian provinces in FromState
        ("XX", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_state(value, code):
    assert normalize_state(value) == code


def test_every_state_name_and_code_normalises_to_its_code():
    for code, name in US_STATES.items():
        assert normalize_state(code) == code
        assert normalize_state(code.lower()) == code
        assert normalize_state(name) == code


@pytest.mark.parametrize(
    ("zip_code", "state"),
    [
        ("00501", "NY"),
        ("00901", "PR"),
        ("00802", "VI"),
        ("01002", "MA"),
        ("02108", "MA"),
        ("02903", "RI"),
        ("03301", "NH"),
        ("04101", "ME"),
        ("05401", "VT"),
        ("05501", "MA"),
        ("06103", "CT"),
        ("07102", "NJ"),
        ("10001", "NY"),
        ("19102", "PA"),
        ("19801", "DE"),
        ("20001", "DC"),
        ("20190", "VA"),
        ("21201", "MD"),
        ("23219", "VA"),
        ("25301", "WV"),
        ("27601", "NC"),
        ("29201", "SC"),
        ("30303", "GA"),
        ("33101", "FL"),
        ("35203", "AL"),
        ("37201", "TN"),
        ("39201", "MS"),
        ("39901", "GA"),
        ("40202", "KY"),
        ("43215", "OH"),
        ("46204", "IN"),
        ("48201", "MI"),
        ("50309", "IA"),
        ("53202", "WI"),
        ("55401", "MN"),
        ("56901", "DC"),
        ("57101", "SD"),
        ("58102", "ND"),
        ("59601", "MT"),
        ("60601", "IL"),
        ("63101", "MO"),
        ("66101", "KS"),
        ("68102", "NE"),
        ("70112", "LA"),
        ("72201", "AR"),
        ("73102", "OK"),
        ("73301", "TX"),
        ("78701", "TX"),
        ("79901", "TX"),
        ("88510", "TX"),
        ("80202", "CO"),
        ("82001", "WY"),
        ("83702", "ID"),
        ("84101", "UT"),
        ("85001", "AZ"),
        ("87101", "NM"),
        ("89101", "NV"),
        ("90210", "CA"),
        ("96813", "HI"),
        ("96910", "GU"),
        ("96799", "AS"),
        ("96950", "MP"),
        ("97201", "OR"),
        ("98101", "WA"),
        ("99501", "AK"),
        ("78701-1234", "TX"),
        ("787011234", "TX"),
        (" 78701 ", "TX"),
    ],
)
def test_state_for_zip(zip_code, state):
    assert state_for_zip(zip_code) == state


@pytest.mark.parametrize(
    "zip_code",
    [None, "", "7870", "787012", "ABCDE", "00000", "09001", "34001", "96201", "٧٨٧٠١", "78701-12"],
)
def test_state_for_zip_unknown_or_malformed_is_none(zip_code):
    # 090xx, 340xx and 962xx are military mail (AE/AA/AP): no state to route to.
    assert state_for_zip(zip_code) is None


@given(st.integers(min_value=0, max_value=99999))
def test_every_zip_maps_to_a_known_code_or_none(number):
    state = state_for_zip(f"{number:05d}")
    assert state is None or state in US_STATES


def test_zip_table_covers_every_state():
    found = {state_for_zip(f"{prefix:03d}00") for prefix in range(1000)}
    assert set(US_STATES) - {"AS", "MP"} <= found


@pytest.mark.parametrize(
    ("e164", "state"),
    [
        ("+15122060100", "TX"),
        ("+12122061234", "NY"),
        ("+18002061234", None),
        ("+442071838750", None),
        ("+14162061234", None),  # Toronto
        ("not a number", None),
        (None, None),
    ],
)
def test_state_for_phone(e164, state):
    assert state_for_phone(e164) == state


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"state": "CA", "zip_code": "78701", "from_state": "NY", "phone_e164": "+15122060100"},
            Region("CA", "state"),
        ),
        (
            {"state": "California", "zip_code": "78701"},
            Region("CA", "state"),
        ),
        (
            {"state": "Atlantis", "zip_code": "78701", "from_state": "NY"},
            Region("TX", "zip"),
        ),
        (
            {"zip_code": "bad", "from_state": "NY", "phone_e164": "+15122060100"},
            Region("NY", "twilio_from_state"),
        ),
        (
            {"from_state": "ON", "phone_e164": "+15122060100"},
            Region("TX", "area_code"),
        ),
        ({"phone_e164": "+15122060100"}, Region("TX", "area_code")),
        ({"phone_e164": "+18002061234"}, Region(None, "unknown")),
        ({}, Region(None, "unknown")),
    ],
)
def test_resolve_region_follows_spec_order(kwargs, expected):
    assert resolve_region(**kwargs) == expected
