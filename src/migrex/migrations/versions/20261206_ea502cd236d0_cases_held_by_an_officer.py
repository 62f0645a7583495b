"""cases held by an officer: who has claimed a case, and since when

Revision ID: ea502cd236d0
Revises: 9a4e3c1f7b52
Create Date: 2026-12-06 05:28:42.661708
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ea502cd236d0"
down_revision = "9a4e3c1f7b52"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("casework_case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_to", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_casework_case_assigned_to"), ["assigned_to"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("casework_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_casework_case_assigned_to"))
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("assigned_to")
