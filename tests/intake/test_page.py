"""GET /, /help/<state> and /help/<state>/<city>: what a person sees before sending the form."""

from __future__ import annotations

import pytest

from leadrouter.intake.consent import CONSENT_TEXT
from leadrouter.intake.forms import SUBSTANCES
from leadrouter.routing.severity import DSM_CRITERIA, DSM_LABELS
from tests.intake.conftest import page_of, static_url

FORM_FIELDS = {
    "name", "phone", "email", "for_whom", "patient_name", "state", "zip", "city",
    "substances", "dsm_criteria", "message", "language", "preferred_time",
    "voicemail_ok", "text_ok", "call_name", "consent", "website",
    "page_url", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
}  # fmt: skip


def test_helpline_page_shows_number_disclosure_emergency_notice_and_form(client):
    response = client.get("/")
    assert response.status_code == 200
    page = page_of(response)

    assert page.find_all("a", href="tel:+18005550100"), "the helpline number is a tel: link"
    assert "1-800-555-0100" in page.text
    summaries = [attrs for tag, attrs in page.elements if tag == "summary"]
    assert summaries and "Who answers?" in page.text
    assert "operated by Leadrouter Demo Helpline" in page.text
    assert "admissions advisors" in page.text
    assert page.find_all("a", href="tel:911") and page.find_all("a", href="tel:988")
    assert page.text.index("911") < page.text.index("Ask for a call back"), "emergency notice first"

    assert page.input_names() >= FORM_FIELDS
    assert [a["value"] for a in page.find_all("input", name="dsm_criteria")] == list(DSM_CRITERIA)
    for key in DSM_CRITERIA:
        assert DSM_LABELS[key] in page.text
    assert [a["value"] for a in page.find_all("input", name="substances")] == list(SUBSTANCES)
    assert CONSENT_TEXT["en"].format(operator="Leadrouter Demo Helpline") in page.text


def test_every_visible_input_has_a_label_and_groups_have_legends(client):
    page = page_of(client.get("/"))
    for tag, attrs in page.elements:
        if tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            assert attrs.get("id") in page.labels, f"{attrs.get('name')} has no label"
            assert page.labels[attrs["id"]], f"{attrs.get('name')} has an empty label"
    for legend in (
        "Which substances are involved?",
        "Who needs help?",
        "About you",
        "The person who needs help",
        "Permission to contact you",
    ):
        assert legend in " | ".join(page.legends)
    assert any("In the past 12 months" in legend for legend in page.legends)


def test_page_has_no_inline_script_and_loads_the_stylesheet(client):
    html = client.get("/").get_data(as_text=True)
    page = page_of(client.get("/"))
    # No script runs inline: the only script element is schema.org's JSON-LD, a data block.
    assert [s.get("type") for s in page.find_all("script")] == ["application/ld+json"]
    assert not any(key.startswith("on") for _tag, attrs in page.elements for key in attrs)
    assert not any("style" in attrs for _tag, attrs in page.elements)
    assert page.find_all("link", rel="stylesheet", href=static_url("css/app.css"))
    assert 'href="#main"' in html, "skip link"
    assert client.get("/static/css/app.css").status_code == 200


def test_honeypot_is_hidden_from_people(client):
    page = page_of(client.get("/"))
    (honeypot,) = page.find_all("input", name="website")
    assert honeypot["tabindex"] == "-1" and honeypot["autocomplete"] == "off"
    hidden_wrappers = [
        attrs for tag, attrs in page.elements if tag == "div" and "hp-field" in attrs.get("class", "")
    ]
    assert hidden_wrappers and hidden_wrappers[0]["aria-hidden"] == "true"


def test_spanish_page(client):
    response = client.get("/?lang=es")
    page = page_of(response)
    assert page.find_all("html", lang="es")
    assert "En una emergencia, llame al 911" in page.text
    assert "¿Quién contesta?" in page.text
    assert "Pida que le llamemos" in page.text
    assert page.labels["name"].startswith("Su nombre")
    assert page.labels["phone"] == "Número de teléfono"
    assert CONSENT_TEXT["es"].format(operator="Leadrouter Demo Helpline") in page.text
    assert page.find_all("form", action="/contact?lang=es")
    (checked,) = [a for a in page.find_all("input", name="language") if "checked" in a]
    assert checked["value"] == "es"


def test_page_carries_attribution_in_hidden_fields(client):
    response = client.get(
        "/?utm_source=google&utm_medium=cpc&utm_campaign=spring",
        headers={"Referer": "https://www.google.com/search?q=help"},
    )
    page = page_of(response)
    assert page.field_value("utm_source") == "google"
    assert page.field_value("utm_medium") == "cpc"
    assert page.field_value("utm_campaign") == "spring"
    assert page.field_value("referrer") == "https://www.google.com/search?q=help"
    assert page.field_value("page_url").endswith("/?utm_source=google&utm_medium=cpc&utm_campaign=spring")


@pytest.mark.parametrize(
    ("path", "code", "place"),
    [
        ("/help/tx", "TX", "Texas"),
        ("/help/TX", "TX", "Texas"),
        ("/help/texas", "TX", "Texas"),
        ("/help/new-york", "NY", "New York"),
        ("/help/tx/austin", "TX", "Austin, Texas"),
        ("/help/ca/san-diego", "CA", "San Diego, California"),
        ("/help/mo/st.-louis", "MO", "St. Louis, Missouri"),
    ],
)
def test_regional_page_presets_the_state(client, path, code, place):
    response = client.get(path)
    assert response.status_code == 200
    page = page_of(response)
    (heading,) = [text for tag, text in page.headings if tag == "h1"]
    assert heading.endswith(f"in {place}")
    selected = [attrs["value"] for tag, attrs in page.elements if tag == "option" and "selected" in attrs]
    assert code in selected
    assert page.find_all("a", href="tel:+18005550100")


def test_regional_page_has_a_canonical_address(client):
    page = page_of(client.get("/help/Texas/AUSTIN?utm_source=x"))
    (canonical,) = page.find_all("link", rel="canonical")
    assert canonical["href"].endswith("/help/tx/austin")


@pytest.mark.parametrize(
    "path", ["/help/zz", "/help/narnia", "/help/tx/<script>", "/help/tx/austin123", "/help/" + "x" * 80]
)
def test_unknown_places_are_404(client, path):
    assert client.get(path).status_code == 404


def test_a_city_outside_the_table_is_not_found_and_its_name_is_not_echoed(client):
    for path in ("/help/tx/o'fallon", "/help/tx/%3Cb%3Ezz%3C%2Fb%3E"):
        response = client.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 404, path
        assert "Fallon" not in html and "<b>zz" not in html
