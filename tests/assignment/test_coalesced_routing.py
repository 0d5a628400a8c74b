"""A burst of new leads publishes a few routing messages, not one each, and loses none."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from leadrouter import jobs
from leadrouter.extensions import db
from leadrouter.models import Assignment, Lead
from tests.factories import make_advisor, make_lead
from tests.worker_stack import wait_for

pytestmark = pytest.mark.slow


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


def test_a_mark_whose_message_was_lost_expires(stack, monkeypatch):
    monkeypatch.setattr(jobs, "COALESCE_SECONDS", 0.2)
    with stack.app.app_context():
        _enqueue_and_commit("diagnostics.record_heartbeat", "first", coalesce=True)
        stack.purge()  # the broker lost the message; its waiting mark stays behind
        time.sleep(0.5)
        _enqueue_and_commit("diagnostics.record_heartbeat", "second", coalesce=True)
        db.session.remove()
    assert stack.pending_messages() == 1


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
