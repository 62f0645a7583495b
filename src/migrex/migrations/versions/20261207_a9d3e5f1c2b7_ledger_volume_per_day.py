"""ledger: persons counted against volume limits, kept per day

Revision ID: a9d3e5f1c2b7
Revises: c4e1a7d2b9f0
Create Date: 2026-12-07 10:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a9d3e5f1c2b7"
down_revision = "c4e1a7d2b9f0"
branch_labels = None
depends_on = None

# As the ledger counts them when this revision was written (`migrex.ledger.volume`).
_OPENING_TYPES = (
    "person-inquiry",
    "violation-notice",
    "legal-status-consultation",
    "assistance-request",
    "citizenship-verification-request",
)


def upgrade() -> None:
    op.create_table(
        "ledger_volume_day",
        sa.Column("agreement_id", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("partner_authority", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "agreement_id",
            "direction",
            "partner_authority",
            "day",
            name=op.f("pk_ledger_volume_day"),
        ),
    )
    # The tally of what the ledger already holds: a message's persons, each once, on the UTC
    # day the message was recorded (SQLite stores times as UTC text, PostgreSQL as timestamptz).
    ledger = sa.table(
        "ledger_disclosure",
        *(
            sa.column(name)
            for name in (
                "at",
                "direction",
                "agreement_id",
                "partner_authority",
                "message_id",
                "message_type",
                "person",
            )
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        day = sa.func.to_char(sa.func.timezone("UTC", ledger.c.at), "YYYY-MM-DD")
    else:
        day = sa.func.substr(ledger.c.at, 1, 10)
    keys = ("agreement_id", "direction", "partner_authority")
    named = (
        sa.select(
            *(ledger.c[k] for k in keys), day.label("day"), ledger.c.message_id, ledger.c.person
        )
        .distinct()
        .where(
            ledger.c.direction.in_(("sent", "received")), ledger.c.message_type.in_(_OPENING_TYPES)
        )
        .subquery()
    )
    grouped = (*(named.c[k] for k in keys), named.c.day)
    tally = sa.table("ledger_volume_day", *(sa.column(k) for k in (*keys, "day", "persons")))
    op.execute(
        tally.insert().from_select(
            [*keys, "day", "persons"], sa.select(*grouped, sa.func.count()).group_by(*grouped)
        )
    )


def downgrade() -> None:
    op.drop_table("ledger_volume_day")
