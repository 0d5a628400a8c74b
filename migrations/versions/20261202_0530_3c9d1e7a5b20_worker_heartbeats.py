"""Worker heartbeats: which workers are alive and which queues they consume

Revision ID: 3c9d1e7a5b20
Revises: fa83f740fea0
Create Date: 2026-12-02 05:30:00

Each Celery worker refreshes its row while it is connected to the broker, so /readyz can say
when no worker consumes the routing queue (leads would wait unseen).
"""

import sqlalchemy as sa
from alembic import op

revision = "3c9d1e7a5b20"
down_revision = "fa83f740fea0"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "worker_heartbeats",
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("queues", sa.String(length=500), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hostname", name=op.f("pk_worker_heartbeats")),
    )
    op.create_index("ix_worker_heartbeats_seen_at", "worker_heartbeats", ["seen_at"])


def downgrade():
    op.drop_index("ix_worker_heartbeats_seen_at", table_name="worker_heartbeats")
    op.drop_table("worker_heartbeats")
