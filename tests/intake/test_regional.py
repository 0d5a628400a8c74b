"""/help, /help/<state>, /help/<state>/<city>, /sitemap.xml and /robots.txt: what people and crawlers find."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from leadrouter.intake.views import CONTENT_PAGES
from leadrouter.routing.places import all_cities, cities_in, find_city, slugify
from leadrouter.routing.states import US_STATES
from tests.intake.conftest import VALID_FORM, page_of, static_url

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
BASE = "https://helpline.example.org"


def meta(page, key: str, attr: str = "name") -> str:
    (tag,) = page.find_all("meta", **{attr: key})
    return tag["content"]


def json_ld(response) -> dict:
    html = response.get_data(as_text=True)
    start = html.index('<script type="application/ld+json">') + len('<script type="application/ld+json">')
    return json.loads(html[start : html.index("</script>", start)])


# --- the table --------------------------------------------------------------------


def test_the_city_table_has_the_300_largest_cities_each_with_a_state_and_zone():
    cities = all_cities()
    assert len(cities) >= 300
    assert [c.population for c in cities] == sorted((c.population for c in cities), reverse=True)
    assert {c.state for c in cities} <= set(US_STATES)
    assert all(c.timezone.startswith(("America/", "Pacific/")) for c in cities)
    assert len({(c.state, c.slug) for c in cities}) == len(cities)
    names = {(c.name, c.state) for c in cities}
    assert {("New York City", "NY"), ("Los Angeles", "CA"), ("Austin", "TX"), ("Honolulu", "HI")} <= names
    assert not names & {("Brooklyn", "NY"), ("Harlem", "NY"), ("Van Nuys", "CA")}, (
        "neighbourhoods are left out"
    )
    assert find_city("HI", "honolulu").timezone == "Pacific/Honolulu"
    assert find_city("AZ", "phoenix").timezone == "America/Phoenix"


def test_slugs_ignore_case_and_punctuation():
    assert slugify("St. Louis") == "st-louis"
    assert slugify("Winston-Salem") == "winston-salem"
    assert find_city("MO", "St.-Louis") == find_city("MO", "st-louis") is not None
    assert find_city("TX", "AUSTIN").name == "Austin"
    assert find_city("TX", "san-diego") is None, "a city is found only in its own state"


# --- the directory ----------------------------------------------------------------


def test_the_directory_lists_every_state_and_every_city(client):
    response = client.get("/help")
    assert response.status_code == 200
    page = page_of(response)
    links = {a["href"] for a in page.find_all("a") if "href" in a}
    for code, name in US_STATES.items():
        assert f"/help/{code.lower()}" in links and name in page.text
    for city in all_cities():
        assert f"/help/{city.state.lower()}/{city.slug}" in links
    assert page.find_all("a", href="tel:+18005550100") and page.find_all("a", href="tel:911")
    assert page.find_all("link", rel="canonical", href=f"{BASE}/help")


def test_the_spanish_directory(client):
    page = page_of(client.get("/help?lang=es"))
    assert page.find_all("html", lang="es")
    assert ("h1", "Ayuda en cada estado y ciudad") in page.headings


# --- state and city pages ---------------------------------------------------------


def test_a_state_page_lists_its_cities_and_keeps_its_heading_local_time_and_form(client):
    page = page_of(client.get("/help/tx"))
    (heading,) = [text for tag, text in page.headings if tag == "h1"]
    assert heading.endswith("in Texas")
    assert "Local time in Texas:" in page.text and "Central time" in page.text
    selected = [attrs["value"] for tag, attrs in page.elements if tag == "option" and "selected" in attrs]
    assert "TX" in selected
    links = {a.get("href") for a in page.find_all("a")}
    assert {f"/help/tx/{c.slug}" for c in cities_in("TX")} <= links
    assert "/help/tx/austin" in links and "/help/tx/houston" in links
    assert "/help" in links and "/" in links, "links back up"


def test_a_city_page_has_its_own_title_description_local_time_and_links_back_up(client):
    page = page_of(client.get("/help/az/phoenix"))
    html = client.get("/help/az/phoenix").get_data(as_text=True)
    assert "<title>Opioid and drug addiction help in Phoenix, Arizona · 1-800-555-0100</title>" in html
    assert "Phoenix, Arizona" in meta(page, "description")
    assert "Local time in Phoenix:" in page.text and "Mountain time" in page.text
    (heading,) = [text for tag, text in page.headings if tag == "h1"]
    assert heading.endswith("in Phoenix, Arizona")
    crumbs = [a["href"] for a in page.find_all("a") if a.get("href") in ("/", "/help", "/help/az")]
    assert {"/", "/help", "/help/az"} <= set(crumbs)
    assert page.input_names() >= {"name", "phone", "state", "consent"}, "the same form"


def test_every_city_page_answers_with_its_own_title(client):
    titles = set()
    for city in all_cities():
        response = client.get(f"/help/{city.state.lower()}/{city.slug}")
        assert response.status_code == 200, city
        html = response.get_data(as_text=True)
        titles.add(html[html.index("<title>") : html.index("</title>")])
    assert len(titles) == len(all_cities())


def test_each_page_has_canonical_description_open_graph_and_the_organisations_json_ld(client):
    for path in ("/", "/help", "/help/tx", "/help/tx/austin"):
        response = client.get(path)
        page = page_of(response)
        (canonical,) = page.find_all("link", rel="canonical")
        assert canonical["href"] == BASE + path
        assert meta(page, "description")
        assert meta(page, "og:url", "property") == BASE + path
        assert meta(page, "og:title", "property") and meta(page, "og:description", "property")
        data = json_ld(response)
        assert data["@context"] == "https://schema.org" and data["@type"] == "Organization"
        assert data["telephone"] == "+18005550100"
        (contact,) = data["contactPoint"]
        assert contact["@type"] == "ContactPoint" and contact["telephone"] == "+18005550100"
        assert "Spanish" in contact["availableLanguage"]


def test_the_spanish_city_page(client):
    page = page_of(client.get("/help/tx/austin?lang=es"))
    assert "Austin, Texas" in meta(page, "description") and "Ayuda gratuita" in meta(page, "description")
    assert meta(page, "og:locale", "property") == "es_US"
    assert "Hora local en Austin:" in page.text


# --- one address per page ---------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/help/tx/austin/", "/help/tx/austin"),
        ("/help/TX/Austin/", "/help/tx/austin"),
        ("/help/texas/austin/", "/help/tx/austin"),
        ("/help/mo/st.-louis/", "/help/mo/st-louis"),
        ("/help/tx/", "/help/tx"),
        ("/help/Texas/", "/help/tx"),
        ("/help/", "/help"),
        ("/help/tx/austin/?utm_source=x", "/help/tx/austin?utm_source=x"),
    ],
)
def test_other_spellings_with_a_trailing_slash_redirect_to_the_canonical_address(client, path, location):
    response = client.get(path)
    assert response.status_code == 301
    assert response.headers["Location"] == location


@pytest.mark.parametrize(
    "path",
    [
        "/help/zz",
        "/help/zz/austin",
        "/help/tx/austin123",
        "/help/zz/",
        "/help/tx/narnia/",
        "/help/tx/zzqqx",
        "/help/ca/austin",
        "/help/texas/narnia",
    ],
)
def test_unknown_places_are_the_styled_404_with_the_number(client, path):
    response = client.get(path)
    assert response.status_code == 404
    page = page_of(response)
    assert page.find_all("a", href="tel:+18005550100") and page.find_all("a", href="tel:911")
    assert page.find_all("link", rel="stylesheet", href=static_url("css/app.css"))
    assert ("h1", "We could not find that page") in page.headings


def test_a_city_is_found_only_in_its_own_state_and_keeps_its_canonical_address(client):
    assert client.get("/help/ca/los-angeles").status_code == 200
    assert client.get("/help/ca/austin").status_code == 404
    assert client.get("/help/tx/Austin").status_code == 200
    assert client.get("/help/texas/austin/").headers["Location"] == "/help/tx/austin"


# --- for crawlers -----------------------------------------------------------------


def test_the_sitemap_lists_every_public_page_and_its_spanish_version(client):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    root = ET.fromstring(response.data)
    locs = [url.findtext(f"{SITEMAP}loc") for url in root.iter(f"{SITEMAP}url")]
    assert len(locs) == len(set(locs)) == 2 + len(CONTENT_PAGES) + len(US_STATES) + len(all_cities())
    assert {f"{BASE}/signs", f"{BASE}/self-check", f"{BASE}/treatment", f"{BASE}/privacy"} <= set(locs)
    assert {f"{BASE}/", f"{BASE}/help", f"{BASE}/help/tx", f"{BASE}/help/tx/austin"} <= set(locs)
    assert not [loc for loc in locs if "/login" in loc or "/thanks" in loc or "/api/" in loc]
    alternates = [link.get("href") for link in root.iter("{http://www.w3.org/1999/xhtml}link")]
    assert f"{BASE}/help/tx/austin?lang=es" in alternates
    for loc in locs[:5] + locs[-3:]:
        assert client.get(loc.removeprefix(BASE)).status_code == 200, loc


def test_robots_points_to_the_sitemap_and_keeps_crawlers_out_of_staff_pages_and_the_api(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "User-agent: *"
    disallowed = {line.removeprefix("Disallow: ") for line in lines if line.startswith("Disallow: ")}
    assert {
        "/api/",
        "/twilio/",
        "/dashboard",
        "/leads/",
        "/team",
        "/reports",
        "/login",
        "/thanks/",
    } <= disallowed
    assert "/" not in disallowed and "/help" not in disallowed
    assert f"Sitemap: {BASE}/sitemap.xml" in lines


@pytest.mark.parametrize(
    ("page_url", "heading"),
    [
        (f"{BASE}/help/tx/austin?utm_source=x", "in Austin, Texas"),
        ("/help/texas", "in Texas"),
        (f"{BASE}/help/mo/st.-louis", "in St. Louis, Missouri"),
        (f"{BASE}/help/tx/o'fallon", "Talk to someone about opioid and drug use"),
        (f"{BASE}/", "Talk to someone about opioid and drug use"),
        ("https://elsewhere.example/help/zz/nowhere", "Talk to someone about opioid and drug use"),
    ],
)
def test_after_a_form_error_the_page_keeps_its_place_in_the_heading(client, page_url, heading):
    response = client.post("/contact", data={**VALID_FORM, "phone": "12345", "page_url": page_url})
    assert response.status_code == 422
    page = page_of(response)
    (h1,) = [text for tag, text in page.headings if tag == "h1"]
    assert h1.endswith(heading)
    assert page.field_value("page_url") == page_url, "the page's address is still sent"


def test_every_page_links_the_favicon_and_the_touch_icon(client):
    for path in ("/", "/help/tx/austin", "/signs", "/login", "/api/v1/docs"):
        page = page_of(client.get(path))
        icons = {(a["rel"], a["href"]) for a in page.find_all("link") if "icon" in a.get("rel", "")}
        assert ("icon", static_url("icons/favicon.svg")) in icons, path
        assert ("apple-touch-icon", static_url("icons/apple-touch-icon.png")) in icons, path
    assert client.get("/static/icons/favicon.svg").mimetype == "image/svg+xml"
    touch = client.get("/static/icons/apple-touch-icon.png")
    assert touch.mimetype == "image/png" and touch.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert touch.data[16:24] == (180).to_bytes(4, "big") * 2, "180 x 180"
    assert client.get("/favicon.ico").headers["Location"] == "/static/icons/favicon-32.png"


def test_the_api_docs_page_takes_its_style_from_a_static_file_the_csp_allows(client):
    response = client.get("/api/v1/docs")
    html = response.get_data(as_text=True)
    assert "<style" not in html and " style=" not in html
    assert "style-src 'self'" in response.headers["Content-Security-Policy"]
    assert page_of(response).find_all("link", rel="stylesheet", href=static_url("css/api-docs.css"))
    css = client.get("/static/css/api-docs.css")
    assert css.status_code == 200 and ".method" in css.get_data(as_text=True)
