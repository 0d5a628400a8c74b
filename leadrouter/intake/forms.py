"""The helpline's contact form: field names from SPEC §2b, labels and messages in en and es.

The form only checks what a person typed; `lead_input` turns a valid form into the
LeadInput that the intake operation scores, merges and stores.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

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

# (English, Spanish) for every choice the form offers.
SUBSTANCE_LABELS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "heroin": ("Heroin", "Heroína"),
        "fentanyl": ("Fentanyl", "Fentanilo"),
        "prescription_opioids": (
            "Prescription painkillers (oxycodone, hydrocodone, …)",
            "Analgésicos recetados (oxicodona, hidrocodona, …)",
        ),
        "alcohol": ("Alcohol", "Alcohol"),
        "methamphetamine": ("Methamphetamine", "Metanfetamina"),
        "cocaine": ("Cocaine or crack", "Cocaína o crack"),
        "benzodiazepines": (
            "Benzodiazepines (Xanax, Valium, …)",
            "Benzodiacepinas (Xanax, Valium, …)",
        ),
        "other": ("Something else", "Otra sustancia"),
    }
)

DSM_LABELS_ES: Mapping[str, str] = MappingProxyType(
    {
        "larger_or_longer": "Termina usando más, o por más tiempo, de lo que pensaba",
        "cannot_cut_down": "Ha querido o intentado reducir o dejar el consumo, sin lograrlo",
        "time_spent": "Pasa mucho tiempo consiguiendo, usando o recuperándose de los opioides",
        "cravings": "Siente ganas o antojos fuertes de consumir",
        "role_failure": "El consumo le impide cumplir en el trabajo, la escuela o la casa",
        "social_problems": "Sigue consumiendo aunque le cause problemas con familia o amigos",
        "activities_given_up": "Ha dejado pasatiempos, trabajo o actividades por el consumo",
        "hazardous_use": "Consume en situaciones de riesgo, por ejemplo antes de manejar",
        "physical_or_psychological_harm": (
            "Sigue consumiendo aunque le cause o empeore problemas de salud física o mental"
        ),
        "tolerance": "Necesita más para sentir lo mismo, o la misma cantidad le hace menos efecto",
        "withdrawal": (
            "Se siente mal (sudores, dolores, náuseas) cuando no consume, o consume para evitarlo"
        ),
    }
)

PREFERRED_TIMES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "": ("Any time", "A cualquier hora"),
        "asap": ("As soon as possible", "Lo antes posible"),
        "morning": ("Morning (8 AM to noon)", "En la mañana (8 a. m. a mediodía)"),
        "afternoon": ("Afternoon (noon to 5 PM)", "En la tarde (mediodía a 5 p. m.)"),
        "evening": ("Evening (5 to 9 PM)", "En la noche (5 a 9 p. m.)"),
    }
)

FOR_WHOM: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "self": ("Me", "Para mí"),
        "loved_one": ("Someone I care about", "Para un ser querido"),
    }
)

LANGUAGE_NAMES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"en": ("English", "Inglés"), "es": ("Spanish", "Español")}
)

# Labels and hints, (English, Spanish). The consent label is the consent text itself.
LABELS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "name": ("Your name", "Su nombre"),
        "phone": ("Phone number", "Número de teléfono"),
        "email": ("Email (optional)", "Correo electrónico (opcional)"),
        "call_name": (
            "Name to ask for when we call (optional)",
            "Nombre por el que debemos preguntar al llamar (opcional)",
        ),
        "voicemail_ok": (
            "You may leave a voicemail if I don't answer",
            "Pueden dejarme un mensaje de voz si no contesto",
        ),
        "text_ok": ("You may send me text messages", "Pueden enviarme mensajes de texto"),
        "language": ("Language for the call", "Idioma para la llamada"),
        "preferred_time": ("Best time to call", "Mejor hora para llamar"),
        "for_whom": ("Who needs help?", "¿Quién necesita ayuda?"),
        "patient_name": (
            "Their first name (optional)",
            "Su nombre de pila (opcional)",
        ),
        "state": ("State", "Estado"),
        "zip": ("ZIP code (optional)", "Código postal (opcional)"),
        "city": ("City (optional)", "Ciudad (opcional)"),
        "substances": ("Which substances are involved?", "¿Qué sustancias están involucradas?"),
        "dsm_criteria": (
            "In the past 12 months, which of these are true? (optional)",
            "En los últimos 12 meses, ¿cuáles de estas cosas han pasado? (opcional)",
        ),
        "message": (
            "Anything you would like us to know? (optional)",
            "¿Algo más que quiera contarnos? (opcional)",
        ),
        "consent": ("Permission to contact you", "Permiso para contactarle"),
    }
)

MESSAGES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "name_required": ("Enter your name.", "Escriba su nombre."),
        "too_long": (
            "Use at most {max} characters (you used {used}).",
            "Use como máximo {max} caracteres (usó {used}).",
        ),
        "phone_invalid": (
            "Enter a phone number we can call, like (512) 555-0100.",
            "Escriba un número al que podamos llamar, como (512) 555-0100.",
        ),
        "contact_required": (
            "Enter a phone number or an email address so we can reach you.",
            "Escriba un teléfono o un correo electrónico para poder contactarle.",
        ),
        "email_invalid": (
            "Enter an email address like name@example.com.",
            "Escriba un correo como nombre@ejemplo.com.",
        ),
        "state_unknown": (
            "Choose a state from the list.",
            "Elija un estado de la lista.",
        ),
        "zip_invalid": (
            "A ZIP code is 5 digits, like 78701.",
            "El código postal tiene 5 dígitos, como 78701.",
        ),
        "choice_unknown": ("Choose one of the options.", "Elija una de las opciones."),
    }
)

# Fields shown as a group of radios or checkboxes: the first one is the error's anchor.
_GROUPS = frozenset({"language", "for_whom", "substances", "dsm_criteria"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_ZIP = re.compile(r"[0-9]{5}")
# C0/C1 control characters other than tab and newline: PostgreSQL refuses NUL, and
# none of them belongs in a name or a message.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def pick(pair: tuple[str, str], lang: str) -> str:
    """Return the Spanish half of an (en, es) pair for "es", else the English one."""
    return pair[1] if lang == "es" else pair[0]


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
        self.lang = lang if lang in LANGUAGES else "en"
        self._localize()

    def _localize(self) -> None:
        lang = self.lang
        for field_name, pair in LABELS.items():
            self[field_name].label.text = pick(pair, lang)
        self.language.choices = [(code, pick(LANGUAGE_NAMES[code], lang)) for code in LANGUAGES]
        self.preferred_time.choices = [(k, pick(v, lang)) for k, v in PREFERRED_TIMES.items()]
        self.for_whom.choices = [(k, pick(v, lang)) for k, v in FOR_WHOM.items()]
        self.state.choices = [("", "—")] + [(code, name) for code, name in US_STATES.items()]
        self.substances.choices = [(k, pick(SUBSTANCE_LABELS[k], lang)) for k in SUBSTANCES]
        criteria_labels = DSM_LABELS_ES if lang == "es" else DSM_LABELS
        self.dsm_criteria.choices = [(k, criteria_labels[k]) for k in DSM_CRITERIA]

    def error_text(self, key: str, **values) -> str:
        """A validation message in the form's language."""
        return pick(MESSAGES[key], self.lang).format(**values)

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
