"""Cross-site requests and stolen or stale sessions get nowhere.

CSRF without a token is already covered for the form in tests/intake/test_protection.py;
this adds cross-origin requests over HTTPS (a valid token is not enough when the request
comes from another site), the sign-in page, a dashboard action, the session cookie's
flags, and a disabled advisor's live session (see also tests/dashboard/test_sign_in.py).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from leadrouter.auth.users import create_user
from leadrouter.extensions import db
from leadrouter.models import Event, Lead
from tests.dashboard.conftest import PASSWORD
from tests.factories import make_lead
from tests.intake.conftest import VALID_FORM, page_of

SITE = "https://helpline.example.org"
EVIL = "https://evil.example"


def token_from(client, path: str) -> str:
    fields = page_of(client.get(path, base_url=SITE)).find_all("input", name="csrf_token")
    assert fields, f"{path} has no form with a CSRF token"
    return fields[0]["value"]


def post(client, path: str, data: dict, **headers):
    return client.post(path, data=data, base_url=SITE, headers=headers)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def advisor(session):
    return create_user(
        "csrf-advisor@example.org", PASSWORD, "advisor", "Casey Advisor", regions=["TX"], phone="+15122060901"
    )


def signed_in(app, user):
    """A browser signed in over HTTPS with a real token, as a person would be."""
    client = app.test_client()
    token = token_from(client, "/login")
    response = post(
        client,
        "/login",
        {"email": user.email, "password": PASSWORD, "csrf_token": token},
        Referer=f"{SITE}/login",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


# --- the public form ---------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Referer": f"{EVIL}/page", "Origin": EVIL},
        {"Origin": EVIL},  # the attacker's page sent no Referer at all
        {},
    ],
    ids=["cross-site-referer", "no-referer", "no-headers"],
)
def test_the_form_refuses_a_cross_origin_post_even_with_a_valid_token(csrf_app, session, headers):
    client = csrf_app.test_client()
    token = token_from(client, "/")
    before = count(Lead)
    response = post(client, "/contact", {**VALID_FORM, "csrf_token": token}, **headers)
    assert response.status_code == 400
    assert count(Lead) == before


def test_the_form_accepts_the_same_post_from_its_own_page(csrf_app, session):
    client = csrf_app.test_client()
    token = token_from(client, "/")
    before = count(Lead)
    response = post(client, "/contact", {**VALID_FORM, "csrf_token": token}, Referer=f"{SITE}/", Origin=SITE)
    assert response.status_code == 303
    assert count(Lead) == before + 1


# --- sign-in ------------------------------------------------------------------------


def test_sign_in_without_a_token_is_refused(csrf_app, advisor):
    client = csrf_app.test_client()
    response = post(client, "/login", {"email": advisor.email, "password": PASSWORD}, Referer=f"{SITE}/login")
    assert response.status_code == 400
    assert client.get("/dashboard", base_url=SITE).status_code == 302


def test_sign_in_from_another_site_is_refused(csrf_app, advisor):
    client = csrf_app.test_client()
    token = token_from(client, "/login")
    data = {"email": advisor.email, "password": PASSWORD, "csrf_token": token}
    response = post(client, "/login", data, Referer=f"{EVIL}/login", Origin=EVIL)
    assert response.status_code == 400
    assert client.get("/dashboard", base_url=SITE).status_code == 302


# --- a dashboard action ---------------------------------------------------------------


def _own_lead(advisor_user):
    lead = make_lead(state="TX")
    lead.owner_id = advisor_user.advisor.id
    db.session.flush()  # requests use their own session on the same transaction
    return lead


@pytest.mark.parametrize(
    ("with_token", "headers"),
    [(False, {"Referer": f"{SITE}/dashboard"}), (True, {"Referer": f"{EVIL}/x", "Origin": EVIL})],
    ids=["no-token", "cross-site"],
)
def test_a_dashboard_post_without_a_token_or_from_another_site_is_refused(
    csrf_app, session, advisor, with_token, headers
):
    client = signed_in(csrf_app, advisor)
    lead = _own_lead(advisor)
    data = {"text": "note planted by another site"}
    if with_token:
        data["csrf_token"] = token_from(client, f"/leads/{lead.id}")
    response = post(client, f"/leads/{lead.id}/notes", data, **headers)
    assert response.status_code == 400
    assert count(Event, Event.lead_id == lead.id, Event.type == "note") == 0


def test_a_dashboard_post_from_the_lead_page_is_accepted(csrf_app, session, advisor):
    client = signed_in(csrf_app, advisor)
    lead = _own_lead(advisor)
    data = {"text": "Called, left a message.", "csrf_token": token_from(client, f"/leads/{lead.id}")}
    response = post(client, f"/leads/{lead.id}/notes", data, Referer=f"{SITE}/leads/{lead.id}")
    assert response.status_code == 303
    assert count(Event, Event.lead_id == lead.id, Event.type == "note") == 1


# --- the session cookie ---------------------------------------------------------------


def session_cookie_attributes(response) -> dict[str, str | bool]:
    (header,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    attributes: dict[str, str | bool] = {}
    for part in header.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attributes[name.lower()] = value or True
    return attributes


def test_behind_https_the_session_cookie_is_secure_httponly_and_samesite_lax(make_app, advisor):
    app = make_app(SESSION_COOKIE_SECURE=True)  # what docker-compose sets in production
    client = app.test_client()
    response = client.post(
        "/login",
        data={"email": advisor.email, "password": PASSWORD},
        base_url=SITE,
        headers={"X-Forwarded-Proto": "https"},
    )
    assert response.status_code == 302
    flags = session_cookie_attributes(response)
    assert flags.get("secure") is True
    assert flags.get("httponly") is True
    assert flags.get("samesite") == "Lax"


def test_the_public_forms_session_cookie_has_the_same_flags(make_app, session):
    client = make_app(SESSION_COOKIE_SECURE=True).test_client()
    response = client.post("/contact", data=VALID_FORM, base_url=SITE)
    assert response.status_code == 303
    flags = session_cookie_attributes(response)
    assert flags.get("secure") is True and flags.get("httponly") is True and flags.get("samesite") == "Lax"


def test_the_embedded_default_over_plain_http_is_httponly_and_lax_but_not_secure(client, advisor):
    # The local one-command run is served on http://127.0.0.1: a Secure cookie would never
    # come back, so SESSION_COOKIE_SECURE stays off there and is set in production.
    response = client.post("/login", data={"email": advisor.email, "password": PASSWORD})
    flags = session_cookie_attributes(response)
    assert "secure" not in flags and flags.get("httponly") is True and flags.get("samesite") == "Lax"


# --- a disabled advisor's live session ------------------------------------------------------


def test_a_disabled_advisors_live_session_ends_on_the_next_request(app, session, advisor):
    client = app.test_client()
    assert client.post("/login", data={"email": advisor.email, "password": PASSWORD}).status_code == 302
    lead = _own_lead(advisor)
    assert client.get(f"/leads/{lead.id}").status_code == 200

    advisor.active = False
    session.flush()

    page = client.get(f"/leads/{lead.id}")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    action = client.post(f"/leads/{lead.id}/notes", data={"text": "written after being disabled"})
    assert action.status_code == 302 and "/login" in action.headers["Location"]
    assert count(Event, Event.lead_id == lead.id, Event.type == "note") == 0
    # Signing in again is refused too.
    again = client.post("/login", data={"email": advisor.email, "password": PASSWORD})
    assert again.status_code == 401
