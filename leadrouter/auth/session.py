"""Flask-Login wiring: a session names the user and the session version it was issued for."""

from __future__ import annotations

from flask import Flask
from flask_login import current_user

from leadrouter.extensions import db, login_manager


def init_login(app: Flask) -> None:
    # Templates get the lazy proxy, not the user Flask-Login would load for every page: loading
    # an anonymous user under "strong" protection rewrites the session, so every public page a
    # form visitor opened would send a Set-Cookie and could never be cached.
    login_manager.init_app(app, add_context_processor=False)
    app.context_processor(lambda: {"current_user": current_user})
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(session_id: str):
    """Return the user only while the account is active and the session version still matches."""
    from leadrouter.models import User

    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user
