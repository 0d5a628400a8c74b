"""The helpline's own number and operator, as pages and error pages show them."""

from __future__ import annotations

import phonenumbers
from flask import current_app


def helpline_details() -> dict:
    """The helpline number as a tel: link and as people write it, and who operates it."""
    e164 = current_app.config["HELPLINE_NUMBER"]
    number = phonenumbers.parse(e164, None)
    if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.TOLL_FREE:
        national = str(number.national_number)
        display = f"1-{national[:3]}-{national[3:6]}-{national[6:]}"
    else:
        display = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return {
        "e164": e164,
        "tel": f"tel:{e164}",
        "display": display,
        "operator": current_app.config["HELPLINE_OPERATOR"],
    }
