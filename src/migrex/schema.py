"""Every feature's tables, taken in from the feature list, so the metadata Alembic sees is
complete."""

from __future__ import annotations

from migrex import features
from migrex.db import Base

FEATURE_TABLES = tuple(features.table_modules())

metadata = Base.metadata
