"""inbox: index for the messages waiting to be filed

Revision ID: e7a1f3c9b2d4
Revises: ea502cd236d0
Create Date: 2026-12-06 06:40:00
"""

from __future__ import annotations

from alembic import op

revision = "e7a1f3c9b2d4"
down_revision = "ea502cd236d0"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_exchange_inbox_status_id", ["status", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("exchange_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_inbox_status_id")
