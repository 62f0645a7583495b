"""inbox sealed at the door: the envelope is not kept, quarantine says why

Revision ID: 5e1a0c3d7b21
Revises: 3bcb7ded66b1
Create Date: 2026-12-06 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5e1a0c3d7b21"
down_revision = "3bcb7ded66b1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_inbox", schema=None) as batch_op:
        # The envelope opens with the node's own key for as long as the key is kept, which
        # outlives erasure; its hash stays in the row and in the audit log.
        batch_op.drop_column("envelope")
        batch_op.add_column(sa.Column("problem", sa.Text(), nullable=True))
        batch_op.alter_column(
            "status", existing_type=sa.String(length=16), type_=sa.String(length=24)
        )


def downgrade() -> None:
    with op.batch_alter_table("exchange_inbox", schema=None) as batch_op:
        batch_op.alter_column(
            "status", existing_type=sa.String(length=24), type_=sa.String(length=16)
        )
        batch_op.drop_column("problem")
        batch_op.add_column(sa.Column("envelope", sa.Text(), nullable=False, server_default=""))
