"""Statistics: count tables with published margins, disclosure control that a recovery attack
cannot break, and year-over-year comparison. Other features use only what is exported here."""

from __future__ import annotations

from migrex.stats.attack import AttackReport, attack
from migrex.stats.comparison import Change, Unavailable, compare, round_half_away
from migrex.stats.cube import TOTAL, CellKey, Cube, CubeTable, Dimension, TableInvalid
from migrex.stats.intervals import Knowledge
from migrex.stats.linked import (
    LinkedDesign,
    LinkedRelease,
    LinkedTables,
    attack_linked,
    protect,
    protect_linked,
)
from migrex.stats.published import ConfStatus, Observation, PublishedTable, round_published
from migrex.stats.suppression import primary_cells

__all__ = [
    "TOTAL",
    "AttackReport",
    "CellKey",
    "Change",
    "ConfStatus",
    "Cube",
    "CubeTable",
    "Dimension",
    "Knowledge",
    "LinkedDesign",
    "LinkedRelease",
    "LinkedTables",
    "Observation",
    "PublishedTable",
    "TableInvalid",
    "Unavailable",
    "attack",
    "attack_linked",
    "compare",
    "primary_cells",
    "protect",
    "protect_linked",
    "round_half_away",
    "round_published",
]
