"""A release as SDMX data: SDMX-ML 3.0 structure-specific and SDMX-CSV 2.0.

Every observation is written, the suppressed ones too: without a value (an absent OBS_VALUE in
SDMX-ML, an empty field in SDMX-CSV) and with CONF_STATUS "C", so a receiver can tell
"confidential" from "not sent" but not a small count from the cell blanked to protect it.
Output depends only on the release (the message header carries its producer and preparation
time), so the same release always gives the same bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pysdmx.io import write_sdmx
from pysdmx.io.format import Format

from migrex.stats.release import Release
from migrex.stats.sdmx_structure import (
    CONF_STATUS,
    OBS_VALUE,
    TIME_PERIOD,
    UNIT_MEASURE,
    Structures,
    build_structures,
    dataflow_id,
    message_header,
    written_text,
)

if TYPE_CHECKING:
    from pysdmx.io.pd import PandasDataset


def release_dataset(release: Release, structures: Structures | None = None) -> PandasDataset:
    """The release as a pysdmx data set under its dataflow, one row per observation."""
    # pandas takes most of a second to import: loaded when a release is first written, not
    # by every node process that might write one.
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # noqa: PLC0415
    from pysdmx.io.pd import PandasDataset  # noqa: PLC0415

    structures = structures or build_structures(release)
    fixed = [(part.id, part.fixed) for part in structures.key if part.fixed is not None]
    breakdowns = [part.id for part in structures.breakdowns]
    count = len(release.observations)
    columns: dict[str, object] = {part_id: [code] * count for part_id, code in fixed}
    # The key is the release's, in the dataset's dimension order.
    by_position = list(zip(*(o.key for o in release.observations), strict=True))
    for part_id, codes in zip(breakdowns, by_position, strict=True):
        columns[part_id] = list(codes)
    columns[TIME_PERIOD] = [str(release.period)] * count
    # Nullable integers: a list with None would become floats and lose counts above 2**53.
    columns[OBS_VALUE] = pd.array([o.value for o in release.observations], dtype="Int64")
    # One confidential code for every blank: primary and secondary stay in our own store.
    columns[CONF_STATUS] = [o.status.published.value for o in release.observations]
    columns[UNIT_MEASURE] = [release.unit] * count
    return PandasDataset(structure=structures.schema(), data=pd.DataFrame(columns))


def message_id(release: Release) -> str:
    """`DF_AM_WORKERS_IN_KZ_2025_V1`: one message id per release version."""
    return f"{dataflow_id(release.dataset_id)}_{release.period}_V{release.version}"


def release_to_sdmx_ml(release: Release) -> str:
    """The release as an SDMX-ML 3.0 structure-specific data message (all dimensions at the
    observation level, which a cross-classified table is)."""
    written = write_sdmx(
        release_dataset(release),
        Format.DATA_SDMX_ML_3_0,
        header=message_header(message_id(release), release.producer, release.prepared_at),
    )
    return written_text(written)


def release_to_sdmx_csv(release: Release) -> str:
    """The release as SDMX-CSV 2.0, component ids as column headers."""
    return written_text(write_sdmx(release_dataset(release), Format.DATA_SDMX_CSV_2_0_0))
