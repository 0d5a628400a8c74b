"""Index assignments by lead for the routing report

Revision ID: c4d7e2a9b815
Revises: 5b1e0c7d2a41
Create Date: 2026-11-26 03:00:00

The routing report joins a date range's leads to their assignments (first assignment,
who held the lead at first contact, reassignments). Without an index on lead_id the join
reads every assignment ever made; with (lead_id, started_at) an old range probes per lead,
and a lead's ownership history (the decision explorer, the previous owner) is one range.
"""

from alembic import op

revision = "c4d7e2a9b815"
down_revision = "5b1e0c7d2a41"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index("ix_assignments_lead_started", ["lead_id", "started_at"], unique=False)


def downgrade():
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_assignments_lead_started")
