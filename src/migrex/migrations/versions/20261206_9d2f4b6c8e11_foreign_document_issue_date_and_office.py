"""the persons-present register may give a foreign document's issue date and issuing office

Revision ID: 9d2f4b6c8e11
Revises: 5c1e9a7d3b20
Create Date: 2026-12-06 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9d2f4b6c8e11"
down_revision = "5c1e9a7d3b20"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("registry_person_present") as batch:
        batch.add_column(sa.Column("document_issue_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("document_issuing_office", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("registry_person_present") as batch:
        batch.drop_column("document_issuing_office")
        batch.drop_column("document_issue_date")
