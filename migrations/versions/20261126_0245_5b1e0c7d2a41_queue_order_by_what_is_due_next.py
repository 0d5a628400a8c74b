"""Queue order by what is due next

Revision ID: 5b1e0c7d2a41
Revises: 94aff3d62ae6
Create Date: 2026-11-26 02:45:00

The advisor queue sorts by urgency, then by the next deadline: first contact while the
lead has had none, then its next open follow-up.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "5b1e0c7d2a41"
down_revision = "94aff3d62ae6"
branch_labels = None
depends_on = None

NOTHING_DUE = datetime(9999, 12, 31, tzinfo=UTC)


def upgrade():
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        sa.text(
            "UPDATE leads SET next_due_at = CASE WHEN first_contact_at IS NULL AND sla_due_at IS NOT NULL"
            " THEN sla_due_at ELSE :nothing END"
        ).bindparams(sa.bindparam("nothing", value=NOTHING_DUE, type_=sa.DateTime(timezone=True)))
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.alter_column("next_due_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.drop_index("ix_leads_owner_queue")
        batch_op.create_index(
            "ix_leads_owner_queue", ["owner_id", "is_open", "urgency_rank", "next_due_at", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_owner_queue")
        batch_op.create_index(
            "ix_leads_owner_queue", ["owner_id", "is_open", "urgency_rank", "sla_due_at", "id"], unique=False
        )
        batch_op.drop_column("next_due_at")
