"""Flask-Babel set-up: the languages the catalogs provide, the page's locale, and text in a chosen language.

The supported languages are the catalogs present in ``leadrouter/translations`` (plus
English, the language of the source strings): adding a language is adding a catalog.
The compiled ``.mo`` files are built at install (``pybabel compile``); the app refuses to
start without them rather than silently answering in English.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations
from flask import Flask, g, has_app_context, has_request_context, request
from flask_babel import Babel, force_locale, get_translations

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"
# The language the source strings are written in, and the answer when nothing chose one.
SOURCE_LANGUAGE = "en"
COMPILE_COMMAND = "pybabel compile -d leadrouter/translations"


class MissingCatalogError(RuntimeError):
    """A catalog has no compiled .mo file next to its .po file."""


@cache
def supported_languages() -> tuple[str, ...]:
    """English, then every language with a catalog under leadrouter/translations, in order."""
    found = sorted(path.parent.parent.name for path in TRANSLATIONS_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE_LANGUAGE, *(lang for lang in found if lang != SOURCE_LANGUAGE))


def check_compiled_catalogs() -> None:
    """Raise MissingCatalogError when any catalog's .mo file is missing."""
    missing = [
        str(po.with_suffix(".mo").relative_to(TRANSLATIONS_DIR.parent.parent))
        for po in sorted(TRANSLATIONS_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
        if not po.with_suffix(".mo").is_file()
    ]
    if missing:
        raise MissingCatalogError(
            f"compiled translations missing ({', '.join(missing)}): run `{COMPILE_COMMAND}` "
            "(python3 run.py and the Dockerfile do it at install)"
        )


# The visitor's choice of language (``?lang=``), remembered for every later page.
LANGUAGE_COOKIE = "lang"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
# Machines, not visitors: the API and Twilio's webhooks follow ``?lang=`` only (a call or a
# text is in the caller's language, never a browser's).
_MACHINE_PATHS = ("/api/", "/twilio/", "/healthz", "/readyz")


def request_language() -> str:
    """The page's language: ``?lang=``, the remembered choice (cookie), Accept-Language, or English.

    Outside a request (a template rendered by a task or a command) it is English.
    """
    if not has_request_context():
        return SOURCE_LANGUAGE
    supported = supported_languages()
    lang = request.args.get("lang")
    if lang in supported:
        return lang
    if request.path.startswith(_MACHINE_PATHS):
        return SOURCE_LANGUAGE
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    if remembered in supported:
        return remembered
    return request.accept_languages.best_match(supported) or SOURCE_LANGUAGE


def _remember_language(response):
    """Keep a visitor's ``?lang=`` choice in a cookie; the page depends on that cookie and Accept-Language."""
    if request.path.startswith(_MACHINE_PATHS) or request.endpoint == "static":
        return response
    response.vary.update(("Cookie", "Accept-Language"))
    lang = request.args.get("lang")
    if lang in supported_languages() and request.cookies.get(LANGUAGE_COOKIE) != lang:
        response.set_cookie(
            LANGUAGE_COOKIE,
            lang,
            max_age=LANGUAGE_COOKIE_MAX_AGE,
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
    return response


def init_app(app: Flask) -> None:
    """Register Flask-Babel with leadrouter's catalogs and locale selector; fail without .mo files."""
    check_compiled_catalogs()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", SOURCE_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    Babel(app, locale_selector=request_language)
    app.before_request(_choose_locale_afresh)
    app.after_request(_remember_language)


def _choose_locale_afresh() -> None:
    # Flask-Babel caches the locale on `g`; a request that reuses an app context (the test
    # client inside one, a request in a CLI command) must choose its own.
    g.pop("_flask_babel", None)


def translations_for(lang: str) -> NullTranslations:
    """The compiled catalog of ``lang``: Flask-Babel's (force_locale) inside the app, else read directly.

    TwiML and texts are spoken in the caller's language, not the request's, and the
    TwiML builders are pure functions that also run without an app.
    """
    if lang not in supported_languages():
        raise ValueError(f"language must be one of {supported_languages()}, not {lang!r}")
    if has_app_context():
        with force_locale(lang):
            return get_translations()
    return _standalone_translations(lang)


def N_(message: str) -> str:
    """Mark ``message`` for extraction and return it untranslated (gettext's noop idiom).

    For text defined at import time and translated later, in the language of its reader.
    """
    return message


def translate(lang: str, message: str) -> str:
    """``message`` (an English msgid) in ``lang``, from the compiled catalogs."""
    return translations_for(lang).gettext(message)


@cache
def _standalone_translations(lang: str) -> NullTranslations:
    if lang == SOURCE_LANGUAGE:
        return NullTranslations()
    check_compiled_catalogs()
    return Translations.load(str(TRANSLATIONS_DIR), [lang], DOMAIN)


class TranslatedText(Mapping[str, str]):
    """One English msgid in every supported language, read from the catalogs: ``text["es"]``."""

    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message

    def __getitem__(self, lang: str) -> str:
        if lang not in supported_languages():
            raise KeyError(lang)
        return translate(lang, self.message)

    def __iter__(self) -> Iterator[str]:
        return iter(supported_languages())

    def __len__(self) -> int:
        return len(supported_languages())

    def __repr__(self) -> str:
        return f"TranslatedText({self.message!r})"
