"""retention: keyed search terms of a record, erased with it

Revision ID: a4c7e2f19d30
Revises: f3b8c2d91a57
Create Date: 2026-12-06 11:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a4c7e2f19d30"
down_revision = "f3b8c2d91a57"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retention_search_term",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record", sa.String(length=36), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_search_term")),
    )
    with op.batch_alter_table("retention_search_term", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retention_search_term_record"), ["record"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_retention_search_term_term"), ["term"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("retention_search_term", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retention_search_term_term"))
        batch_op.drop_index(batch_op.f("ix_retention_search_term_record"))
    op.drop_table("retention_search_term")
