"""The area-code table gives the state phonenumbers' geocoder names, without its 98 MB."""

import subprocess
import sys

import phonenumbers
import pytest
from phonenumbers import geocoder
from phonenumbers.geodata import GEOCODE_DATA

from leadrouter.routing import area_codes
from leadrouter.routing.region import state_for_number
from leadrouter.routing.states import normalize_state

# Subscriber digits tried after a prefix until the number is valid.
_FILLERS = ("5550123", "2345678", "8675309", "4561234", "9876543", "3334444", "7770000")


def _geocoder_state(number: phonenumbers.PhoneNumber) -> str | None:
    """What region.py used to do: the state named in the geocoder's description."""
    if phonenumbers.region_code_for_number(number) not in {"US", "PR", "VI", "GU", "AS", "MP"}:
        return None
    return normalize_state(geocoder.description_for_number(number, "en").rpartition(",")[2])


def _valid_number(prefix: str) -> phonenumbers.PhoneNumber | None:
    """A valid NANP number whose national number starts with `prefix` (3 to 7 digits)."""
    for filler in _FILLERS:
        number = phonenumbers.parse(f"+1{prefix}{filler[len(prefix) - 3 :]}")
        if phonenumbers.is_valid_number(number):
            return number
    return None


def _check(prefixes) -> tuple[int, list]:
    checked, disagreements = 0, []
    for prefix in prefixes:
        number = _valid_number(prefix)
        if number is not None:
            checked += 1
            expected, got = _geocoder_state(number), state_for_number(number)
            if got != expected:
                disagreements.append((phonenumbers.format_number(number, 0), expected, got))
    return checked, disagreements


def test_every_area_code_agrees_with_the_geocoder():
    prefixes = [f"{code}{exchange}" for code in range(200, 1000) for exchange in range(2, 10)]
    checked, disagreements = _check(prefixes)
    assert checked > 3000
    assert disagreements == []


def test_every_prefix_the_geocoder_describes_agrees():
    prefixes = sorted({key[1:] for key in GEOCODE_DATA if key.startswith("1")})
    checked, disagreements = _check(prefixes)
    assert checked > 30_000
    assert disagreements == []


@pytest.mark.parametrize(
    ("e164", "state"),
    [
        ("+15122060100", "TX"),
        ("+12016311234", "NY"),  # an exchange in a New Jersey area code that the geocoder puts in New York
        ("+12012061234", "NJ"),
        ("+17872061234", "PR"),
        ("+13402001234", "VI"),
        ("+16714771234", "GU"),
        ("+16716461234", None),  # "Tamuning": the geocoder names no territory
        ("+16842581234", "AS"),
        ("+16702341234", "MP"),
        ("+18002061234", None),  # toll-free: valid in the US and Canada
        ("+14162061234", None),
    ],
)
def test_examples(e164, state):
    number = phonenumbers.parse(e164)
    assert state_for_number(number) == state == _geocoder_state(number)


def test_the_table_is_current():
    assert phonenumbers.__version__ == area_codes.PHONENUMBERS_VERSION, (
        "phonenumbers was upgraded: run `python -m leadrouter.routing.area_codes`"
    )
    table, longest = area_codes.build_prefix_states()
    assert table == area_codes.PREFIX_STATES
    assert longest <= area_codes.LONGEST_PREFIX


def test_placing_a_number_does_not_load_the_geocoder():
    code = (
        "import sys\n"
        "from leadrouter.routing.phone import parse_phone\n"
        "assert parse_phone('+15122060100').state == 'TX'\n"
        "assert 'phonenumbers.geocoder' not in sys.modules, 'geocoder imported'\n"
        "assert 'phonenumbers.geodata' not in sys.modules, 'geodata imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
