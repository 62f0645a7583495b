"""linkage: the candidates of a run at each party, and what officers and answers made of them

Revision ID: 9a602769cb4c
Revises: 9d2f4b6c8e11
Create Date: 2026-12-06 13:18:58.251208
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9a602769cb4c"
down_revision = "9d2f4b6c8e11"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "linkage_candidate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("run_case_id", sa.String(length=64), nullable=False),
        sa.Column("authority", sa.String(length=64), nullable=False),
        sa.Column("pair_id", sa.String(length=80), nullable=False),
        sa.Column("national_id", sa.String(length=40), nullable=True),
        sa.Column("band", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("request_case_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linkage_candidate")),
        sa.UniqueConstraint(
            "run_case_id", "pair_id", name=op.f("uq_linkage_candidate_run_case_id")
        ),
    )
    with op.batch_alter_table("linkage_candidate", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_linkage_candidate_authority"), ["authority"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_linkage_candidate_national_id"), ["national_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_linkage_candidate_pair_id"), ["pair_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_linkage_candidate_request_case_id"), ["request_case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_linkage_candidate_run_case_id"), ["run_case_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_linkage_candidate_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("linkage_candidate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_linkage_candidate_state"))
        batch_op.drop_index(batch_op.f("ix_linkage_candidate_run_case_id"))
        batch_op.drop_index(batch_op.f("ix_linkage_candidate_request_case_id"))
        batch_op.drop_index(batch_op.f("ix_linkage_candidate_pair_id"))
        batch_op.drop_index(batch_op.f("ix_linkage_candidate_national_id"))
        batch_op.drop_index(batch_op.f("ix_linkage_candidate_authority"))

    op.drop_table("linkage_candidate")
