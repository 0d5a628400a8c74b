"""Partners retry at once: concurrent requests with one Idempotency-Key make one lead.

These requests commit for real (each thread has its own app context and session), so the
test cleans up the rows it made.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import delete, func, select

from leadrouter.auth.api_keys import issue_api_key
from leadrouter.extensions import db
from leadrouter.models import ApiKey, IdempotencyRecord, Lead
from tests.api.conftest import bearer

PHONE = "+15122069876"
REQUESTS = 8


def test_concurrent_retries_with_one_key_make_one_lead(app):
    with app.app_context():
        api_key, raw = issue_api_key("partner", "Retrying partner")
        db.session.commit()
        key_id = api_key.id
    barrier = threading.Barrier(REQUESTS)
    headers = bearer(raw, **{"Idempotency-Key": "retry-storm-1"})

    def send(_):
        client = app.test_client()
        barrier.wait()
        response = client.post("/api/v1/leads", json={"name": "Dana", "phone": PHONE}, headers=headers)
        return response.status_code, (response.get_json() or {}).get("id")

    try:
        with ThreadPoolExecutor(REQUESTS) as pool:
            results = list(pool.map(send, range(REQUESTS)))
        statuses = sorted(status for status, _ in results)
        assert statuses.count(201) == 1, results
        assert set(statuses) <= {200, 201, 409}, results
        assert len({lead_id for status, lead_id in results if status in (200, 201)}) == 1
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Lead).where(Lead.phone == PHONE)) == 1
            records = db.session.scalars(
                select(IdempotencyRecord).where(IdempotencyRecord.api_key_id == key_id)
            )
            assert [(r.key, r.status_code) for r in records] == [("retry-storm-1", 201)]
    finally:
        with app.app_context():
            db.session.execute(delete(Lead).where(Lead.phone == PHONE))
            db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.api_key_id == key_id))
            db.session.execute(delete(ApiKey).where(ApiKey.id == key_id))
            db.session.commit()
            db.session.remove()
