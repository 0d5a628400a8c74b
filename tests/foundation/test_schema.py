"""The schema: one Alembic head, migrations that match the models, constraints that hold."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import Migrate
from sqlalchemy.exc import IntegrityError

from leadrouter.extensions import db
from leadrouter.models import Advisor, Assignment, Call, Event, Lead


def test_alembic_has_a_single_head(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several Alembic heads: {heads}"


def test_migrated_database_matches_the_models(app, session):
    context = MigrationContext.configure(session.connection())
    differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migrations_are_date_prefixed_and_reversible(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        for revision in ScriptDirectory.from_config(config).walk_revisions():
            filename = revision.path.rsplit("/", 1)[-1]
            assert filename[:8].isdigit(), filename
            assert "def downgrade" in Path(revision.path).read_text()


def _lead(**fields) -> Lead:
    lead = Lead(source="web_form", name="Test Person", phone="+15122060100", **fields)
    db.session.add(lead)
    db.session.flush()
    return lead


def _advisor(email="a@example.org") -> Advisor:
    advisor = Advisor(name="Ana", email=email, regions=["TX"], languages=["en"], status="available")
    db.session.add(advisor)
    db.session.flush()
    return advisor


def test_a_lead_has_at_most_one_current_owner(session):
    lead, first, second = _lead(), _advisor("a@example.org"), _advisor("b@example.org")
    session.add(Assignment(lead_id=lead.id, advisor_id=first.id, reason="test"))
    session.flush()
    session.add(Assignment(lead_id=lead.id, advisor_id=second.id, reason="test"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_an_ended_assignment_frees_the_lead_for_a_new_owner(session):
    lead, first, second = _lead(), _advisor("a@example.org"), _advisor("b@example.org")
    session.add(Assignment(lead_id=lead.id, advisor_id=first.id, reason="test", ended_at=datetime.now(UTC)))
    session.add(Assignment(lead_id=lead.id, advisor_id=second.id, reason="test"))
    session.flush()
    assert session.query(Assignment).filter_by(lead_id=lead.id).count() == 2


def test_one_row_per_call_sid(session):
    session.add(Call(call_sid="CA123"))
    session.flush()
    session.add(Call(call_sid="CA123"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_one_event_per_dedupe_key(session):
    lead = _lead()
    session.add(Event(lead_id=lead.id, type="call", dedupe_key="call:CA1:created"))
    session.flush()
    session.add(Event(lead_id=lead.id, type="call", dedupe_key="call:CA1:created"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_timestamps_come_back_aware_in_utc(session):
    lead = _lead()
    session.expire_all()
    reloaded = session.get(Lead, lead.id)
    assert reloaded.created_at.tzinfo is not None
    assert reloaded.created_at.utcoffset().total_seconds() == 0


def test_urgency_must_be_a_known_level(session):
    session.add(Lead(source="web_form", urgency="whenever"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_migrate_extension_is_configured(app):
    assert isinstance(app.extensions["migrate"].migrate, Migrate)
