"""The promised first-contact time, callers holding, and follow-ups at a time the person asked for

Revision ID: b5e2a9c4d710
Revises: 7d2f4b8e1c93
Create Date: 2026-12-02 08:00:00

`leads.promised_contact_at` is the first-contact time told to the person (thanks page, text,
call); unlike `sla_due_at` it is never moved by a reassignment, a merge or a queue, and the
SLA figures measure against it. Existing leads take their current `sla_due_at`.

`calls.hold_started_at` marks a caller in the hold loop (served higher urgency first, then the
longest wait); `calls.notice_said_at` is when the 911 / 988 notice was last said to them, so
the loop repeats it at least every 60 s by the wall clock.

`follow_ups.requested_time_note` records that the person asked for a time outside the
08:00–21:00 contact window (the only way such a follow-up is accepted).
"""

import sqlalchemy as sa
from alembic import op

revision = "b5e2a9c4d710"
down_revision = "7d2f4b8e1c93"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("promised_contact_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE leads SET promised_contact_at = sla_due_at")
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("hold_started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("notice_said_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_calls_holding", "calls", ["hold_started_at"])
    with op.batch_alter_table("follow_ups") as batch:
        batch.add_column(sa.Column("requested_time_note", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("follow_ups") as batch:
        batch.drop_column("requested_time_note")
    op.drop_index("ix_calls_holding", table_name="calls")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("notice_said_at")
        batch.drop_column("hold_started_at")
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("promised_contact_at")
