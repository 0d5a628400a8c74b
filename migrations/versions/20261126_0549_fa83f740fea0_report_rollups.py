"""Report rollups: each UTC hour's partials of the routing report, kept by the workers

Revision ID: fa83f740fea0
Revises: e8a1f4c2b9d6
Create Date: 2026-11-26 05:49:21

The routing report merges stored hourly partials instead of folding every lead of its
range (leadrouter/reports/rollups.py). ix_leads_updated_at and ix_calls_updated_at find
the leads and calls changed since the last refresh and the hours they belong to. The tables start empty: the first
`reports.refresh_rollups` run builds them (or `flask --app leadrouter
rebuild-report-rollups`); until then reports read the leads as before.
"""

import sqlalchemy as sa
from alembic import op

revision = "fa83f740fea0"
down_revision = "e8a1f4c2b9d6"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_hours",
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stale_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("hour", name=op.f("pk_report_hours")),
    )
    op.create_index("ix_report_hours_stale_at", "report_hours", ["stale_at"])
    op.create_table(
        "report_partials",
        sa.Column("scope", sa.String(length=48), nullable=False),
        sa.Column("span_hours", sa.SmallInteger(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "span_hours", "start", name=op.f("pk_report_partials")),
    )
    op.create_table(
        "report_rollup_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("covered_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filled_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_report_rollup_state")),
    )
    op.create_index("ix_leads_updated_at", "leads", ["updated_at", "created_at"])
    op.create_index("ix_calls_updated_at", "calls", ["updated_at", "started_at"])


def downgrade():
    op.drop_index("ix_calls_updated_at", table_name="calls")
    op.drop_index("ix_leads_updated_at", table_name="leads")
    op.drop_table("report_rollup_state")
    op.drop_table("report_partials")
    op.drop_index("ix_report_hours_stale_at", table_name="report_hours")
    op.drop_table("report_hours")
