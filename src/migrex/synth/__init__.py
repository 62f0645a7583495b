"""`migrex synth`: synthetic registries of both states, with planted ground truth.

`generate(persons, seed)` builds the population in memory (Arrow tables per node and kind);
`write_population(population, out_dir, fmt)` writes it as Parquet or CSV files.
"""

from __future__ import annotations

from migrex.synth.channels import Channel
from migrex.synth.population import (
    MIN_PERSONS,
    NODES,
    GroundTruth,
    Population,
    generate,
)
from migrex.synth.writer import FORMATS, write_population

__all__ = [
    "FORMATS",
    "MIN_PERSONS",
    "NODES",
    "Channel",
    "GroundTruth",
    "Population",
    "generate",
    "write_population",
]
