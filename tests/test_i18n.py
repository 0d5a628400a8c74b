"""Translations: complete, current, compiled catalogs that pages, TwiML and texts really use."""

from __future__ import annotations

import re
import shutil
import string
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po
from flask_babel import get_locale, gettext

from leadrouter import create_app, i18n
from leadrouter.telephony import twiml
from tests.conftest import PUBLIC_BASE_URL, base_config
from tests.telephony.test_twiml import MESSAGING_VERBS, said
from tests.telephony.test_twiml import parse as parse_twiml
from tests.telephony.test_voice_webhooks import CALLER, HELPLINE, VOICE_URL, new_sid, post_signed

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "leadrouter" / "translations"
# The keywords the README's `pybabel extract` command passes on top of pybabel's defaults.
KEYWORDS = {"lazy_gettext": None, "lazy_pgettext": ((1, "c"), 2)}
TRANSLATED = [lang for lang in i18n.supported_languages() if lang != i18n.SOURCE_LANGUAGE]


def read_catalog(path: Path, locale: str | None = None):
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def po_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def catalog_ids(catalog) -> set:
    return {(message.context, message.id) for message in catalog if message.id}


def extracted_ids() -> set:
    """Every message the sources mark today, extracted the way babel.cfg says."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {**DEFAULT_KEYWORDS, **KEYWORDS}
    found = set()
    for _filename, _lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.add((context, msgid))
    return found


def slots(text: str) -> tuple:
    """What a translation must keep: %(name)s values, {name} fields and [911]-style digit marks."""
    percent = sorted(re.findall(r"%\((\w+)\)s", text))
    braces = sorted(name for _, name, _, _ in string.Formatter().parse(text) if name)
    return percent, braces, sorted(re.findall(r"\[\d+\]", text))


# --- the catalogs ------------------------------------------------------------------------


def test_there_is_a_spanish_catalog_and_english_comes_first():
    assert i18n.supported_languages()[0] == "en"
    assert "es" in TRANSLATED


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(lang):
    catalog = read_catalog(po_path(lang), lang)
    assert not catalog.fuzzy, f"the {lang} catalog's header is marked fuzzy"
    untranslated = [
        m.id for m in catalog if m.id and not all(m.string if isinstance(m.string, tuple) else (m.string,))
    ]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == [], f"untranslated {lang} messages: {untranslated}"
    assert fuzzy == [], f"fuzzy {lang} messages: {fuzzy}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_keep_every_placeholder_and_digit_mark(lang):
    catalog = read_catalog(po_path(lang), lang)
    for message in catalog:
        if message.id:
            assert slots(message.string) == slots(message.id), message.id
    assert [(m.id, errors) for m, errors in catalog.check()] == []


def test_catalogs_are_up_to_date_with_the_sources():
    """A string marked in the code or a template but missing from the catalogs fails here."""
    in_sources = extracted_ids()
    template = read_catalog(TRANSLATIONS / "messages.pot")
    assert in_sources - catalog_ids(template) == set(), "run pybabel extract (README: Translations)"
    assert catalog_ids(template) - in_sources == set(), "messages.pot holds strings no source uses"
    for lang in i18n.supported_languages():
        assert catalog_ids(read_catalog(po_path(lang), lang)) == in_sources, f"run pybabel update ({lang})"


@pytest.mark.parametrize("lang", i18n.supported_languages())
def test_compiled_catalog_is_built_from_the_current_po(lang):
    mo = po_path(lang).with_suffix(".mo")
    assert mo.is_file(), "run pybabel compile -d leadrouter/translations"
    with mo.open("rb") as handle:
        compiled = {(m.context, m.id): m.string for m in read_mo(handle) if m.id}
    source = {(m.context, m.id): m.string for m in read_catalog(po_path(lang), lang) if m.id and m.string}
    assert compiled == source


# --- what people see and hear comes from the compiled catalogs -------------------------


def spanish(msgid: str) -> str:
    (message,) = [m for m in read_catalog(po_path("es"), "es") if m.id == msgid]
    return message.string


def test_spanish_page_comes_from_the_catalog(client):
    page = client.get("/?lang=es").get_data(as_text=True)
    for msgid in ("Ask for a call back", "Who answers?", "Your name", "Which substances are involved?"):
        assert spanish(msgid) in page
        assert msgid not in page
    assert '<html lang="es">' in page
    # The same visitor chose Spanish above (remembered in a cookie): English is chosen again.
    english = client.get("/?lang=en").get_data(as_text=True)
    assert "Ask for a call back" in english and spanish("Ask for a call back") not in english


def test_spanish_validation_messages_come_from_the_catalog(client):
    page = client.post("/contact?lang=es", data={"name": "", "phone": "", "consent": "y"}).get_data(
        as_text=True
    )
    assert spanish("Enter your name.") in page
    assert spanish("Enter a phone number or an email address so we can reach you.") in page


def test_spanish_twiml_comes_from_the_catalog(client):
    params = {"CallSid": new_sid(), "From": CALLER, "To": HELPLINE, "CallStatus": "ringing"}
    response = post_signed(client, f"{VOICE_URL}?lang=es", params)
    spoken = said(parse_twiml(response.get_data(as_text=True)))
    menu = spanish(twiml._PROMPT_TEXT["menu"])
    assert menu and menu in spoken
    assert twiml._PROMPT_TEXT["menu"] not in spoken


def test_spanish_text_reply_comes_from_the_catalog(client):
    params = {"MessageSid": new_sid("SM"), "From": CALLER, "To": HELPLINE, "Body": "HELP", "NumMedia": "0"}
    response = post_signed(client, f"{PUBLIC_BASE_URL}/twilio/sms?lang=es", params)
    reply = "".join(parse_twiml(response.get_data(as_text=True), MESSAGING_VERBS).find("Message").itertext())
    translated = spanish(twiml._PROMPT_TEXT["sms_help"])
    middle = translated.split("{operator}")[1].split("{number}")[0]  # ": ayuda gratuita ... Llame al "
    assert middle.strip() and middle in reply
    assert "Reply STOP to opt out." not in reply


def test_twiml_follows_the_callers_language_not_the_pages(app, session):
    """force_locale: a request in English can still speak Spanish to a caller, and stays English."""
    helpline = twiml.Helpline(operator_name="Example", language="es")
    with app.test_request_context("/"):
        app.preprocess_request()
        assert str(get_locale()) == "en"
        spoken = said(parse_twiml(twiml.welcome_menu(helpline, f"{PUBLIC_BASE_URL}/twilio/voice/menu")))
        assert spanish(twiml._PROMPT_TEXT["menu"]) in spoken
        assert str(get_locale()) == "en"
        assert gettext("Call free") == "Call free"
    with app.test_request_context("/?lang=es"):
        app.preprocess_request()
        assert gettext("Call free") == spanish("Call free")
        english = twiml.Helpline(operator_name="Example", language="en")
        spoken = said(parse_twiml(twiml.welcome_menu(english, f"{PUBLIC_BASE_URL}/twilio/voice/menu")))
        assert twiml._PROMPT_TEXT["menu"] in spoken


def test_thank_you_time_is_formatted_by_babel_in_the_leads_language():
    from datetime import UTC, datetime

    from leadrouter.intake.contact_time import describe_local_time

    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    moment = datetime(2026, 1, 9, 22, 30, tzinfo=UTC)  # a Friday, 4:30 PM in Chicago
    assert (
        describe_local_time(moment, now, "America/Chicago", "en")
        == "4:30 PM Central time on Friday, January 9"
    )
    assert describe_local_time(moment, now, "America/Chicago", "es") == (
        "el viernes 9 de enero a las 4:30 p. m., hora del Centro"
    )
    # A zone outside the US table gets Babel's own name for it, in the lead's language.
    berlin = describe_local_time(moment, now, "Europe/Berlin", "en")
    assert berlin == "11:30 PM Central European Time on Friday, January 9"


# --- compiled at install, and a language is one catalog away -----------------------------


def test_the_app_refuses_to_start_without_compiled_catalogs(tmp_path, monkeypatch):
    copy = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, copy, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(i18n, "TRANSLATIONS_DIR", copy)
    with pytest.raises(i18n.MissingCatalogError, match="pybabel compile"):
        create_app(base_config(f"sqlite:///{tmp_path / 'db.sqlite'}", str(tmp_path / "instance")))


def test_a_third_language_is_one_catalog_away(tmp_path, monkeypatch):
    copy = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, copy)
    french = read_catalog(TRANSLATIONS / "messages.pot")
    french.locale = "fr"
    french["Ask for a call back"].string = "Demandez qu'on vous rappelle"
    (copy / "fr" / "LC_MESSAGES").mkdir(parents=True)
    with (copy / "fr" / "LC_MESSAGES" / "messages.po").open("wb") as handle:
        write_po(handle, french)
    with (copy / "fr" / "LC_MESSAGES" / "messages.mo").open("wb") as handle:
        write_mo(handle, french)
    monkeypatch.setattr(i18n, "TRANSLATIONS_DIR", copy)
    i18n.supported_languages.cache_clear()
    try:
        assert i18n.supported_languages() == ("en", "es", "fr")
        app = create_app(base_config(f"sqlite:///{tmp_path / 'db.sqlite'}", str(tmp_path / "instance")))
        page = app.test_client().get("/?lang=fr").get_data(as_text=True)
        assert "Demandez qu'on vous rappelle" in page  # translations are trusted text in templates
        assert '<html lang="fr">' in page
        assert 'hreflang="es"' in page and 'hreflang="en"' in page
        assert i18n.translate("fr", "Ask for a call back") == "Demandez qu'on vous rappelle"
    finally:
        i18n.supported_languages.cache_clear()
        i18n._standalone_translations.cache_clear()


def test_staff_times_are_formatted_by_babel_in_the_pages_language(app):
    from datetime import UTC, datetime

    from leadrouter.dashboard.presenters import local_time

    moment = datetime(2026, 11, 24, 20, 5, tzinfo=UTC)
    with app.test_request_context("/"):
        app.preprocess_request()
        assert local_time(moment, "America/Chicago") == "Tue Nov 24, 2:05 PM CST"
    with app.test_request_context("/?lang=es"):
        app.preprocess_request()
        assert local_time(moment, "America/Chicago") == "mar nov 24, 2:05 p. m. CST"


def test_staff_and_error_pages_come_from_the_catalog(client):
    login = client.get("/login?lang=es").get_data(as_text=True)
    assert spanish("Sign in") in login and spanish("Password") in login
    assert ">Password<" not in login
    missing = client.get("/no-such-page?lang=es", headers={"Accept": "text/html"})
    assert missing.status_code == 404
    page = missing.get_data(as_text=True)
    assert spanish("We could not find that page") in page and "We could not find that page" not in page
    english = client.get("/no-such-page?lang=en", headers={"Accept": "text/html"})  # chosen again
    assert "We could not find that page" in english.get_data(as_text=True)
