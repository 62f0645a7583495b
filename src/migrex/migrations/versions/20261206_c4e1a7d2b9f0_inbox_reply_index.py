"""inbox: index for the answers to a message

The witnessing round looks up the answer to the last checkpoint it sent to each witness
(`witness.sending`) every few seconds; without it, that lookup read the whole inbox.

Revision ID: c4e1a7d2b9f0
Revises: 9a602769cb4c
Create Date: 2026-12-06 20:00:00
"""

from __future__ import annotations

from alembic import op

revision = "c4e1a7d2b9f0"
down_revision = "9a602769cb4c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_exchange_inbox_in_reply_to", ["in_reply_to"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("exchange_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_inbox_in_reply_to")
