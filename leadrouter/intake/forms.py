"""The helpline's contact form: field names from SPEC §2b; labels and messages from the catalogs.

The form only checks what a person typed; `lead_input` turns a valid form into the
LeadInput that the intake operation scores, merges and stores.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

from flask_babel import LazyString, lazy_gettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import ValidationError

from leadrouter.i18n import supported_languages
from leadrouter.intake.operations import ConsentInput, LeadInput
from leadrouter.models.lead import SUBSTANCES
from leadrouter.routing.phone import parse_phone
from leadrouter.routing.severity import DSM_CRITERIA, DSM_LABELS
from leadrouter.routing.states import US_STATES, normalize_state
from leadrouter.routing.vocabulary import LANGUAGES

MESSAGE_MAX = 5000
NAME_MAX = 200
CALL_NAME_MAX = 100
CITY_MAX = 120
EMAIL_MAX = 254
PHONE_MAX = 64
URL_MAX = 2000
UTM_MAX = 200
UTM_KEYS = ("source", "medium", "campaign", "term", "content")

# Every choice the form offers; translated in leadrouter/translations.
SUBSTANCE_LABELS: Mapping[str, LazyString] = MappingProxyType(
    {
        "heroin": lazy_gettext("Heroin"),
        "fentanyl": lazy_gettext("Fentanyl"),
        "prescription_opioids": lazy_gettext("Prescription painkillers (oxycodone, hydrocodone, …)"),
        "alcohol": lazy_gettext("Alcohol"),
        "methamphetamine": lazy_gettext("Methamphetamine"),
        "cocaine": lazy_gettext("Cocaine or crack"),
        "benzodiazepines": lazy_gettext("Benzodiazepines (Xanax, Valium, …)"),
        "other": lazy_gettext("Something else"),
    }
)

PREFERRED_TIMES: Mapping[str, LazyString] = MappingProxyType(
    {
        "": lazy_gettext("Any time"),
        "asap": lazy_gettext("As soon as possible"),
        "morning": lazy_gettext("Morning (8 AM to noon)"),
        "afternoon": lazy_gettext("Afternoon (noon to 5 PM)"),
        "evening": lazy_gettext("Evening (5 to 9 PM)"),
    }
)

FOR_WHOM: Mapping[str, LazyString] = MappingProxyType(
    {
        "self": lazy_gettext("Me"),
        "loved_one": lazy_gettext("Someone I care about"),
    }
)

LANGUAGE_NAMES: Mapping[str, LazyString] = MappingProxyType(
    {"en": lazy_gettext("English"), "es": lazy_gettext("Spanish")}
)

# Labels and hints. The consent label is the consent text itself.
LABELS: Mapping[str, LazyString] = MappingProxyType(
    {
        "name": lazy_gettext("Your name"),
        "phone": lazy_gettext("Phone number"),
        "email": lazy_gettext("Email (optional)"),
        "call_name": lazy_gettext("Name to ask for when we call (optional)"),
        "voicemail_ok": lazy_gettext("You may leave a voicemail if I don't answer"),
        "text_ok": lazy_gettext("You may send me text messages"),
        "language": lazy_gettext("Language for the call"),
        "preferred_time": lazy_gettext("Best time to call"),
        "for_whom": lazy_gettext("Who needs help?"),
        "patient_name": lazy_gettext("Their first name (optional)"),
        "state": lazy_gettext("State"),
        "zip": lazy_gettext("ZIP code (optional)"),
        "city": lazy_gettext("City (optional)"),
        "substances": lazy_gettext("Which substances are involved?"),
        "dsm_criteria": lazy_gettext("In the past 12 months, which of these are true? (optional)"),
        "message": lazy_gettext("Anything you would like us to know? (optional)"),
        "consent": lazy_gettext("Permission to contact you"),
    }
)

MESSAGES: Mapping[str, LazyString] = MappingProxyType(
    {
        "name_required": lazy_gettext("Enter your name."),
        "too_long": lazy_gettext("Use at most %(max)s characters (you used %(used)s)."),
        "phone_invalid": lazy_gettext("Enter a phone number we can call, like (512) 555-0100."),
        "contact_required": lazy_gettext("Enter a phone number or an email address so we can reach you."),
        "email_invalid": lazy_gettext("Enter an email address like name@example.com."),
        "state_unknown": lazy_gettext("Choose a state from the list."),
        "zip_invalid": lazy_gettext("A ZIP code is 5 digits, like 78701."),
        "choice_unknown": lazy_gettext("Choose one of the options."),
    }
)

# Fields shown as a group of radios or checkboxes: the first one is the error's anchor.
_GROUPS = frozenset({"language", "for_whom", "substances", "dsm_criteria"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_ZIP = re.compile(r"[0-9]{5}")
# C0/C1 control characters other than tab and newline: PostgreSQL refuses NUL, and
# none of them belongs in a name or a message.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(value):
    """Strip surrounding space and control characters (keeping newlines); None stays None."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", str(value)).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


class CheckboxGroupField(SelectMultipleField):
    """A group of checkboxes sharing one name; unknown values are a field error."""

    def pre_validate(self, form):
        known = {value for value, _label in self.choices}
        if any(value not in known for value in self.data or ()):
            raise ValidationError(form.error_text("choice_unknown"))


class LenientSelectField(SelectField):
    """A select whose value is checked by the form's own validator, in the form's language."""

    def pre_validate(self, form):
        pass


class ContactForm(FlaskForm):
    """POST /contact: the person filling the form is the contact; patient_name is whom it's for."""

    # About the person filling in the form (the contact).
    name = StringField(filters=[clean_text])
    phone = StringField(filters=[clean_text])
    email = StringField(filters=[clean_text])
    call_name = StringField(filters=[clean_text])
    voicemail_ok = BooleanField()
    text_ok = BooleanField()
    language = LenientSelectField(choices=list(LANGUAGES), default="en")
    preferred_time = LenientSelectField(choices=list(PREFERRED_TIMES), default="")

    # About the person who needs help.
    for_whom = LenientSelectField(choices=list(FOR_WHOM), default="self")
    patient_name = StringField(filters=[clean_text])
    state = LenientSelectField(choices=[""] + list(US_STATES), default="")
    zip = StringField(filters=[clean_text])
    city = StringField(filters=[clean_text])
    substances = CheckboxGroupField(choices=list(SUBSTANCES))
    dsm_criteria = CheckboxGroupField(choices=list(DSM_CRITERIA))
    message = TextAreaField(filters=[clean_text])

    consent = BooleanField()

    # Hidden from people; bots fill every field they find.
    website = StringField()

    # Attribution, carried from the page's URL and Referer header.
    page_url = HiddenField(filters=[clean_text])
    referrer = HiddenField(filters=[clean_text])
    utm_source = HiddenField(filters=[clean_text])
    utm_medium = HiddenField(filters=[clean_text])
    utm_campaign = HiddenField(filters=[clean_text])
    utm_term = HiddenField(filters=[clean_text])
    utm_content = HiddenField(filters=[clean_text])

    # The order errors are listed in the summary: the order of the page.
    FIELD_ORDER = (
        "name",
        "phone",
        "email",
        "call_name",
        "language",
        "preferred_time",
        "for_whom",
        "patient_name",
        "state",
        "zip",
        "city",
        "substances",
        "dsm_criteria",
        "message",
    )

    def __init__(self, *args, lang: str = "en", **kwargs):
        super().__init__(*args, **kwargs)
        # The page's language (Flask-Babel's locale); labels and messages follow it.
        self.lang = lang if lang in supported_languages() else "en"
        self._label()

    def _label(self) -> None:
        for field_name, label in LABELS.items():
            self[field_name].label.text = label
        self.language.choices = [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]
        self.preferred_time.choices = list(PREFERRED_TIMES.items())
        self.for_whom.choices = list(FOR_WHOM.items())
        self.state.choices = [("", "—")] + [(code, name) for code, name in US_STATES.items()]
        self.substances.choices = [(k, SUBSTANCE_LABELS[k]) for k in SUBSTANCES]
        self.dsm_criteria.choices = [(k, lazy_gettext(DSM_LABELS[k])) for k in DSM_CRITERIA]

    def error_text(self, key: str, **values) -> str:
        """A validation message in the page's language."""
        message = str(MESSAGES[key])
        return message % values if values else message

    # --- field checks (WTForms calls validate_<name>) ---------------------------

    def _max_length(self, field, maximum: int) -> None:
        if field.data and len(field.data) > maximum:
            raise ValidationError(self.error_text("too_long", max=maximum, used=len(field.data)))

    def validate_name(self, field):
        if not field.data:
            raise ValidationError(self.error_text("name_required"))
        self._max_length(field, NAME_MAX)

    def validate_phone(self, field):
        if not field.data:
            if not self.email.data:
                raise ValidationError(self.error_text("contact_required"))
            return
        if len(field.data) > PHONE_MAX or not parse_phone(field.data).valid:
            raise ValidationError(self.error_text("phone_invalid"))

    def validate_email(self, field):
        if not field.data:
            return
        if len(field.data) > EMAIL_MAX or not _EMAIL.fullmatch(field.data):
            raise ValidationError(self.error_text("email_invalid"))

    def validate_call_name(self, field):
        self._max_length(field, CALL_NAME_MAX)

    def validate_patient_name(self, field):
        self._max_length(field, NAME_MAX)

    def validate_city(self, field):
        self._max_length(field, CITY_MAX)

    def validate_message(self, field):
        self._max_length(field, MESSAGE_MAX)

    def validate_language(self, field):
        self._one_of(field, LANGUAGES)

    def validate_preferred_time(self, field):
        self._one_of(field, PREFERRED_TIMES)

    def validate_for_whom(self, field):
        self._one_of(field, FOR_WHOM)

    def _one_of(self, field, allowed) -> None:
        if field.data not in allowed:
            raise ValidationError(self.error_text("choice_unknown"))

    def validate_state(self, field):
        if not field.data:
            field.data = ""
            return
        code = normalize_state(field.data)
        if code is None:
            raise ValidationError(self.error_text("state_unknown"))
        field.data = code

    def validate_zip(self, field):
        if field.data and not (field.data.isascii() and _ZIP.fullmatch(field.data)):
            raise ValidationError(self.error_text("zip_invalid"))

    # --- results ---------------------------------------------------------------

    @property
    def is_bot(self) -> bool:
        """Whether the hidden honeypot field was filled in."""
        return bool((self.website.data or "").strip())

    def ordered_errors(self) -> list[tuple[str, str, str]]:
        """(field name, anchor id, first message) for each invalid field, in page order."""
        errors = []
        for field_name in self.FIELD_ORDER:
            field = self[field_name]
            if field.errors:
                anchor = f"{field.id}-0" if field_name in _GROUPS else field.id
                errors.append((field_name, anchor, field.errors[0]))
        return errors

    def lead_input(self, consent: ConsentInput, page_url: str | None) -> LeadInput:
        """The validated form as one web-form touch for the intake operation."""
        utm = {key: _cut(self[f"utm_{key}"].data, UTM_MAX) for key in UTM_KEYS}
        return LeadInput(
            source="web_form",
            name=self.name.data,
            phone=self.phone.data or None,
            email=self.email.data or None,
            for_whom=self.for_whom.data,
            patient_name=self.patient_name.data or None,
            state=self.state.data or None,
            zip=self.zip.data or None,
            city=self.city.data or None,
            substances=tuple(self.substances.data or ()),
            dsm_criteria=tuple(self.dsm_criteria.data or ()),
            message=self.message.data or None,
            language=self.language.data,
            preferred_time=self.preferred_time.data or None,
            contact_preferences={
                "voicemail_ok": bool(self.voicemail_ok.data),
                "text_ok": bool(self.text_ok.data),
                "call_name": self.call_name.data or None,
            },
            consent=consent,
            page_url=page_url,
            referrer=_cut(self.referrer.data, URL_MAX),
            utm={key: value for key, value in utm.items() if value},
        )


def _cut(value: str | None, limit: int) -> str | None:
    """Hidden attribution fields are not the person's to fix: trim instead of refusing."""
    return value[:limit] if value else None
