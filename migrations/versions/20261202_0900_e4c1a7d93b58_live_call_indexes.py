"""Indexes for the advisors on a live call: calls not ended and rings still going, by advisor

Revision ID: e4c1a7d93b58
Revises: b5e2a9c4d710
Create Date: 2026-12-02 09:00:00

An advisor a live call is ringing, or who is talking on one, is busy for routing until the
call's status callback ends it. Routing checks that for every advisor it reads, on every
lead and every hold turn; these partial indexes hold only the calls and offers not ended
yet, so the check stays a few index probes however many calls the day has seen.
"""

import sqlalchemy as sa
from alembic import op

revision = "e4c1a7d93b58"
down_revision = "b5e2a9c4d710"
branch_labels = None
depends_on = None

LIVE = sa.text("ended_at IS NULL")


def upgrade():
    op.create_index(
        "ix_calls_live_advisor", "calls", ["advisor_id"], postgresql_where=LIVE, sqlite_where=LIVE
    )
    op.create_index(
        "ix_call_offers_ringing", "call_offers", ["advisor_id"], postgresql_where=LIVE, sqlite_where=LIVE
    )


def downgrade():
    op.drop_index("ix_call_offers_ringing", table_name="call_offers")
    op.drop_index("ix_calls_live_advisor", table_name="calls")
