"""Signed-in clients for the advisor and manager screens."""

from __future__ import annotations

import pytest

from leadrouter.auth.users import create_user

PASSWORD = "correct-horse-battery"


def sign_in(client, email: str, password: str = PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


@pytest.fixture
def advisor_user(session):
    return create_user(
        "ana@example.org",
        PASSWORD,
        "advisor",
        "Ana Torres",
        regions=["TX"],
        status="available",
        capacity=10,
        phone="+15122060111",
    )


@pytest.fixture
def other_advisor_user(session):
    return create_user(
        "ben@example.org",
        PASSWORD,
        "advisor",
        "Ben Carter",
        regions=["CA"],
        status="available",
        capacity=10,
        phone="+15122060112",
    )


@pytest.fixture
def manager_user(session):
    return create_user("morgan@example.org", PASSWORD, "manager", "Morgan Reyes")


@pytest.fixture
def advisor_client(app, session, advisor_user):
    client = app.test_client()
    assert sign_in(client, advisor_user.email).status_code == 302
    return client


@pytest.fixture
def manager_client(app, session, manager_user):
    client = app.test_client()
    assert sign_in(client, manager_user.email).status_code == 302
    return client
