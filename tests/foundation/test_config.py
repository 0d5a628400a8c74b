"""Settings: embedded defaults, production URLs, and a clear failure for bad values."""

from __future__ import annotations

import subprocess
import sys

import pytest

from leadrouter.config import ConfigError, load_settings


def test_embedded_defaults_need_no_server(tmp_path):
    settings = load_settings({"LEADROUTER_INSTANCE_PATH": str(tmp_path)})
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'leadrouter.sqlite'}"
    assert settings["CELERY_BROKER_URL"] == f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    assert settings["TWILIO_VALIDATE_SIGNATURE"] is True
    assert len(settings["SECRET_KEY"]) >= 32
    # The generated secret survives a restart, so sessions do too.
    assert load_settings({"LEADROUTER_INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"] == settings["SECRET_KEY"]


@pytest.mark.parametrize("url", ["postgres://u:p@db/leads", "postgresql://u:p@db/leads"])
def test_both_postgres_url_spellings_are_accepted(url, tmp_path):
    settings = load_settings({"DATABASE_URL": url, "LEADROUTER_INSTANCE_PATH": str(tmp_path)})
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db/leads"


def test_live_call_settings_have_the_documented_defaults(tmp_path):
    settings = load_settings({"LEADROUTER_INSTANCE_PATH": str(tmp_path)})
    assert (
        settings["CALL_MAX_WAIT_SECONDS"],
        settings["HOLD_ANNOUNCE_SECONDS"],
        settings["RING_ALL_SIZE"],
    ) == (
        120,
        30,
        3,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://db/leads"),
        ("CELERY_BROKER_URL", "kafka://broker"),
        ("HELPLINE_NUMBER", "555-HELP"),
        ("TWILIO_VALIDATE_SIGNATURE", "maybe"),
        ("DIAL_TIMEOUT_SECONDS", "soon"),
        ("CALL_MAX_WAIT_SECONDS", "two minutes"),
        ("HOLD_ANNOUNCE_SECONDS", "2"),
        ("HOLD_ANNOUNCE_SECONDS", "90"),
        ("DIAL_TIMEOUT_SECONDS", "120"),
        ("RING_ALL_SIZE", "0"),
        ("SECRET_KEY", "short"),
    ],
)
def test_a_bad_setting_names_itself(name, value, tmp_path):
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value, "LEADROUTER_INSTANCE_PATH": str(tmp_path)})


def test_the_app_refuses_to_start_with_a_clear_message(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "from leadrouter import create_app; create_app()"],
        env={
            "DATABASE_URL": "mysql://db/leads",
            "LEADROUTER_INSTANCE_PATH": str(tmp_path),
            "PATH": "",
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "invalid configuration: DATABASE_URL must start with" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_default_operator_is_a_name_a_spanish_sentence_can_carry(tmp_path):
    from leadrouter.telephony import twiml

    operator = load_settings({"LEADROUTER_INSTANCE_PATH": str(tmp_path)})["HELPLINE_OPERATOR"]
    assert not operator.lower().startswith(("the ", "a ", "an "))
    greeting = twiml.welcome_menu(twiml.Helpline(operator_name=operator, language="es"), "/twilio/voice/menu")
    assert f"asesores de {operator}" in greeting and " the " not in greeting
