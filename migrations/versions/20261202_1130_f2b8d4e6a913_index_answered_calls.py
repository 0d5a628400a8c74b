"""Index the answered calls by start time, for the expected wait said on hold

Revision ID: f2b8d4e6a913
Revises: e4c1a7d93b58
Create Date: 2026-12-02 11:30:00

Every hold turn averages the length of the latest answered calls to tell the caller the
expected wait. Read newest first from ix_calls_started, that walks past every call that was
not answered (abandoned, voicemail, still holding) until it has found enough answered ones;
this partial index holds the answered calls only, so the read is a few index entries.
"""

import sqlalchemy as sa
from alembic import op

revision = "f2b8d4e6a913"
down_revision = "e4c1a7d93b58"
branch_labels = None
depends_on = None

ANSWERED = sa.text("outcome = 'answered' AND duration_seconds IS NOT NULL")


def upgrade():
    op.create_index(
        "ix_calls_answered_started",
        "calls",
        ["started_at"],
        postgresql_where=ANSWERED,
        sqlite_where=ANSWERED,
    )


def downgrade():
    op.drop_index("ix_calls_answered_started", table_name="calls")
