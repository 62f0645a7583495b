"""registry refresh: import modes, counts, and the versions a refresh replaced

Revision ID: 85faf82625c7
Revises: d43bf6b8d8c1
Create Date: 2026-12-06 04:57:55.733303
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "85faf82625c7"
down_revision = "d43bf6b8d8c1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_record_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("record_key", sa.String(length=40), nullable=False),
        sa.Column("person_record_id", sa.String(length=40), nullable=True),
        sa.Column("document_number", sa.String(length=20), nullable=True),
        sa.Column("national_id", sa.String(length=20), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_by", sa.Integer(), nullable=False),
        sa.Column("ended", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["registry_import_batch.id"],
            name=op.f("fk_registry_record_version_batch_id_registry_import_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by"],
            ["registry_import_batch.id"],
            name=op.f("fk_registry_record_version_superseded_by_registry_import_batch"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_record_version")),
    )
    with op.batch_alter_table("registry_record_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_record_version_batch_id"), ["batch_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_record_version_document_number"),
            ["document_number"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_registry_record_version_national_id"), ["national_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_record_version_person_record_id"),
            ["person_record_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_registry_record_version_record", ["kind", "record_key"], unique=False
        )

    with op.batch_alter_table("registry_import_batch", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mode", sa.String(length=16), server_default="append", nullable=False)
        )
        batch_op.add_column(sa.Column("added", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("changed", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("removed", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("registry_import_batch", schema=None) as batch_op:
        batch_op.drop_column("removed")
        batch_op.drop_column("changed")
        batch_op.drop_column("added")
        batch_op.drop_column("mode")

    with op.batch_alter_table("registry_record_version", schema=None) as batch_op:
        batch_op.drop_index("ix_registry_record_version_record")
        batch_op.drop_index(batch_op.f("ix_registry_record_version_person_record_id"))
        batch_op.drop_index(batch_op.f("ix_registry_record_version_national_id"))
        batch_op.drop_index(batch_op.f("ix_registry_record_version_document_number"))
        batch_op.drop_index(batch_op.f("ix_registry_record_version_batch_id"))

    op.drop_table("registry_record_version")
