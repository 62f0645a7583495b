"""Statistics releases stored on a node for the console's tests: counted from the registry
files of a synthetic population (one folder per seed, made once), protected and stored as the
next version, ours, or as a partner's release received."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from migrex.node import Node
from migrex.stats import sources
from migrex.stats.aggregate import count
from migrex.stats.release import Release
from migrex.stats.service import OWN, PARTNER, dataset_of, earlier_versions, release_of, store
from migrex.synth import generate, write_population

AGREEMENT = "kz-am-2024"
OWN_DATASET = "kz-workers-in-am"  # produced by am-mcs, on Armenia's node
PARTNER_DATASET = "am-workers-in-kz"  # produced by kz-mlsp, received by Armenia's node


def synth(folder: Path, seed: int) -> Path:
    """The registry files of synthetic population `seed`, under `folder` (made once)."""
    target = folder / f"synth-{seed}"
    if not target.exists():
        write_population(generate(10_000, seed), target, "parquet")
    return target


def stored_release(
    node: Node, folder: Path, dataset_id: str, period: int, *, seed: int = 2024,
    origin: str = OWN, actor: str = "test",
) -> Release:  # fmt: skip
    """Release `period` of `dataset_id` counted from population `seed` and store it on `node`:
    as our next version (protected against the earlier ones), or as version 1 received from
    its producer (as the partner published it: every blank "C")."""
    agreement = node.agreements[AGREEMENT]
    dataset = dataset_of(agreement, dataset_id)
    files = synth(folder, seed) / dataset.host_state
    counts = count(sources.from_parquet(files, dataset.population), dataset, period)
    now = datetime.now(UTC)
    with node.unit_of_work() as uow:
        earlier = (
            earlier_versions(uow.session, agreement, dataset_id, period) if origin == OWN else []
        )
        release = release_of(agreement, counts, now=now, earlier=earlier)
        if origin == PARTNER:
            release = release.published()
        stored = store(uow.session, release, origin=origin, actor=actor, now=now)
        uow.commit()
    return stored.release
