"""Call offers (every advisor rung for a call, how long it rang and how it ended) and the away status

Revision ID: 7d2f4b8e1c93
Revises: 3c9d1e7a5b20
Create Date: 2026-12-02 06:20:00

A <Dial> that ends unanswered offers the caller to the next advisor (hunting); the offers
say who missed the call (not rung again for it within a minute) and feed the call figures.
Two offers in a row left unanswered set the advisor `away` (not routed to until they undo it).
"""

import sqlalchemy as sa
from alembic import op

revision = "7d2f4b8e1c93"
down_revision = "3c9d1e7a5b20"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "call_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("advisor_id", sa.Integer(), nullable=False),
        sa.Column("dial_call_sid", sa.String(length=64), nullable=True),
        sa.Column("rang_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ring_seconds", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_offers_call_id_calls"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["advisor_id"], ["advisors.id"], name=op.f("fk_call_offers_advisor_id_advisors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_offers")),
        sa.UniqueConstraint("dial_call_sid", name=op.f("uq_call_offers_dial_call_sid")),
    )
    op.create_index("ix_call_offers_call", "call_offers", ["call_id", "ended_at"])
    op.create_index(op.f("ix_call_offers_advisor_id"), "call_offers", ["advisor_id"])
    _status_check("'available', 'busy', 'away', 'offline'")


def downgrade():
    op.execute("UPDATE advisors SET status = 'offline' WHERE status = 'away'")
    _status_check("'available', 'busy', 'offline'")
    op.drop_index(op.f("ix_call_offers_advisor_id"), table_name="call_offers")
    op.drop_index("ix_call_offers_call", table_name="call_offers")
    op.drop_table("call_offers")


def _status_check(statuses: str) -> None:
    # Batch mode: SQLite rebuilds the table to change a CHECK constraint.
    with op.batch_alter_table("advisors") as batch:
        batch.drop_constraint(op.f("ck_advisors_status"), type_="check")
        batch.create_check_constraint(op.f("ck_advisors_status"), f"status IN ({statuses})")
