"""HTTP caching of the public site: fingerprinted static files, ETags and 304s, and what is never cached."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

import leadrouter
from tests.dashboard.conftest import manager_client, manager_user  # noqa: F401  (fixtures used below)
from tests.intake.conftest import VALID_FORM, page_of
from tests.intake.test_protection import own_app  # noqa: F401  (a fixture used below)

STATIC = Path(leadrouter.__file__).resolve().parent / "static"
YEAR = "public, max-age=31536000, immutable"
# Pages without the form: the same for every anonymous visitor with the same address and language.
SHARED_PAGES = [
    "/signs",
    "/treatment",
    "/privacy",
    "/self-check",
    "/self-check?see=1&dsm_criteria=cravings",
    "/help",
]
# Pages with the form: a CSRF token tied to the visitor's session.
FORM_PAGES = ["/", "/help/tx", "/help/tx/austin"]


def cache_control(response) -> set[str]:
    return {part.strip() for part in response.headers.get("Cache-Control", "").split(",") if part.strip()}


@pytest.fixture
def csrf_client(own_app):  # noqa: F811
    """A visitor of the site as deployed: CSRF on."""
    return own_app(WTF_CSRF_ENABLED=True).test_client()


def test_static_urls_carry_the_files_content_hash_and_are_kept_for_a_year(client):
    html = client.get("/").get_data(as_text=True)
    (stylesheet,) = re.findall(r'href="(/static/css/app\.css[^"]*)"', html)
    expected = hashlib.sha256((STATIC / "css/app.css").read_bytes()).hexdigest()[:12]
    assert stylesheet == f"/static/css/app.css?v={expected}"

    response = client.get(stylesheet)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == YEAR
    assert "Cookie" not in response.headers.get("Vary", ""), "the same file for everyone"
    assert response.get_data() == (STATIC / "css/app.css").read_bytes()


@pytest.mark.parametrize("query", ["", "?v=0123456789ab"])
def test_a_static_url_without_the_current_hash_still_works_but_is_kept_briefly(client, query):
    response = client.get(f"/static/js/self-check.js{query}")
    assert response.status_code == 200
    assert cache_control(response) == {"public", "max-age=300"}


def test_every_static_file_a_public_page_links_is_fingerprinted(client):
    for path in [*SHARED_PAGES, *FORM_PAGES, "/no-such-page"]:
        html = client.get(path).get_data(as_text=True)
        links = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
        assert links, path
        for link in links:
            assert re.search(r"\?v=[0-9a-f]{12}$", link), (path, link)
            assert client.get(link).headers["Cache-Control"] == YEAR, link


@pytest.mark.parametrize("path", SHARED_PAGES)
def test_a_page_without_the_form_is_cacheable_and_answers_304_when_unchanged(csrf_client, path):
    first = csrf_client.get(path)
    assert first.status_code == 200
    assert "Set-Cookie" not in first.headers
    assert cache_control(first) == {"public", "max-age=300"}
    etag = first.headers["ETag"]
    assert not etag.startswith("W/"), "the same bytes every time"
    assert {"Cookie", "Accept-Language"} <= set(first.vary), "the language comes from these"

    again = csrf_client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert cache_control(again) == {"public", "max-age=300"}

    changed = csrf_client.get(path, headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200 and changed.get_data() == first.get_data()


def test_the_spanish_page_has_its_own_etag(csrf_client):
    english = csrf_client.get("/signs")
    spanish = csrf_client.get("/signs", headers={"Accept-Language": "es"})
    assert spanish.headers["ETag"] != english.headers["ETag"]
    stale = {"Accept-Language": "es", "If-None-Match": english.headers["ETag"]}
    assert csrf_client.get("/signs", headers=stale).status_code == 200


@pytest.mark.parametrize("path", FORM_PAGES)
def test_a_page_with_the_form_is_private_and_revalidated_and_its_kept_token_still_works(csrf_client, path):
    first = csrf_client.get(path)
    assert "Set-Cookie" in first.headers, "the first visit starts the session that holds the token"
    assert first.headers["Cache-Control"] == "no-store" and "ETag" not in first.headers
    kept_token = page_of(first).field_value("csrf_token")

    second = csrf_client.get(path)
    assert "Set-Cookie" not in second.headers
    assert cache_control(second) == {"private", "no-cache"}
    assert second.headers["ETag"].startswith("W/")

    unchanged = csrf_client.get(path, headers={"If-None-Match": second.headers["ETag"]})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    assert cache_control(unchanged) == {"private", "no-cache"}

    # The browser shows its kept copy after a 304: the token in it is still accepted
    # (a 422 for the mistyped phone, not the 400 of a refused token).
    sent = csrf_client.post("/contact", data={**VALID_FORM, "phone": "12345", "csrf_token": kept_token})
    assert sent.status_code == 422


def test_a_page_with_the_form_is_private_even_without_a_token(client):
    """The hidden fields carry the visitor's referrer: no shared cache may hand it to someone else."""
    response = client.get("/help/tx/austin", headers={"Referer": "https://search.example/?q=mine"})
    assert page_of(response).field_value("csrf_token") is None, "CSRF is off on this app"
    assert cache_control(response) == {"private", "no-cache"}
    assert response.headers["ETag"].startswith("W/")


def test_a_kept_form_page_from_another_session_is_not_reused(own_app):  # noqa: F811
    app = own_app(WTF_CSRF_ENABLED=True)
    one, other = app.test_client(), app.test_client()
    one.get("/help/tx")
    etag = one.get("/help/tx").headers["ETag"]
    other.get("/help/tx")

    response = other.get("/help/tx", headers={"If-None-Match": etag})

    assert response.status_code == 200, "the other session's token would be refused"


def test_a_response_that_sets_a_cookie_is_never_cached(csrf_client):
    chosen = csrf_client.get("/signs?lang=es")
    assert "lang=es" in chosen.headers["Set-Cookie"]
    assert chosen.headers["Cache-Control"] == "no-store" and "ETag" not in chosen.headers
    # The next page, with the choice remembered, is cacheable again.
    assert cache_control(csrf_client.get("/signs")) == {"public", "max-age=300"}


def test_nothing_is_cached_for_signed_in_staff(client, manager_client):  # noqa: F811
    anonymous = client.get("/signs")
    assert "ETag" in anonymous.headers

    for path in ["/signs", "/help", "/"]:
        response = manager_client.get(path)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store", path
        assert "ETag" not in response.headers, path
        revalidated = manager_client.get(path, headers={"If-None-Match": anonymous.headers["ETag"]})
        assert revalidated.status_code == 200


def test_answers_to_the_form_and_error_pages_are_never_cached(client, session):
    invalid = client.post("/contact", data={**VALID_FORM, "phone": "12345"})
    assert invalid.status_code == 422
    assert invalid.headers["Cache-Control"] == "no-store" and "ETag" not in invalid.headers
    missing = client.get("/help/zz")
    assert missing.status_code == 404 and "ETag" not in missing.headers
    assert "public" not in missing.headers.get("Cache-Control", "")
