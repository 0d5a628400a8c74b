"""Phone parsing: every common format to E.164, Twilio's placeholders, junk never raises."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadrouter.routing.phone import PhoneNumber, mask_phone, normalize_phone, parse_phone


@pytest.mark.parametrize(
    "raw",
    [
        "+1 512 206 0100",
        "+15122060100",
        "(512) 206-0100",
        "512.206.0100",
        "512-206-0100",
        "5122060100",
        "1-512-206-0100",
        "1 (512) 206-0100",
        "  +1 512 206 0100  ",
        "+1-512-206-0100 ext 3",
        "512 206 0100 x12",
    ],
)
def test_common_us_formats_normalise_to_e164(raw):
    parsed = parse_phone(raw)
    assert parsed.valid
    assert parsed.e164 == "+15122060100"
    assert parsed.raw_kind == "number"
    assert parsed.state == "TX"
    assert parsed.timezone == "America/Chicago"


def test_extension_is_kept_apart_from_the_number():
    parsed = parse_phone("1-512-206-0100 ext 3")
    assert parsed.e164 == "+15122060100"
    assert parsed.extension == "3"


def test_fictional_555_numbers_from_the_brief_parse():
    # phonenumbers accepts 555-01xx in the 512 area code; forms send these in tests.
    assert normalize_phone("+1 (512) 555-0100") == "+15125550100"
    assert normalize_phone("1-512-555-0100 ext 3") == "+15125550100"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (None, "empty"),
        ("", "empty"),
        ("   ", "empty"),
        ("anonymous", "anonymous"),
        ("Anonymous", "anonymous"),
        ("+266696687", "anonymous"),
        ("+7378742833", "anonymous"),
        ("restricted", "anonymous"),
        ("client:alice", "client"),
        ("client:Anonymous", "client"),
        ("not a number", "invalid"),
        ("1" * 40, "invalid"),
        ("+1 512 206", "invalid"),
        ("+1 000 000 0000", "invalid"),
        ("12", "invalid"),
        ("+" * 500, "invalid"),
        ("5" * 10_000, "invalid"),
    ],
)
def test_placeholders_and_junk_are_invalid_with_a_kind(raw, kind):
    parsed = parse_phone(raw)
    assert parsed == PhoneNumber(e164=None, valid=False, raw_kind=kind)
    assert normalize_phone(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "٥١٢٢٠٦٠١٠٠",  # Arabic-Indic digits
        "۵۱۲۲۰۶۰۱۰۰",  # Extended Arabic-Indic (Persian) digits
        "５１２２０６０１００",  # full-width digits
    ],
)
def test_non_ascii_digits_are_normalised_not_rejected(raw):
    # Decision: people type numbers with their phone's keyboard; the digits mean the same.
    assert normalize_phone(raw) == "+15122060100"


@pytest.mark.parametrize(
    ("raw", "state", "zone"),
    [
        ("+12122061234", "NY", "America/New_York"),
        ("+12022061234", "DC", "America/New_York"),
        ("+12062061234", "WA", "America/Los_Angeles"),
        ("+13052061234", "FL", "America/New_York"),
        ("+19072061234", "AK", "America/Anchorage"),
        ("+18082061234", "HI", "Pacific/Honolulu"),
        ("+17752061234", "NV", "America/Los_Angeles"),
        ("+17872061234", "PR", "America/Puerto_Rico"),
        ("+13402061234", "VI", "America/St_Thomas"),
        ("+16712061234", "GU", "Pacific/Guam"),
    ],
)
def test_area_code_gives_state_and_timezone(raw, state, zone):
    parsed = parse_phone(raw)
    assert (parsed.state, parsed.timezone) == (state, zone)


def test_toll_free_number_has_no_state_or_timezone():
    parsed = parse_phone("+1 800 206 1234")
    assert parsed.valid
    assert (parsed.state, parsed.timezone) == (None, None)


def test_foreign_number_keeps_e164_but_no_state():
    parsed = parse_phone("+44 20 7183 8750")
    assert parsed.e164 == "+442071838750"
    assert parsed.state is None
    assert parsed.timezone == "Europe/London"


def test_default_region_applies_to_national_numbers():
    assert normalize_phone("020 7183 8750", default_region="GB") == "+442071838750"


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+15122060100", "+1••••••0100"),
        ("+442071838750", "+44••••••8750"),
        (None, ""),
        ("", ""),
        ("123", "•••"),
    ],
)
def test_mask_phone_shows_only_country_code_and_last_four(e164, masked):
    assert mask_phone(e164) == masked


@given(st.text(max_size=80))
def test_parse_phone_never_raises_and_is_consistent(raw):
    parsed = parse_phone(raw)
    assert parsed.valid == (parsed.e164 is not None)
    assert parsed.raw_kind in {"number", "anonymous", "client", "empty", "invalid"}
    if parsed.valid:
        assert parsed.e164.startswith("+")
        assert parsed.e164[1:].isdigit()
        assert parsed.e164[1:].isascii()


@given(st.from_regex(r"\+1[2-9]\d{2}[2-9]\d{6}", fullmatch=True))
def test_mask_never_reveals_the_full_number(e164):
    masked = mask_phone(e164)
    assert e164 not in masked
    assert masked.endswith(e164[-4:])
    assert e164[2:-4] not in masked


@given(st.from_regex(r"\+1[2-9]\d{2}[2-9]\d{6}", fullmatch=True))
def test_normalising_is_idempotent(e164):
    first = normalize_phone(e164)
    assert first is None or normalize_phone(first) == first
