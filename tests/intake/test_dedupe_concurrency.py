"""Twenty touches from the same phone at the same moment make one lead, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from leadrouter import create_app
from leadrouter.extensions import db
from leadrouter.intake.operations import LeadInput, record_lead
from leadrouter.models import Event, Lead
from tests.conftest import TEST_DATABASE_URL, base_config, migrate_to_head
from tests.worker_stack import isolated_database

KINDS = ["sqlite"] + (["postgres+redis"] if TEST_DATABASE_URL else [])


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_touches_from_one_phone_make_one_lead(kind, tmp_path):
    with isolated_database(kind, tmp_path) as url:
        app = create_app(base_config(url, str(tmp_path)))
        migrate_to_head(app)
        start = threading.Barrier(20)
        errors = []

        def touch(number: int) -> None:
            try:
                with app.app_context():
                    start.wait()
                    record_lead(LeadInput(source="web_form", name=f"Caller {number}", phone="(512) 206-0142"))
                    db.session.commit()
            except Exception as error:  # surfaced below with the thread's number
                errors.append((number, error))

        threads = [threading.Thread(target=touch, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        with app.app_context():
            leads = db.session.scalar(select(func.count(Lead.id)).where(Lead.phone == "+15122060142"))
            merges = db.session.scalar(select(func.count(Event.id)).where(Event.type == "merged"))
            db.session.remove()
            db.engine.dispose()
        assert errors == []
        assert leads == 1
        assert merges == 19
