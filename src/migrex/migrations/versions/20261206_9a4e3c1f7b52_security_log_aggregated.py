"""security log aggregated: one counted row per source, reason and window

Revision ID: 9a4e3c1f7b52
Revises: 85faf82625c7
Create Date: 2026-12-06 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9a4e3c1f7b52"
down_revision = "85faf82625c7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_security_event", schema=None) as batch_op:
        # Rows written before aggregation are each one refusal.
        batch_op.add_column(sa.Column("count", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("last_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_exchange_security_event_reason_at", ["reason", "at"])


def downgrade() -> None:
    with op.batch_alter_table("exchange_security_event", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_security_event_reason_at")
        batch_op.drop_column("last_at")
        batch_op.drop_column("count")
