"""outbox refusals and re-issued envelopes: the receiver's reason for a refusal no retry can
overcome, and the hashes of the envelopes a re-issued message was sealed in before

Revision ID: b59bcd39bf15
Revises: 6b9ed686d2ea
Create Date: 2026-12-06 04:58:41
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b59bcd39bf15"
down_revision = "6b9ed686d2ea"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refusal", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("earlier_envelopes", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exchange_outbox", schema=None) as batch_op:
        batch_op.drop_column("earlier_envelopes")
        batch_op.drop_column("refusal")
