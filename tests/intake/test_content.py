"""What the site teaches, in English and Spanish: overdose first, signs, detox, medications, levels of care,
what happens when you call, privacy, and the DSM-5 self-check with its result (no JavaScript here)."""

from __future__ import annotations

import pytest

from leadrouter.i18n import translate
from leadrouter.routing.severity import DSM_CRITERIA, DSM_LABELS
from tests.intake.conftest import VALID_FORM, page_of, static_url

CONTENT = ["/signs", "/treatment", "/privacy", "/self-check"]

# (count ticked, the severity's words, the level of care's words) - DSM-5: 2-3 mild, 4-5 moderate, 6+ severe.
RESULTS = [
    (0, "Fewer than 2 signs", "does not usually point to treatment"),
    (1, "Fewer than 2 signs", "does not usually point to treatment"),
    (2, "Mild: 2 or 3 signs", "outpatient care"),
    (3, "Mild: 2 or 3 signs", "outpatient care"),
    (4, "Moderate: 4 or 5 signs", "intensive outpatient care"),
    (5, "Moderate: 4 or 5 signs", "intensive outpatient care"),
    (6, "Severe: 6 or more signs", "residential or inpatient care"),
    (11, "Severe: 6 or more signs", "residential or inpatient care"),
]
NOT_A_DIAGNOSIS = (
    "This is a conversation starter, not a diagnosis. Only a doctor or a licensed counsellor can "
    "diagnose a substance use disorder."
)


def t(lang: str, message: str) -> str:
    return translate(lang, message)


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("path", CONTENT)
def test_every_content_page_exists_in_both_languages_with_the_number_and_the_notice_first(client, path, lang):
    response = client.get(f"{path}?lang={lang}")
    assert response.status_code == 200
    page = page_of(response)
    assert page.find_all("html", lang=lang)
    assert page.find_all("a", href="tel:+18005550100") and page.find_all("a", href="tel:988")
    emergency = t(lang, "In an emergency, call 911")
    (h1,) = [text for tag, text in page.headings if tag == "h1"]
    assert page.text.index(emergency) < page.text.index(h1), "the 911 / 988 notice comes first"
    assert page.find_all("link", rel="canonical", href=f"https://helpline.example.org{path}")
    (description,) = page.find_all("meta", name="description")
    assert description["content"]
    assert not [
        s for s in page.find_all("script") if not s.get("src") and s.get("type") != "application/ld+json"
    ]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_helpline_page_shows_an_overdose_and_what_to_do_before_the_form(client, lang):
    page = page_of(client.get(f"/?lang={lang}"))
    overdose = page.text.index(t(lang, "Signs of an opioid overdose"))
    assert overdose < page.text.index(t(lang, "Ask for a call back"))
    for message in (
        "Say that the person is not breathing or will not wake up.",
        "Give naloxone (Narcan) if you have it: one spray in one nostril. If nothing changes after 2 to 3 "
        "minutes, give another dose.",
        "If they are breathing, roll them onto their side in the recovery position, top knee bent and head "
        "tilted back, so they cannot choke.",
    ):
        assert t(lang, message) in page.text
    links = {a.get("href") for a in page.find_all("a")}
    assert {"/signs", "/self-check", "/treatment#detox", "/treatment#levels-of-care", "/privacy"} <= links


@pytest.mark.parametrize("lang", ["en", "es"])
def test_signs_of_use_physical_behavioural_and_paraphernalia_after_the_overdose(client, lang):
    page = page_of(client.get(f"/signs?lang={lang}"))
    headings = [text for _tag, text in page.headings]
    for heading in ("Physical signs", "Changes in behaviour", "Things you might find"):
        assert t(lang, heading) in headings
    assert page.text.index(t(lang, "Signs of an opioid overdose")) < page.text.index(
        t(lang, "Physical signs")
    )
    assert t(lang, "Burned spoons or bottle caps, and lighters") in page.text
    assert t(lang, "Very small (pinpoint) pupils") in page.text


@pytest.mark.parametrize("lang", ["en", "es"])
def test_withdrawal_detox_medications_levels_of_care_and_the_call(client, lang):
    page = page_of(client.get(f"/treatment?lang={lang}"))
    headings = [text for _tag, text in page.headings]
    for heading in (
        "What withdrawal feels like",
        "Why medically supervised detox matters",
        "Medications for opioid use disorder",
        "Levels of care",
        "What happens when you call",
    ):
        assert t(lang, heading) in headings
    for term in (
        "Buprenorphine",
        "Methadone",
        "Naltrexone",
        "Medically supervised detox",
        "Residential or inpatient care",
        "Intensive outpatient care",
        "Outpatient care",
    ):
        assert t(lang, term) in page.text
    assert "operated by" in page_of(client.get("/treatment?lang=en")).text


@pytest.mark.parametrize("lang", ["en", "es"])
def test_privacy_says_what_who_how_to_stop_and_how_long(app, client, lang, monkeypatch):
    monkeypatch.setitem(app.config, "RETENTION_DAYS", 90)
    page = page_of(client.get(f"/privacy?lang={lang}"))
    for heading in ("What we collect", "Who sees it", "How to stop contact", "How long we keep it"):
        assert t(lang, heading) in [text for _tag, text in page.headings]
    assert f"{90} {'days' if lang == 'en' else 'días'}" in page.text, "RETENTION_DAYS, as set"
    assert "STOP" in page.text


# --- the self-check, without JavaScript ------------------------------------------------


@pytest.mark.parametrize(("count", "label", "care"), RESULTS)
def test_see_my_result_shows_the_severity_and_the_usual_level_of_care(client, count, label, care):
    ticked = "".join(f"&dsm_criteria={key}" for key in DSM_CRITERIA[:count])
    page = page_of(client.get(f"/self-check?see=1{ticked}"))
    (box,) = [a for tag, a in page.elements if tag == "section" and a.get("id") == "result"]
    assert "hidden" not in box
    assert f"{count} of 11 signs" in page.text
    assert label in page.text
    assert care in page.text
    assert NOT_A_DIAGNOSIS in page.text
    checked = [a["value"] for a in page.find_all("input", name="dsm_criteria") if "checked" in a]
    assert checked == list(DSM_CRITERIA[:count]), "the answers stay ticked"


@pytest.mark.parametrize(
    ("count", "label"), [(1, "Fewer than 2 signs"), (3, "Mild: 2 or 3 signs"), (6, "Severe: 6 or more signs")]
)
def test_the_spanish_self_check_result(client, count, label):
    ticked = "".join(f"&dsm_criteria={key}" for key in DSM_CRITERIA[:count])
    page = page_of(client.get(f"/self-check?lang=es&see=1{ticked}"))
    assert t("es", label) in page.text
    assert f"{count} de 11 señales" in page.text
    assert t("es", NOT_A_DIAGNOSIS) in page.text
    for key in DSM_CRITERIA:
        assert t("es", DSM_LABELS[key]) in page.text


def test_the_self_check_lists_the_11_criteria_and_shows_no_result_before_it_is_asked(client):
    page = page_of(client.get("/self-check"))
    assert [a["value"] for a in page.find_all("input", name="dsm_criteria")] == list(DSM_CRITERIA)
    for key in DSM_CRITERIA:
        assert DSM_LABELS[key] in page.text
    (box,) = [a for tag, a in page.elements if tag == "section" and a.get("id") == "result"]
    assert "hidden" in box
    assert NOT_A_DIAGNOSIS in page.text, "labelled before any answer"
    assert page.find_all("script", src=static_url("js/self-check.js"))


def test_one_click_puts_the_answers_into_the_call_back_form(client):
    page = page_of(client.get("/self-check?see=1&dsm_criteria=cravings&dsm_criteria=tolerance"))
    (add,) = page.find_all("button", formaction="/#contact")
    assert add["type"] == "submit"
    # The button submits the same GET form to the helpline page: its checklist comes ticked.
    form = page_of(client.get("/?see=1&dsm_criteria=cravings&dsm_criteria=tolerance&dsm_criteria=bogus"))
    checked = [a["value"] for a in form.find_all("input", name="dsm_criteria") if "checked" in a]
    assert checked == ["cravings", "tolerance"]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_thank_you_page_shows_the_self_check_result(client, session, sent_tasks, lang):
    data = {**VALID_FORM, "dsm_criteria": list(DSM_CRITERIA[:4])}
    sent = client.post(f"/contact?lang={lang}", data=data)
    assert sent.status_code == 303
    page = page_of(client.get(sent.headers["Location"]))
    assert t(lang, "Your self-check result") in page.text
    assert t(lang, "Moderate: 4 or 5 signs") in page.text
    assert t(lang, NOT_A_DIAGNOSIS) in page.text


def test_the_thank_you_page_without_answers_shows_no_result(client, session, sent_tasks):
    sent = client.post("/contact", data={**VALID_FORM, "dsm_criteria": []})
    page = page_of(client.get(sent.headers["Location"]))
    assert "Your self-check result" not in page.text
