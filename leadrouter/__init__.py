"""leadrouter: calls and forms become scored leads, routed to the right advisor."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from leadrouter.config import ConfigError, load_settings
from leadrouter.http_cache import CachingFlask, init_http_cache


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask application from environment settings (and overrides for tests)."""
    try:
        settings = load_settings()
    except ConfigError as error:
        raise SystemExit(f"leadrouter: invalid configuration: {error}") from None
    if test_config:
        settings.update(test_config)

    app = CachingFlask(__name__, instance_path=settings["INSTANCE_PATH"])
    app.config.update(settings)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    # Trust exactly the configured number of proxies for scheme, port and client address,
    # never for Host: a spoofed X-Forwarded-Host must not change the URL Twilio signed.
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_port=hops, x_host=0)

    init_http_cache(app)
    _init_extensions(app)
    from leadrouter import i18n

    i18n.init_app(app)
    _register_blueprints(app)
    _configure_logging(app)
    from leadrouter.metrics import init_metrics

    init_metrics(app)
    from leadrouter import tracing

    tracing.init_app(app)

    from leadrouter import cli

    cli.register(app)
    return app


def _init_extensions(app: Flask) -> None:
    import leadrouter.jobs  # noqa: F401  (after-commit enqueue hooks)
    from leadrouter import models  # noqa: F401  (registers the tables)
    from leadrouter.auth.session import init_login
    from leadrouter.extensions import (
        WriterQueuedConnection,
        celery_init_app,
        csrf,
        db,
        limiter,
        migrate,
        tune_sqlite_engine,
    )
    from leadrouter.request_guards import refuse_crowded_forms

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options.setdefault("connect_args", {}).setdefault("factory", WriterQueuedConnection)
    db.init_app(app)
    with app.app_context():
        tune_sqlite_engine(db.engine)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    app.before_request(refuse_crowded_forms)  # before CSRF: size a request before reading it
    csrf.init_app(app)
    limiter.init_app(app)
    init_login(app)
    celery_init_app(app)


def _register_blueprints(app: Flask) -> None:
    from leadrouter.urls import IdConverter

    app.url_map.converters["int"] = IdConverter
    from leadrouter.api import bp as api_bp
    from leadrouter.auth.views import bp as auth_bp
    from leadrouter.dashboard import views as dashboard_views
    from leadrouter.errors import register_error_handlers
    from leadrouter.health import bp as health_bp
    from leadrouter.intake.views import bp as public_bp
    from leadrouter.reports import views as report_views
    from leadrouter.security_headers import init_security_headers
    from leadrouter.team.views import bp as team_bp
    from leadrouter.telephony.click_to_call import bp as outbound_bp
    from leadrouter.telephony.webhooks import bp as twilio_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(twilio_bp)
    app.register_blueprint(outbound_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(team_bp)
    dashboard_views.register(app)
    report_views.register(app)
    register_error_handlers(app)
    init_security_headers(app)


def _configure_logging(app: Flask) -> None:
    if not app.debug and not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
