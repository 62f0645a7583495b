"""Every feature's tables, imported in one place so the metadata Alembic sees is complete."""

from __future__ import annotations

from migrex.audit import tables as audit_tables
from migrex.casework import tables as casework_tables
from migrex.db import Base
from migrex.exchange import tables as exchange_tables
from migrex.ledger import tables as ledger_tables
from migrex.officers import tables as officers_tables
from migrex.registry import tables as registry_tables
from migrex.retention import tables as retention_tables
from migrex.stats import tables as stats_tables
from migrex.witness import tables as witness_tables

FEATURE_TABLES = (
    registry_tables,
    exchange_tables,
    officers_tables,
    casework_tables,
    ledger_tables,
    retention_tables,
    stats_tables,
    audit_tables,
    witness_tables,
)

metadata = Base.metadata
