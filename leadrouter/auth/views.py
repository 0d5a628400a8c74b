"""Sign-in and sign-out for advisors and managers."""

from __future__ import annotations

import logging

import pyotp
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from leadrouter.extensions import db, limiter
from leadrouter.models import User, utcnow
from leadrouter.models.user import spend_password_check

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


class LoginForm(FlaskForm):
    email = EmailField(lazy_gettext("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=200)])
    code = StringField(lazy_gettext("Authenticator code"), validators=[Optional(), Length(min=6, max=8)])


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _login_email_key() -> str:
    return "login:" + (request.form.get("email") or "").strip().lower()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
# Per account too, so one address cannot be guessed at from many; the window is short,
# so the real person is never locked out for long.
@limiter.limit("20 per 15 minutes", key_func=_login_email_key, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LoginForm()
    needs_code = False
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None and user.totp_secret and not verify_totp(user, form.code.data):
            needs_code = True
            if form.code.data:
                form.code.errors.append(gettext("That code is not right; try the current one."))
        elif user is not None:
            session.clear()  # a fresh session: nothing from before sign-in survives it
            login_user(user)
            user.last_login_at = utcnow()
            db.session.commit()
            if must_enrol_totp(user):
                session[_ENROL] = True
                return redirect(url_for("auth.two_factor"))
            return redirect(_safe_next(request.args.get("next")) or _home_for(user))
        else:
            form.password.errors.append(gettext("Email or password is not right."))
        status = 200 if needs_code and not form.code.data else 401
        return render_template("auth/login.html", form=form, needs_code=needs_code), status
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form, needs_code=False), status


@bp.post("/logout")
@login_required
def logout():
    """End this session, and every other session of the account (its cookies stop working)."""
    current_user.session_version += 1
    db.session.commit()
    logout_user()
    session.clear()
    flash(gettext("You are signed out."))
    return redirect(url_for("auth.login"))


class TwoFactorForm(FlaskForm):
    code = StringField("Code from your authenticator app", validators=[DataRequired(), Length(min=6, max=8)])


_ENROL = "must_enrol_totp"
_PENDING_SECRET = "pending_totp_secret"


def must_enrol_totp(user: User) -> bool:
    """Managers need a second factor when REQUIRE_MANAGER_TOTP is on."""
    return bool(current_app.config.get("REQUIRE_MANAGER_TOTP") and user.is_manager and not user.totp_secret)


@bp.before_app_request
def _hold_until_enrolled():
    """A manager who must enrol a second factor sees nothing else until they have."""
    if session.get(_ENROL) and request.endpoint not in ("auth.two_factor", "auth.logout", "static"):
        return redirect(url_for("auth.two_factor"))
    return None


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor():
    """Turn on a TOTP second factor: scan the secret, then prove it with one code."""
    secret = session.get(_PENDING_SECRET) or pyotp.random_base32()
    session[_PENDING_SECRET] = secret
    form = TwoFactorForm()
    status = 200
    if form.validate_on_submit():
        if pyotp.TOTP(secret).verify(form.code.data.strip().replace(" ", ""), valid_window=1):
            current_user.totp_secret = secret
            db.session.commit()
            session.pop(_PENDING_SECRET, None)
            session.pop(_ENROL, None)
            flash(gettext("Two-step sign-in is on. You will be asked for a code each time you sign in."))
            return redirect(_home_for(current_user))
        form.code.errors.append(gettext("That code is not right; try the current one."))
        status = 422
    uri = pyotp.TOTP(secret).provisioning_uri(name=current_user.email, issuer_name="leadrouter")
    return render_template(
        "auth/two_factor.html", form=form, secret=secret, uri=uri, required=bool(session.get(_ENROL))
    ), status


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with this email and password, or None."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active:
        spend_password_check(password)
        return None
    return user if user.check_password(password) else None


def verify_totp(user: User, code: str | None) -> bool:
    if not code:
        return False
    return pyotp.TOTP(user.totp_secret).verify(code.strip().replace(" ", ""), valid_window=1)


def _home_for(user: User) -> str:
    return url_for("dashboard.queue")


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None
