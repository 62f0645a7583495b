"""Blocks seeded by an entity whose persons are caught far more often than the base rate.

Greedy peeling finds a block only within a factor 2 of the densest set; on a register of a
million, a small channel tied by one shared employer to the chained workforces of the
large employers is swallowed by them (`peeling._communities`). An entity's egonet does not
depend on what surrounds it: a party or an address of a few to a thousand persons, among
whom violators are significantly more frequent than in the register (the lower end of the
Wilson interval at least `MIN_LIFT` times the base rate), is taken with the entities most
of its persons share, as OddBall looks at egonets one by one.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from migrex.channels.model import MIN_PERSONS
from migrex.channels.peeling import (
    MAX_PERSONS,
    Block,
    Mask,
    column_weights,
    density_of,
)

MIN_LIFT: Final = 2.0
MIN_BATCH: Final = 10  # the fewest persons a document window seeding an egonet holds
BATCH_LIFT: Final = 5.0  # and its violators' excess: a broker's clients are caught often
SHARE: Final = 0.5  # an entity joins the block when half its own persons are in the egonet
Z95: Final = 1.959964


def wilson_low(
    successes: npt.NDArray[np.float64], trials: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The lower end of the 95 % Wilson interval, for arrays (0 with no trials)."""
    n = np.maximum(trials, 1.0)
    p = successes / n
    z2 = Z95 * Z95
    centre = p + z2 / (2 * n)
    spread = Z95 * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return np.where(trials > 0, np.maximum(0.0, (centre - spread) / (1 + z2 / n)), 0.0)


def egonet_blocks(
    adjacency: sp.csr_matrix, linking: Mask, violator: Mask, *, batches: Mask | None = None
) -> list[Block]:
    """Blocks around each entity with a significant excess of violators, most significant
    first. `batches` are windows that may seed a block too (not linking anyone else in),
    when they hold at least MIN_BATCH persons."""
    by_entity = adjacency.tocsc()
    degree = np.diff(by_entity.indptr).astype(np.float64)
    weights = column_weights(degree.astype(np.int64))
    base = float(violator.mean()) if len(violator) else 0.0
    caught = by_entity.T @ violator.astype(np.float64)
    low = wilson_low(caught, degree)
    sized = (degree >= MIN_PERSONS) & (degree <= MAX_PERSONS)
    seeds = sized & linking & (low >= MIN_LIFT * base)
    if batches is not None:
        seeds |= sized & batches & (degree >= MIN_BATCH) & (low >= BATCH_LIFT * base)
    order = np.flatnonzero(seeds)[np.argsort(-low[seeds], kind="stable")]
    # What each seed's persons share, for every seed in one sparse product.
    shared = (by_entity[:, order].T @ adjacency).tocsr()
    blocks = []
    for i, seed in enumerate(order):
        n = degree[seed]
        entity = shared.indices[shared.indptr[i] : shared.indptr[i + 1]]
        count = shared.data[shared.indptr[i] : shared.indptr[i + 1]]
        inside = linking[entity] & (count >= 2) & (count >= SHARE * degree[entity])
        windows = ~linking[entity] & (count >= max(2.0, 0.1 * n))
        parties = np.union1d(entity[inside], [seed])
        entities = np.union1d(parties, entity[windows]).astype(np.int64)
        members = np.unique(by_entity[:, parties].indices).astype(np.int64)
        if len(members) > MAX_PERSONS:
            continue
        blocks.append(Block(members, entities, density_of(adjacency, weights, members, entities)))
    return blocks
