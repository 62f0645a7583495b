"""channel leads keep the provenance of partner data

Revision ID: 5c1e9a7d3b20
Revises: 068b0631067d
Create Date: 2026-12-06 13:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5c1e9a7d3b20"
down_revision = "068b0631067d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channels_lead") as batch:
        batch.add_column(sa.Column("partner_origins", sa.String(length=200), nullable=True))
    with op.batch_alter_table("channels_lead_member") as batch:
        batch.add_column(sa.Column("violation_message", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("violation_origin", sa.String(length=80), nullable=True))
        batch.create_index(
            "ix_channels_lead_member_violation_message", ["violation_message"], unique=False
        )
    with op.batch_alter_table("channels_lead_edge") as batch:
        batch.add_column(sa.Column("message_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("case_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("origin_authority", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_channels_lead_edge_message_id", ["message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("channels_lead_edge") as batch:
        batch.drop_index("ix_channels_lead_edge_message_id")
        for name in ("expires_at", "origin_authority", "case_id", "message_id"):
            batch.drop_column(name)
    with op.batch_alter_table("channels_lead_member") as batch:
        batch.drop_index("ix_channels_lead_member_violation_message")
        batch.drop_column("violation_origin")
        batch.drop_column("violation_message")
    with op.batch_alter_table("channels_lead") as batch:
        batch.drop_column("partner_origins")
