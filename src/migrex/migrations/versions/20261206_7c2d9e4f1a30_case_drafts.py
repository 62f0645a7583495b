"""case drafts: decisions previewed, narrowed and approved before they leave

Revision ID: 7c2d9e4f1a30
Revises: 5e1a0c3d7b21
Create Date: 2026-12-06 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "7c2d9e4f1a30"
down_revision = "5e1a0c3d7b21"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "casework_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("drafted_by", sa.String(length=120), nullable=False),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.String(length=120), nullable=True),
        sa.Column("approved_by", sa.String(length=120), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["casework_case.id"], name=op.f("fk_casework_draft_case_id_casework_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casework_draft")),
    )
    with op.batch_alter_table("casework_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_casework_draft_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("casework_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_casework_draft_case_id"))
    op.drop_table("casework_draft")
