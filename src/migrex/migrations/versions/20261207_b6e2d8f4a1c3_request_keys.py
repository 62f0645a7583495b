"""casework: the keys clients give new requests, so that one sent twice opens one case

Revision ID: b6e2d8f4a1c3
Revises: a9d3e5f1c2b7
Create Date: 2026-12-07 22:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b6e2d8f4a1c3"
down_revision = "a9d3e5f1c2b7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "casework_request_key",
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("actor", "key", name=op.f("pk_casework_request_key")),
    )
    op.create_index(
        op.f("ix_casework_request_key_created_at"),
        "casework_request_key",
        ["created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_casework_request_key_created_at"), table_name="casework_request_key")
    op.drop_table("casework_request_key")
