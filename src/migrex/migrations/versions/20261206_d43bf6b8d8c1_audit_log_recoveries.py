"""audit log recoveries: restores of our log, declared to witnesses; partners' recoveries witnessed

Revision ID: d43bf6b8d8c1
Revises: b59bcd39bf15
Create Date: 2026-12-06 05:00:29.149400
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d43bf6b8d8c1"
down_revision = "b59bcd39bf15"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_recoveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("restored_size", sa.BigInteger(), nullable=False),
        sa.Column("restored_root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("backup_created_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_recoveries")),
    )
    op.create_table(
        "witness_partner_recoveries",
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("declaration_sha256", sa.String(length=64), nullable=False),
        sa.Column("authority", sa.String(length=64), nullable=False),
        sa.Column("restored_size", sa.BigInteger(), nullable=False),
        sa.Column("restored_root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("abandoned_size", sa.BigInteger(), nullable=True),
        sa.Column("abandoned_note", sa.Text(), nullable=True),
        sa.Column("heads_set_aside", sa.Integer(), nullable=False),
        sa.Column("declaration", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "origin", "declaration_sha256", name=op.f("pk_witness_partner_recoveries")
        ),
    )
    op.create_table(
        "witness_recovery_declarations",
        sa.Column("recovery_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("witness", sa.String(length=64), nullable=False),
        sa.Column("leaf_position", sa.BigInteger(), nullable=False),
        sa.Column("held_size", sa.BigInteger(), nullable=True),
        sa.Column("declaration", sa.Text(), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recovery_id"],
            ["audit_recoveries.id"],
            name=op.f("fk_witness_recovery_declarations_recovery_id_audit_recoveries"),
        ),
        sa.PrimaryKeyConstraint(
            "recovery_id", "witness", name=op.f("pk_witness_recovery_declarations")
        ),
    )


def downgrade() -> None:
    op.drop_table("witness_recovery_declarations")
    op.drop_table("witness_partner_recoveries")
    op.drop_table("audit_recoveries")
