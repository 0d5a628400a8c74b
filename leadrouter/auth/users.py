"""Creating people who sign in."""

from __future__ import annotations

from sqlalchemy import func, select

from leadrouter.extensions import db
from leadrouter.models import ROLES, Advisor, User


class UserError(ValueError):
    """A user could not be created; the message says which field is wrong."""


def create_user(email: str, password: str, role: str, name: str | None = None, **advisor_fields) -> User:
    """Create a user; an advisor also gets the advisor profile routing works with."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise UserError("email: not a valid email address")
    if role not in ROLES:
        raise UserError(f"role: must be one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise UserError("password: must be at least 8 characters")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise UserError(f"email: a user with {email} already exists")
    user = User(email=email, name=name or email.split("@")[0].title(), role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    if role == "advisor":
        advisor = db.session.scalar(select(Advisor).where(func.lower(Advisor.email) == email))
        if advisor is None:
            advisor = Advisor(email=email, name=user.name, regions=["*"], languages=["en"], status="offline")
            db.session.add(advisor)
        for field, value in advisor_fields.items():
            setattr(advisor, field, value)
        advisor.user_id = user.id
        db.session.flush()
    return user
