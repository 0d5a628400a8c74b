"""A burst of new leads publishes a few routing messages, not one each, and loses none."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, text

from leadrouter import create_app, jobs
from leadrouter.extensions import db
from leadrouter.models import Assignment, Lead
from tests.conftest import base_config
from tests.factories import make_advisor, make_lead
from tests.worker_stack import wait_for


def test_a_new_lead_coalesces_its_routing_message_and_a_merge_does_not(session):
    created = make_lead(route=True, phone="+15122060555")
    again = make_lead(route=True, phone="+15122060555", message="second touch")
    pending = [entry for entry in db.session.info[jobs._PENDING] if entry[0] == "routing.route_lead"]

    assert again.id == created.id
    # A merge may land on a lead a routing batch is holding; it must get a message of its own.
    assert pending == [
        ("routing.route_lead", (created.id,), {}, True),
        ("routing.route_lead", (created.id,), {}, False),
    ]


def test_a_publish_that_fails_leaves_no_mark_behind(tmp_path):
    unreachable = tmp_path / "broker.sqlite"
    unreachable.mkdir()  # a directory: SQLite cannot open it as the broker's file
    app = create_app(
        base_config(
            f"sqlite:///{tmp_path / 'app.sqlite'}",
            str(tmp_path),
            CELERY_BROKER_URL=f"sqla+sqlite:///{unreachable}",
        )
    )
    mark = tmp_path / "broker.sqlite.waiting.diagnostics.record_heartbeat"
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        jobs.enqueue("diagnostics.record_heartbeat", "lost", coalesce=True)
        db.session.commit()
        db.session.remove()

    assert not mark.exists(), "no message is waiting, so the next enqueue must publish"


@pytest.mark.slow
def _enqueue_and_commit(task_name: str, *args, coalesce: bool) -> None:
    jobs.enqueue(task_name, *args, coalesce=coalesce)
    db.session.commit()


def test_a_coalesced_task_is_published_again_once_it_has_started(stack):
    with stack.app.app_context():
        _enqueue_and_commit("diagnostics.record_heartbeat", "first", coalesce=True)
        _enqueue_and_commit("diagnostics.record_heartbeat", "second", coalesce=True)
        coalesced = stack.pending_messages()
        jobs.started("diagnostics.record_heartbeat")
        _enqueue_and_commit("diagnostics.record_heartbeat", "third", coalesce=True)
        _enqueue_and_commit("diagnostics.record_heartbeat", "fourth", coalesce=False)
        db.session.remove()

    assert coalesced == 1, "the second waited on the first message"
    assert stack.pending_messages() == 3


@pytest.mark.slow
def test_a_mark_whose_message_was_lost_expires(stack, monkeypatch):
    monkeypatch.setattr(jobs, "COALESCE_SECONDS", 0.2)
    with stack.app.app_context():
        _enqueue_and_commit("diagnostics.record_heartbeat", "first", coalesce=True)
        stack.purge()  # the broker lost the message; its waiting mark stays behind
        time.sleep(0.5)
        _enqueue_and_commit("diagnostics.record_heartbeat", "second", coalesce=True)
        db.session.remove()
    assert stack.pending_messages() == 1


@pytest.mark.slow
def test_a_burst_of_new_leads_is_routed_from_a_few_messages(stack):
    with stack.app.app_context():
        advisor = make_advisor(regions=["TX"], capacity=100)
        lead_ids = []
        for _ in range(30):
            lead_ids.append(make_lead(route=True, state="TX").id)  # each enqueues after its commit
            db.session.commit()
        advisor_id = advisor.id
        db.session.remove()
    assert stack.pending_messages() == 1

    stack.start_worker("--pool", "solo")

    def assigned() -> int:
        with stack.app.app_context():
            count = db.session.scalar(
                select(func.count(Assignment.id)).where(Assignment.lead_id.in_(lead_ids))
            )
            db.session.remove()
            return count

    wait_for(lambda: assigned() == 30, timeout=60, stack=stack)
    wait_for(lambda: stack.pending_messages() == 0, timeout=60, stack=stack)

    # The task that ran cleared the mark: the next lead gets a message of its own.
    with stack.app.app_context():
        late_id = make_lead(route=True, state="TX").id
        db.session.commit()
        db.session.remove()

    def late_lead_owner():
        with stack.app.app_context():
            owner = db.session.scalar(select(Lead.owner_id).where(Lead.id == late_id))
            db.session.remove()
            return owner

    assert wait_for(late_lead_owner, timeout=60, stack=stack) == advisor_id
    with stack.app.app_context():
        per_lead = db.session.execute(
            select(Assignment.lead_id, func.count()).group_by(Assignment.lead_id)
        ).all()
        db.session.remove()
    assert len(per_lead) == 31 and all(count == 1 for _, count in per_lead)
