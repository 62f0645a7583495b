"""Dense person × entity blocks by greedy peeling, as FRAUDAR (Hooi et al., KDD 2016).

The density of a set of persons and entities is the weight of the edges between them over
their number; an entity's edges weigh 1 / log(degree + 5), so a member linked to a popular
employer or a busy border week adds little, and camouflage (members also linked to ordinary
entities) cannot hide a block. Greedy peeling removes the node of least weighted degree
until none is left and keeps the densest set seen: within a factor 2 of the densest.

On a whole register one node at a time is too slow in Python, so peeling runs in two
phases: while the graph is large, each pass removes the lightest few per cent of nodes at
once (degrees by sparse products, NumPy throughout); below `EXACT_NODES` a heap removes one
node at a time. Before any peeling, the graph is cut to its weighted `min_density`-core: the
densest part of any block at least that dense has every node of degree at least that, so
nothing a lead could be made of is lost, and the peeling works on a fraction of the register.

Several blocks come from several rounds: the persons of the densest set are taken out and
the rest peeled again. The densest set is split into connected components; each component
is one block (a community), as Leiden's communities are connected.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from migrex.channels.model import MIN_PERSONS

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

EXACT_NODES: Final = 4000
BATCH_SHARE: Final = 0.03  # share of the live nodes a batch pass removes
MIN_DENSITY: Final = 0.45
MAX_ROUNDS: Final = 60
# A community larger than this is no lead an analyst can check: it is peeled again on its own.
MAX_PERSONS: Final = 1000
CORE_STEP: Final = 1.1


def column_weights(degree: npt.NDArray[np.int64]) -> Floats:
    """FRAUDAR's column weights: an entity shared by d persons weighs 1 / log(d + 5)."""
    return 1.0 / np.log(degree.astype(np.float64) + 5.0)


@dataclass(frozen=True)
class Block:
    persons: Ints  # row indices of the graph
    entities: Ints  # column indices of the graph
    density: float  # weighted edges inside / (persons + entities)


def submatrix(matrix: sp.csr_matrix, persons: Ints, entities: Ints) -> sp.csr_matrix:
    """`matrix[persons][:, entities]`, column `j` of the result being `entities[j]`.

    SciPy's column selection walks (and allocates for) every column of the matrix at each
    call, which over a thousand blocks cost minutes of a ten-million run. Here only the
    persons' own edges are looked at: their entities are found by binary search when the
    entities are few, through a table over the columns when they are many."""
    rows = matrix[np.asarray(persons, dtype=np.int64)]
    entities = np.asarray(entities, dtype=np.int64)
    if 64 * len(entities) < matrix.shape[1]:
        found, column = _by_search(rows.indices, entities)
    else:
        found, column = _by_table(rows.indices, entities, matrix.shape[1])
    row_of = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row_of[found], minlength=rows.shape[0]))])
    picked = sp.csr_matrix((rows.data[found], column, indptr), shape=(len(persons), len(entities)))
    picked.sort_indices()
    return picked


def _by_search(indices: Ints, entities: Ints) -> tuple[Mask, Ints]:
    """Which edges reach `entities`, and their positions in it, by binary search."""
    order = np.argsort(entities, kind="stable")
    ordered = entities[order]
    at = np.searchsorted(ordered, indices)
    found = at < len(ordered)
    found[found] = ordered[at[found]] == indices[found]
    return found, order[at[found]]


def _by_table(indices: Ints, entities: Ints, columns: int) -> tuple[Mask, Ints]:
    """The same through a table of every column's position (-1: not selected)."""
    position = np.full(columns, -1, dtype=np.int64)
    position[entities] = np.arange(len(entities))
    at = position[indices]
    found = at >= 0
    return found, at[found]


def select(matrix: sp.csr_matrix, persons: Mask, entities: Mask) -> sp.csr_matrix:
    """`matrix[persons][:, entities]` for masks (`submatrix` of their rows and columns)."""
    return submatrix(matrix, np.flatnonzero(persons), np.flatnonzero(entities))


def density_of(adjacency: sp.csr_matrix, weights: Floats, persons: Ints, entities: Ints) -> float:
    nodes = len(persons) + len(entities)
    if not nodes:
        return 0.0
    inside = submatrix(adjacency, persons, entities)
    return float(weights[np.asarray(entities)[inside.indices]] @ inside.data) / nodes


def weighted_core(
    adjacency: sp.csr_matrix, weights: Floats, persons: Mask, entities: Mask, level: float
) -> tuple[Mask, Mask]:
    """The nodes left when every node of weighted degree below `level` is removed, again
    and again until none is. Each pass works on what is left, so the passes shrink."""
    rows, cols = np.flatnonzero(persons), np.flatnonzero(entities)
    sub = submatrix(adjacency, rows, cols)
    w = weights[cols]
    # As in `_peel`: removed nodes are marked, and the matrix cut only when half is gone.
    alive_p, alive_e = np.ones(len(rows), dtype=bool), np.ones(len(cols), dtype=bool)
    while True:
        keep_p = alive_p & (sub @ (w * alive_e) >= level)
        keep_e = alive_e & (w * (sub.T @ alive_p.astype(np.float64)) >= level)
        if (keep_p == alive_p).all() and (keep_e == alive_e).all():
            break
        alive_p, alive_e = keep_p, keep_e
        if 2 * (int(alive_p.sum()) + int(alive_e.sum())) < len(rows) + len(cols):
            sub = select(sub, alive_p, alive_e)
            rows, cols, w = rows[alive_p], cols[alive_e], w[alive_e]
            alive_p, alive_e = np.ones(len(rows), dtype=bool), np.ones(len(cols), dtype=bool)
    core_p, core_e = np.zeros_like(persons), np.zeros_like(entities)
    core_p[rows[alive_p]], core_e[cols[alive_e]] = True, True
    return core_p, core_e


def densest(
    adjacency: sp.csr_matrix, weights: Floats, persons: Mask, entities: Mask
) -> tuple[Mask, Mask, float]:
    """The densest set greedy peeling meets among the live persons and entities, and its
    density."""
    rows, cols = np.flatnonzero(persons), np.flatnonzero(entities)
    sub = submatrix(adjacency, rows, cols)
    w = weights[cols]
    removed_at, best_step, best = _peel(sub, w)
    keep = removed_at >= best_step
    p_out, e_out = np.zeros_like(persons), np.zeros_like(entities)
    p_out[rows[keep[: len(rows)]]] = True
    e_out[cols[keep[len(rows) :]]] = True
    return p_out, e_out, best


def _peel(sub: sp.csr_matrix, w: Floats) -> tuple[Ints, int, float]:
    """The step each node is removed at (persons first, then entities), the first step of
    the densest set, and its density.

    A batch pass marks its nodes dead rather than cutting them out of the matrix: a dead
    entity weighs nothing and a dead person counts nowhere, so the degrees are the same,
    and the matrix is cut down only once half of what it holds is dead (cutting columns
    out of a sparse matrix at every pass cost more than the peeling)."""
    n_p, n_e = sub.shape
    removed_at = np.full(n_p + n_e, -1, dtype=np.int64)
    rows, cols = np.arange(n_p), np.arange(n_e)  # what `current` holds, in `sub`'s numbers
    alive_p, alive_e = np.ones(n_p, dtype=bool), np.ones(n_e, dtype=bool)
    step, best, best_step = 0, -1.0, 0
    current, weight = sub, w
    while int(alive_p.sum()) + int(alive_e.sum()) > EXACT_NODES:
        live_p, live_e = np.flatnonzero(alive_p), np.flatnonzero(alive_e)
        person_degree = (current @ (weight * alive_e))[live_p]
        entity_degree = (weight * (current.T @ alive_p.astype(np.float64)))[live_e]
        nodes = len(live_p) + len(live_e)
        density = float(person_degree.sum()) / nodes
        if density > best:
            best, best_step = density, step
        degree = np.concatenate([person_degree, entity_degree])
        cut = max(1, int(BATCH_SHARE * nodes))
        threshold = np.partition(degree, cut - 1)[cut - 1]
        gone = degree <= threshold
        gone_p, gone_e = live_p[gone[: len(live_p)]], live_e[gone[len(live_p) :]]
        removed_at[rows[gone_p]] = step
        removed_at[n_p + cols[gone_e]] = step
        alive_p[gone_p], alive_e[gone_e] = False, False
        step += 1
        if 2 * (int(alive_p.sum()) + int(alive_e.sum())) < len(rows) + len(cols):
            current = select(current, alive_p, alive_e)
            rows, cols, weight = rows[alive_p], cols[alive_e], weight[alive_e]
            alive_p, alive_e = np.ones(len(rows), dtype=bool), np.ones(len(cols), dtype=bool)
    if not (alive_p.all() and alive_e.all()):
        current = select(current, alive_p, alive_e)
        rows, cols, weight = rows[alive_p], cols[alive_e], weight[alive_e]
    order, densities = _heap_peel(current, weight)
    last = np.concatenate([rows, n_p + cols])
    removed_at[last[order]] = step + np.arange(len(order))
    if len(densities):
        top = int(np.argmax(densities))
        if densities[top] > best:
            best, best_step = float(densities[top]), step + top
    return removed_at, best_step, max(best, 0.0)


def _heap_peel(sub: sp.csr_matrix, w: Floats) -> tuple[Ints, Floats]:
    """Charikar's greedy peeling with a heap: the order nodes are removed in (persons
    0..p-1, entities p..), and the density just before each removal."""
    n_p, n_e = sub.shape
    n = n_p + n_e
    by_person = sub.tocsr()
    by_entity = sub.T.tocsr()
    degree = np.concatenate([by_person @ w, w * np.diff(by_entity.indptr)]).tolist()
    p_ptr, p_idx = by_person.indptr.tolist(), by_person.indices.tolist()
    e_ptr, e_idx = by_entity.indptr.tolist(), by_entity.indices.tolist()
    weight = w.tolist()
    live = [True] * n
    heap = [(d, node) for node, d in enumerate(degree)]
    heapq.heapify(heap)
    total = sum(degree[:n_p])
    order: list[int] = []
    densities: list[float] = []
    left = n
    while heap:
        d, node = heapq.heappop(heap)
        if not live[node] or d != degree[node]:
            continue
        densities.append(total / left)
        order.append(node)
        live[node] = False
        left -= 1
        total -= d
        if node < n_p:
            for e in p_idx[p_ptr[node] : p_ptr[node + 1]]:
                if live[n_p + e]:
                    degree[n_p + e] -= weight[e]
                    heapq.heappush(heap, (degree[n_p + e], n_p + e))
        else:
            e = node - n_p
            for p in e_idx[e_ptr[e] : e_ptr[e + 1]]:
                if live[p]:
                    degree[p] -= weight[e]
                    heapq.heappush(heap, (degree[p], p))
    return np.asarray(order, dtype=np.int64), np.asarray(densities, dtype=np.float64)


def components(
    adjacency: sp.csr_matrix, persons: Mask, entities: Mask, linking: Mask
) -> list[tuple[Ints, Ints]]:
    """The connected parts of the subgraph on these persons and entities, joined only
    through `linking` entities (a party, an address): an entry window is shared by every
    traveller of the week, so it would join unrelated groups. A window joins a part when
    a tenth of its persons, and at least two, crossed in it."""
    rows = np.flatnonzero(persons)
    cols = np.flatnonzero(entities & linking)
    windows = np.flatnonzero(~linking)
    sub = submatrix(adjacency, rows, cols)
    n_p = len(rows)
    square = sp.bmat([[None, sub], [sub.T, None]], format="csr")
    count, label = connected_components(square, directed=False)
    person_part = label[:n_p]
    crossed = submatrix(adjacency, rows, windows).tocsc()
    parts = []
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], np.arange(count + 1))
    for c in range(count):
        members = order[bounds[c] : bounds[c + 1]]
        mine = members[members < n_p]
        if not len(mine):
            continue
        crossing = np.asarray(crossed[person_part == c].sum(axis=0)).ravel()
        shared = crossing >= max(2.0, 0.1 * len(mine))
        parts.append(
            (rows[mine], np.concatenate([cols[members[members >= n_p] - n_p], windows[shared]]))
        )
    return parts


def complete(by_entity: sp.csc_matrix, part: tuple[Ints, Ints], linking: Mask, free: Mask) -> Ints:
    """The part's persons and every free person with two or more links to its entities,
    one of them a linking one: peeling keeps a block's core, and a member who gave the
    channel's flat but no employer is peeled off first."""
    rows, cols = part
    # Only the persons the part's entities touch are counted: a vector over the whole
    # register per part cost more than the peeling on ten million persons.
    touched, links = np.unique(by_entity[:, cols].indices, return_counts=True)
    identified = np.unique(by_entity[:, cols[linking[cols]]].indices)
    joined = touched[(links >= 2) & free[touched] & np.isin(touched, identified)]
    return np.union1d(joined, rows).astype(np.int64)


def _mask(n: int, where: Ints) -> Mask:
    mask = np.zeros(n, dtype=bool)
    mask[where] = True
    return mask


def _communities(
    adjacency: sp.csr_matrix,
    weights: Floats,
    found: tuple[Mask, Mask],
    linking: Mask,
    min_density: float,
) -> list[tuple[Ints, Ints]]:
    """The connected parts of a densest set. A part larger than `MAX_PERSONS` is no lead:
    on a register of a million, the workforces of the large employers chain into one part
    as dense as a small channel joined to it by a single shared employer, and greedy
    peeling (within a factor 2) cannot tell them apart. Such a part is cut to its weighted
    core at a level a step higher, again and again, until its parts are small: what is
    denser than its surroundings comes out, the rest falls away."""
    n_p, n_e = adjacency.shape
    stack = [(rows, cols, min_density) for rows, cols in components(adjacency, *found, linking)]
    parts = []
    while stack:
        rows, cols, level = stack.pop()
        if len(rows) <= MAX_PERSONS:
            parts.append((rows, cols))
            continue
        level *= CORE_STEP
        core_p, core_e = weighted_core(
            adjacency, weights, _mask(n_p, rows), _mask(n_e, cols), level
        )
        stack.extend((r, c, level) for r, c in components(adjacency, core_p, core_e, linking))
    return parts


def dense_blocks(
    adjacency: sp.csr_matrix,
    linking: Mask,
    *,
    min_density: float = MIN_DENSITY,
    min_persons: int = MIN_PERSONS,
    max_rounds: int = MAX_ROUNDS,
) -> list[Block]:
    """Blocks of at least `min_persons` persons and `min_density`, densest round first;
    `linking` marks the entities that join persons into one community."""
    adjacency = adjacency.tocsr()
    by_entity = adjacency.tocsc()
    degree = np.asarray(adjacency.getnnz(axis=0), dtype=np.int64)
    weights = column_weights(degree)
    # Peeling runs on the identifying entities only: an entry window is shared by every
    # traveller of its week, and with thousands of them a whole workforce looks as dense as
    # a channel. Windows join a block afterwards (`components`) and weigh in its score.
    entities = (degree >= 2) & linking  # an entity only one person has links nobody
    persons = np.asarray(adjacency @ entities.astype(np.float64)) > 0
    persons, entities = weighted_core(adjacency, weights, persons, entities, min_density)
    free = np.ones(adjacency.shape[0], dtype=bool)
    blocks: list[Block] = []
    for _ in range(max_rounds):
        if not persons.any():
            break
        found_p, found_e, density = densest(adjacency, weights, persons, entities)
        if density < min_density or not found_p.any():
            break
        for part in _communities(adjacency, weights, (found_p, found_e), linking, min_density):
            if len(part[0]) < min_persons or not len(part[1]):
                continue
            if density_of(adjacency, weights, *part) < min_density:
                continue
            members = complete(by_entity, part, linking, free)
            free[members] = False
            blocks.append(Block(members, part[1], density_of(adjacency, weights, members, part[1])))
        # The whole densest set leaves, what was accepted from it or not: everything denser
        # inside it came out with `_communities`, and no round repeats another.
        persons &= free & ~found_p
        # What the found persons leave behind may no longer be dense: cut to the core again.
        persons, entities = weighted_core(adjacency, weights, persons, entities, min_density)
    return blocks
