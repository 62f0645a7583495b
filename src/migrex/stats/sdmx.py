"""Releases in SDMX: what other features use to send, describe and receive statistics.

Split in three: `sdmx_structure` (dataflow, DSD, concepts, codelists), `sdmx_data` (a release
as SDMX-ML 3.0 and SDMX-CSV 2.0) and `sdmx_read` (a received payload checked back into a
`Release`). Only pysdmx is used here; sdmx1 reads the output back in the tests, as a second
implementation would.
"""

from __future__ import annotations

from migrex.stats.release import ReleaseTemplate
from migrex.stats.sdmx_data import release_to_sdmx_csv, release_to_sdmx_ml
from migrex.stats.sdmx_read import release_from_sdmx_csv, release_from_sdmx_ml
from migrex.stats.sdmx_structure import (
    Structures,
    build_structures,
    dataflow_id,
    structures_to_sdmx_ml,
)

__all__ = [
    "ReleaseTemplate",
    "Structures",
    "build_structures",
    "dataflow_id",
    "release_from_sdmx_csv",
    "release_from_sdmx_ml",
    "release_to_sdmx_csv",
    "release_to_sdmx_ml",
    "structures_to_sdmx_ml",
]
