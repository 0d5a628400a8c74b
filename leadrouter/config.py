"""Settings read from the environment, with embedded defaults that need no server."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import phonenumbers

from leadrouter.routing.calls import LONGEST_RING_SECONDS


class ConfigError(RuntimeError):
    """A setting is invalid; the message names it and says what is expected."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name} must be one of 1/0, true/false, yes/no, on/off (got {raw!r})")


MAX_HOLD_ANNOUNCE_SECONDS = 45


def _integer(env: dict, name: str, default: int | None, minimum: int = 0) -> int | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number (got {raw!r})") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum} (got {value})")
    return value


def normalize_database_url(url: str) -> str:
    """Map the URL schemes people paste (postgres://, postgresql://) to the psycopg 3 driver."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(f"DATABASE_URL is not a URL (got {url!r})")
    if scheme in ("postgres", "postgresql", "postgresql+psycopg2"):
        return f"postgresql+psycopg://{rest}"
    if scheme in ("postgresql+psycopg", "sqlite"):
        return url
    raise ConfigError(
        f"DATABASE_URL must start with postgresql://, postgres:// or sqlite:// (got {scheme}://)"
    )


def _check_broker_url(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme not in ("redis", "rediss", "sqla+sqlite", "sqla+postgresql", "memory", "amqp"):
        raise ConfigError(
            f"CELERY_BROKER_URL must be a redis://, rediss:// or sqla+sqlite:// URL (got {scheme}://)"
        )
    return url


def _check_e164(name: str, value: str | None) -> str | None:
    if not value:
        return None
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed) or not value.startswith("+"):
        raise ConfigError(f"{name} must be an E.164 phone number like +18005550100 (got {value!r})")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# A name, with no article: it is spoken inside English and Spanish sentences alike ("advisors of
# …", "asesores de …"), so an English "the" would be read out to a Spanish caller.
DEFAULT_HELPLINE_OPERATOR = "Leadrouter Demo Helpline"


def load_settings(env: dict | None = None) -> dict:
    """Build the Flask config mapping from environment variables; raise ConfigError if one is bad."""
    env = dict(os.environ if env is None else env)
    instance_path = Path(env.get("LEADROUTER_INSTANCE_PATH") or "instance").resolve()

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'leadrouter.sqlite'}"
    broker_url = env.get("CELERY_BROKER_URL") or f"sqla+sqlite:///{instance_path / 'broker.sqlite'}"
    secret_key = env.get("SECRET_KEY")
    if secret_key is not None and len(secret_key) < 16:
        raise ConfigError("SECRET_KEY must be at least 16 characters long")

    validate_signature = _flag(env, "TWILIO_VALIDATE_SIGNATURE", True)
    settings = {
        "INSTANCE_PATH": str(instance_path),
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
        "CELERY_BROKER_URL": _check_broker_url(broker_url),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "SECRET_KEY": secret_key or _instance_secret(instance_path),
        "TWILIO_ACCOUNT_SID": env.get("TWILIO_ACCOUNT_SID") or None,
        "TWILIO_AUTH_TOKEN": env.get("TWILIO_AUTH_TOKEN") or None,
        "TWILIO_WEBHOOK_SHARED_KEY": env.get("TWILIO_WEBHOOK_SHARED_KEY") or None,
        "TWILIO_VALIDATE_SIGNATURE": validate_signature,
        "PUBLIC_BASE_URL": (env.get("PUBLIC_BASE_URL") or "").rstrip("/") or None,
        "HELPLINE_NUMBER": _check_e164("HELPLINE_NUMBER", env.get("HELPLINE_NUMBER")) or "+18005550100",
        "ON_CALL_NUMBER": _check_e164("ON_CALL_NUMBER", env.get("ON_CALL_NUMBER")),
        "HELPLINE_OPERATOR": env.get("HELPLINE_OPERATOR") or DEFAULT_HELPLINE_OPERATOR,
        "REPORT_TIMEZONE": env.get("REPORT_TIMEZONE") or "UTC",
        "MAX_CONTENT_LENGTH": _integer(env, "MAX_CONTENT_LENGTH", 256 * 1024, minimum=1024),
        "MAX_FORM_PARTS": _integer(env, "MAX_FORM_PARTS", 200, minimum=10),
        "DIAL_TIMEOUT_SECONDS": _integer(env, "DIAL_TIMEOUT_SECONDS", 20, minimum=5),
        # A caller holds at most this long from the call's start before being offered voicemail.
        "CALL_MAX_WAIT_SECONDS": _integer(env, "CALL_MAX_WAIT_SECONDS", 120, minimum=10),
        # One hold turn: how long the line waits for a key after the hold message.
        "HOLD_ANNOUNCE_SECONDS": _integer(env, "HOLD_ANNOUNCE_SECONDS", 30, minimum=5),
        # How many advisors an emergency caller rings at once.
        "RING_ALL_SIZE": _integer(env, "RING_ALL_SIZE", 3, minimum=1),
        # How often beat sweeps for leads that missed the queue, and how old they must be first.
        "ROUTING_SWEEP_SECONDS": _integer(env, "ROUTING_SWEEP_SECONDS", 30, minimum=1),
        # How often a worker says it is alive; /readyz warns after three missed beats.
        "WORKER_HEARTBEAT_SECONDS": _integer(env, "WORKER_HEARTBEAT_SECONDS", 10, minimum=1),
        # Log the steps of every request or task at least this slow (off when unset; see README).
        "TRACE_SLOW_MS": _integer(env, "LEADROUTER_TRACE_SLOW_MS", None),
        "RATELIMIT_CONTACT": env.get("RATELIMIT_CONTACT") or "5 per minute",
        # Every post to the form, those sent back to fix included: a bot sending mistakes still stops.
        "RATELIMIT_CONTACT_POSTS": env.get("RATELIMIT_CONTACT_POSTS") or "30 per minute",
        "RATELIMIT_API_LEADS": env.get("RATELIMIT_API_LEADS") or "120 per minute",
        "RATELIMIT_LOGIN": env.get("RATELIMIT_LOGIN") or "10 per minute",
        "RATELIMIT_STORAGE_URI": env.get("REDIS_URL") or "memory://",
        # Limiter storage (Redis) down: keep limiting from each process's memory rather than
        # refusing people or letting floods through, and never turn a storage error into a
        # 500. Twilio webhooks are exempt either way. See SECURITY.md.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # A dead or unreachable Redis must cost a request milliseconds, not a TCP timeout.
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        "RATELIMIT_ENABLED": _flag(env, "RATELIMIT_ENABLED", True),
        "SESSION_COOKIE_SECURE": _flag(env, "SESSION_COOKIE_SECURE", False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "CELERY_TASK_ALWAYS_EAGER": _flag(env, "CELERY_TASK_ALWAYS_EAGER", False),
        # 0 unless a proxy really sits in front: otherwise X-Forwarded-For is the client's word.
        "TRUSTED_PROXIES": _integer(env, "TRUSTED_PROXIES", 0),
        "RETENTION_DAYS": _integer(env, "RETENTION_DAYS", 365, minimum=1),
        "REQUIRE_MANAGER_TOTP": _flag(env, "REQUIRE_MANAGER_TOTP", False),
        "DASHBOARD_POLL_SECONDS": _integer(env, "DASHBOARD_POLL_SECONDS", 10, minimum=2),
        "SCREEN_POP_POLL_SECONDS": _integer(env, "SCREEN_POP_POLL_SECONDS", 2, minimum=1),
        # GET /metrics (Prometheus); with a token it answers only `Authorization: Bearer <token>`.
        "METRICS_ENABLED": _flag(env, "METRICS_ENABLED", True),
        "METRICS_TOKEN": env.get("METRICS_TOKEN") or None,
    }
    if settings["TWILIO_ACCOUNT_SID"] and not env.get("HELPLINE_NUMBER"):
        # The demo number as caller ID would make every advisor dial fail at Twilio.
        raise ConfigError(
            "HELPLINE_NUMBER must be set when TWILIO_ACCOUNT_SID is (the helpline's E.164 number)"
        )
    if settings["DIAL_TIMEOUT_SECONDS"] > LONGEST_RING_SECONDS:
        # A ring whose callbacks are lost keeps its advisor busy only about this long.
        raise ConfigError(
            f"DIAL_TIMEOUT_SECONDS must be at most {LONGEST_RING_SECONDS}: how long an advisor's phone"
            f" rings before the caller is offered to the next one (got {settings['DIAL_TIMEOUT_SECONDS']})"
        )
    if settings["HOLD_ANNOUNCE_SECONDS"] > MAX_HOLD_ANNOUNCE_SECONDS:
        # The notice opens each hold turn; a longer turn would leave more than a minute between two.
        raise ConfigError(
            f"HOLD_ANNOUNCE_SECONDS must be at most {MAX_HOLD_ANNOUNCE_SECONDS}, so a caller on hold"
            f" hears the 911 / 988 notice every minute (got {settings['HOLD_ANNOUNCE_SECONDS']})"
        )
    return settings


def _instance_secret(instance_path: Path) -> str:
    """Keep one random secret per instance so sessions survive a restart of the embedded run."""
    instance_path.mkdir(parents=True, exist_ok=True)
    secret_file = instance_path / "secret_key"
    if secret_file.exists():
        return secret_file.read_text().strip()
    secret = secrets.token_urlsafe(48)
    secret_file.write_text(secret)
    secret_file.chmod(0o600)
    return secret
