"""officers: failed logins kept in the database, shared by every process

Revision ID: f3b8c2d91a57
Revises: e7a1f3c9b2d4
Create Date: 2026-12-06 08:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "f3b8c2d91a57"
down_revision = "e7a1f3c9b2d4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "officer_login_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Text(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_officer_login_throttle")),
    )
    with op.batch_alter_table("officer_login_throttle", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_officer_login_throttle_updated_at"), ["updated_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("officer_login_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_officer_login_throttle_updated_at"))
    op.drop_table("officer_login_throttle")
