"""The documented commands: create-user, create-api-key, seed-demo."""

from __future__ import annotations

from sqlalchemy import func, select

from leadrouter.auth.api_keys import find_api_key
from leadrouter.models import Advisor, Event, Lead, User


def test_create_user_makes_an_advisor_with_a_profile(app, session):
    result = app.test_cli_runner().invoke(
        args=[
            "create-user",
            "--email",
            "Dana@Example.org",
            "--password",
            "long-enough-1",
            "--role",
            "advisor",
            "--name",
            "Dana Cruz",
        ]
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.email == "dana@example.org"))
    assert user.check_password("long-enough-1") and not user.check_password("wrong")
    assert user.password_hash.startswith("$argon2")
    advisor = session.scalar(select(Advisor).where(Advisor.email == "dana@example.org"))
    assert advisor.user_id == user.id and advisor.name == "Dana Cruz"


def test_create_user_rejects_a_duplicate_email_clearly(app, session):
    runner = app.test_cli_runner()
    args = [
        "create-user",
        "--email",
        "sam@example.org",
        "--password",
        "long-enough-1",
        "--role",
        "manager",
    ]
    assert runner.invoke(args=args).exit_code == 0
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_create_api_key_prints_the_key_alone_on_the_last_line(app, session):
    result = app.test_cli_runner().invoke(args=["create-api-key", "--role", "partner"])
    assert result.exit_code == 0, result.output
    raw_key = result.output.strip().splitlines()[-1]
    assert " " not in raw_key and raw_key.startswith("lr_")
    stored = find_api_key(raw_key)
    assert stored is not None and stored.role == "partner"
    assert stored.key_hash != raw_key


def test_seed_demo_builds_a_realistic_helpline(app, session):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--leads", "60"])
    assert result.exit_code == 0, result.output
    assert "helpline-demo" in result.output
    assert session.scalar(select(func.count(User.id)).where(User.role == "manager")) == 2
    advisors = session.scalars(select(Advisor)).all()
    assert len(advisors) == 15
    states = {region for advisor in advisors for region in advisor.regions if region != "*"}
    assert len(states) >= 6
    assert any(advisor.regions == ["*"] for advisor in advisors)
    assert session.scalar(select(func.count(Lead.id))) == 62
    sources = set(session.scalars(select(Lead.source).distinct()))
    assert sources == {"web_form", "call", "voicemail", "sms", "api"}
    assert session.scalar(select(func.count(Event.id))) > 100
    # Capacity counters agree with the leads advisors actually hold.
    for advisor in advisors:
        held = session.scalar(select(func.count(Lead.id)).where(Lead.owner_id == advisor.id, Lead.is_open))
        assert advisor.open_leads == held, advisor.name


def test_seed_demo_answered_calls_each_rang_an_advisor(app, session):
    from datetime import date

    from leadrouter.models import Call, CallOffer
    from leadrouter.reports.queries import ReportFilters, routing_report

    app.test_cli_runner().invoke(args=["seed-demo", "--leads", "60"])
    answered = session.scalars(select(Call).where(Call.answered_at.is_not(None))).all()
    assert answered, "the demo has answered calls"
    for call in answered:
        offers = session.scalars(select(CallOffer).where(CallOffer.call_id == call.id)).all()
        assert [offer.outcome for offer in offers] == ["answered"]
        assert offers[0].advisor_id == call.advisor_id
    days = [call.started_at.date() for call in answered]
    figures = routing_report(ReportFilters(start=min(days), end=max(days) or date.today()), "UTC")["calls"]
    assert figures["offers_per_answered_call"] == 1.0


def test_seed_demo_leaves_an_existing_database_alone(app, session):
    runner = app.test_cli_runner()
    runner.invoke(
        args=[
            "create-user",
            "--email",
            "x@example.org",
            "--password",
            "long-enough-1",
            "--role",
            "admin",
        ]
    )
    result = runner.invoke(args=["seed-demo"])
    assert "already has users" in result.output
    assert session.scalar(select(func.count(Lead.id))) == 0
