"""Sign-in: passwords, the optional second factor, and sign-out that really ends the session."""

from __future__ import annotations

import pyotp
import pytest

from leadrouter import create_app
from tests.conftest import base_config
from tests.dashboard.conftest import PASSWORD, sign_in


def test_a_wrong_password_is_refused_without_saying_which_part(client, advisor_user):
    response = sign_in(client, advisor_user.email, "not-it")
    assert response.status_code == 401
    assert "Email or password is not right" in response.get_data(as_text=True)
    assert sign_in(client, "nobody@example.org").status_code == 401


def test_an_advisor_signs_in_and_out(client, advisor_user, session):
    assert sign_in(client, advisor_user.email).headers["Location"].endswith("/dashboard")
    cookie = client.get_cookie("session")
    assert client.get("/dashboard").status_code == 200
    client.post("/logout")
    assert client.get("/dashboard").status_code == 302
    # The old cookie, replayed, no longer works either.
    client.set_cookie("session", cookie.value)
    assert client.get("/dashboard").status_code == 302


def test_a_disabled_account_loses_its_live_session(advisor_client, advisor_user, session):
    advisor_user.active = False
    session.commit()
    assert advisor_client.get("/dashboard").status_code == 302


def test_a_user_with_a_second_factor_needs_the_code(client, advisor_user, session):
    advisor_user.totp_secret = pyotp.random_base32()
    session.commit()
    first = sign_in(client, advisor_user.email)
    assert first.status_code == 200 and "Authenticator code" in first.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302
    wrong = client.post("/login", data={"email": advisor_user.email, "password": PASSWORD, "code": "000000"})
    assert wrong.status_code == 401
    code = pyotp.TOTP(advisor_user.totp_secret).now()
    right = client.post("/login", data={"email": advisor_user.email, "password": PASSWORD, "code": code})
    assert right.status_code == 302 and client.get("/dashboard").status_code == 200


@pytest.fixture
def totp_app(database_urls, backend, tmp_path):
    return create_app(base_config(database_urls[backend], str(tmp_path), REQUIRE_MANAGER_TOTP=True))


def test_managers_must_enrol_a_second_factor_when_required(totp_app, session, manager_user):
    client = totp_app.test_client()
    response = sign_in(client, manager_user.email)
    assert response.headers["Location"].endswith("/account/two-factor")
    assert client.get("/dashboard").headers["Location"].endswith("/account/two-factor")
    page = client.get("/account/two-factor").get_data(as_text=True)
    with client.session_transaction() as browser_session:
        secret = browser_session["pending_totp_secret"]
    assert secret in page  # shown to the manager to add to their app
    assert client.post("/account/two-factor", data={"code": "000000"}).status_code == 422
    done = client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    session.expire_all()
    assert done.status_code == 302 and manager_user.totp_secret == secret
    assert client.get("/dashboard").status_code == 200


def test_sign_in_never_redirects_off_site(client, advisor_user):
    response = client.post(
        "/login?next=//evil.example/x", data={"email": advisor_user.email, "password": PASSWORD}
    )
    assert response.headers["Location"].endswith("/dashboard")
