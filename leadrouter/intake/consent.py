"""The consent wording shown next to the form's checkbox, versioned and stored with each lead.

The ledger keeps the exact text a person saw, so the wording is never edited in place:
change it by adding a new version and pointing CONSENT_VERSION at it. Old versions stay
here so a stored record can always be compared with the text of its version.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from leadrouter.i18n import N_, SOURCE_LANGUAGE, TranslatedText

CONSENT_VERSION = "web-2026-01"

# {operator} is the helpline's operator (HELPLINE_OPERATOR); the stored text has it filled in.
# Each version's English wording is its msgid in the gettext catalogs, which hold its
# translations; a translation is never edited in place either: new wording, new version.
CONSENT_TEXTS: Mapping[str, str] = MappingProxyType(
    {
        "web-2026-01": N_(
            "I agree that admissions advisors of {operator} may call me, and text me "
            "if I allow texts above, at the phone number I gave, to talk about "
            "treatment options. Calls may be placed with automated dialing. Agreeing "
            "is not a condition of any purchase or of getting help: I can call the "
            "helpline instead. Message and data rates may apply. I can withdraw at "
            "any time by saying so on a call or replying STOP to a text."
        ),
    }
)

# The current version's text in every language: CONSENT_TEXT["es"].
CONSENT_TEXT: Mapping[str, str] = TranslatedText(CONSENT_TEXTS[CONSENT_VERSION])


def consent_text(language: str, operator: str, version: str = CONSENT_VERSION) -> str:
    """Return the exact consent sentence shown in `language` (English when unknown)."""
    texts = TranslatedText(CONSENT_TEXTS[version])
    return texts.get(language, texts[SOURCE_LANGUAGE]).format(operator=operator)


# What a caller agrees to on the phone: the exact prompt they answered, by pressing 1 on
# hold (a call back), by leaving a message after being told we will call them back, or by
# leaving the line without an advisor after the first hold turn told them we would call back
# and they did not press 9 (phone-hold-callback-1).
# The telephony prompts use these same texts, so the record is what the caller heard.
PHONE_CALLBACK_VERSION = "phone-callback-1"
PHONE_VOICEMAIL_VERSION = "phone-voicemail-1"
PHONE_HOLD_CALLBACK_VERSION = "phone-hold-callback-1"
PHONE_CONSENT_TEXTS: Mapping[str, str] = MappingProxyType(
    {
        PHONE_CALLBACK_VERSION: N_("To ask for a call back instead, press 1."),
        PHONE_VOICEMAIL_VERSION: N_(
            "If you like, leave a message after the tone: your first name, a number where it is "
            "safe to call you back, and a good time to reach you. Press the pound key when you are done."
        ),
        PHONE_HOLD_CALLBACK_VERSION: N_(
            "If we get cut off, an advisor will call you back at this number. If a call back is not "
            "safe for you, press 9."
        ),
    }
)


def phone_consent_text(version: str, language: str) -> str:
    """The prompt a caller answered, in the language they heard it (English when unknown)."""
    texts = TranslatedText(PHONE_CONSENT_TEXTS[version])
    return texts.get(language, texts[SOURCE_LANGUAGE])
