"""Scoring a cluster and explaining the score: the lead card.

A score belongs to a cluster, never to a person, and is made only of what members share:
how dense their links are against what the same degrees would give at random, how often
they were caught against the node's base rate (the lower end of a Wilson interval, so a
handful of members cannot make a lead), and how tightly their arrivals bunch. Nationality,
sex, age, names and documents are not read at all (`graph`), and each card says so.

    score = density × (1 + log2 violation lift × (1 + log2 arrival burst))

with each lift taken at the lower end of its 95 % interval and floored at 1. A cluster no
more often caught than the register's base keeps its bare density, however bunched its
arrivals: students arriving for the term, a crew hired for a season are no lead. A burst
sharpens an excess of violations (a scheme delivering its people at once) and never makes
one.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from migrex.channels.graph import NO_DAY, EntityKind, PersonEntityGraph, source_names
from migrex.channels.peeling import Block, column_weights, submatrix

Z95: Final = 1.959964
BURST_DAYS: Final = 30
OVERLAP: Final = 0.5
# A lead scores at least this. Clusters of random registers score below 1 and dense crews
# caught at the base rate below 1 too (tests/unit/channels/test_detection.py); the channels
# `migrex synth` plants score 9 to 19 among a million persons (their intervals being
# simultaneous over the 600 clusters scored), a long-running scheme without a burst less.
HIGH_SCORE: Final = 3.0
SIGNALS_NOT_USED: Final = (
    "citizenship",
    "sex",
    "birth date and age",
    "names",
    "document numbers",
    "purpose of stay",
)


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (0, 1 with no trials)."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    scale = 1 + z * z / trials
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


def simultaneous_z(clusters: int) -> float:
    """The z of two-sided intervals that hold 95 % for `clusters` of them at once."""
    return max(Z95, NormalDist().inv_cdf(1 - 0.025 / max(clusters, 1)))


@dataclass(frozen=True)
class SharedEntity:
    kind: str
    key: str
    label: str
    members_linked: int
    degree: int  # persons linked in the whole register
    sources: list[str]  # registers the members' links were read from


@dataclass(frozen=True)
class LeadCard:
    """Everything a lead's score is made of, for an analyst to check link by link."""

    cluster_id: str
    rank: int
    score: float
    members: int
    member_record_ids: list[str]
    density: dict[str, float]
    violations: dict[str, Any]
    burst: dict[str, Any]
    border_window: dict[str, Any]
    rank_among_size: dict[str, Any]
    shared_entities: list[SharedEntity]
    benign_explanations: list[str]
    signals_not_used: list[str] = field(default_factory=lambda: list(SIGNALS_NOT_USED))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Context:
    """What every cluster of one graph is compared against."""

    base_rate: float
    person_degree: npt.NDArray[np.float64]
    entity_degree: npt.NDArray[np.int64]
    weights: npt.NDArray[np.float64]
    edges: int
    arrival_span: int  # days over which the register's arrivals spread
    # The intervals of every cluster hold together, 95 % for all of them at once
    # (Bonferroni over the clusters scored): a register of a million has hundreds of
    # thousands of flats, and among them a few of four persons have two violators and
    # three arrivals in a month by chance alone. Each interval at 95 % on its own made
    # such flats leads (1.6 per million in a world without channels).
    clusters: int = 1
    z: float = Z95

    @staticmethod
    def of(graph: PersonEntityGraph, clusters: int = 1) -> Context:
        degree = graph.entity_degree()
        known = graph.entry_day[graph.entry_day != NO_DAY]
        span = int(np.percentile(known, 99) - np.percentile(known, 1)) if len(known) else 0
        return Context(
            base_rate=float(graph.violator.mean()) if graph.persons else 0.0,
            person_degree=np.asarray(graph.adjacency.getnnz(axis=1), dtype=np.float64),
            entity_degree=degree,
            weights=column_weights(degree),
            edges=max(graph.edges, 1),
            arrival_span=max(span, BURST_DAYS),
            clusters=max(clusters, 1),
            z=simultaneous_z(clusters),
        )


def _density(graph: PersonEntityGraph, ctx: Context, block: Block) -> dict[str, float]:
    """Observed weighted density and what a random graph with the same degrees gives."""
    persons, entities = block.persons, block.entities
    nodes = len(persons) + len(entities)
    inside = submatrix(graph.adjacency, persons, entities)
    observed = float(np.asarray(inside.sum(axis=0)).ravel() @ ctx.weights[entities]) / nodes
    stubs = float(ctx.person_degree[persons].sum())
    expected_edges = stubs * ctx.entity_degree[entities] / ctx.edges
    expected = float(expected_edges @ ctx.weights[entities]) / nodes
    return {
        "observed": round(observed, 4),
        "expected": round(expected, 6),
        "ratio": round(observed / expected, 1) if expected > 0 else 0.0,
    }


def _violations(graph: PersonEntityGraph, ctx: Context, block: Block) -> dict[str, Any]:
    caught = int(graph.violator[block.persons].sum())
    n = len(block.persons)
    low, high = wilson(caught, n, ctx.z)
    lift = low / ctx.base_rate if ctx.base_rate > 0 else 0.0
    return {
        "violators": caught,
        "members": n,
        "rate": round(caught / n, 4) if n else 0.0,
        "base_rate": round(ctx.base_rate, 4),
        "interval_95": [round(low, 4), round(high, 4)],
        "simultaneous_over_clusters": ctx.clusters,
        "lift_low": round(lift, 2),
    }


def _burst(graph: PersonEntityGraph, ctx: Context, block: Block) -> dict[str, Any]:
    """The most members arriving within `BURST_DAYS`, against an even spread of arrivals
    over the register's span; one arrival is taken off, as the window was chosen to fit."""
    days = np.sort(graph.entry_day[block.persons])
    days = days[days != NO_DAY]
    n = len(days)
    if not n:
        return {"arrivals": 0, "members_dated": 0, "ratio_low": 0.0}
    ends = np.searchsorted(days, days + BURST_DAYS, side="left")
    counts = ends - np.arange(n)
    top = int(np.argmax(counts))
    most = int(counts[top])
    expected_share = min(1.0, BURST_DAYS / ctx.arrival_span)
    low, _ = wilson(max(most - 1, 0), n, ctx.z)
    start = np.datetime64(int(days[top]), "D")
    return {
        "window_days": BURST_DAYS,
        "arrivals": most,
        "members_dated": n,
        "from": str(start),
        "expected_share": round(expected_share, 4),
        "ratio_low": round(low / expected_share, 2),
    }


def _border_window(graph: PersonEntityGraph, block: Block) -> dict[str, Any]:
    windows = block.entities[graph.entity_kind[block.entities] == EntityKind.ENTRY_WINDOW]
    if not len(windows):
        return {"window": None, "members": 0, "share": 0.0}
    crossed = np.asarray(submatrix(graph.adjacency, block.persons, windows).sum(axis=0)).ravel()
    top = int(np.argmax(crossed))
    return {
        "window": graph.label(windows[top]),
        "members": int(crossed[top]),
        "share": round(float(crossed[top]) / len(block.persons), 3),
        "windows": len(windows),
    }


def _shared(graph: PersonEntityGraph, ctx: Context, block: Block) -> list[SharedEntity]:
    inside = submatrix(graph.adjacency, block.persons, block.entities).tocsc()
    masks = submatrix(graph.sources, block.persons, block.entities).tocsc()
    linked = np.diff(inside.indptr)
    shared = []
    for position in np.argsort(-linked, kind="stable"):
        entity = int(block.entities[position])
        mask = masks.data[masks.indptr[position] : masks.indptr[position + 1]]
        sources = int(np.bitwise_or.reduce(mask)) if len(mask) else 0
        shared.append(
            SharedEntity(
                kind=EntityKind(int(graph.entity_kind[entity])).label,
                key=graph.key(entity),
                label=graph.label(entity),
                members_linked=int(linked[position]),
                degree=int(ctx.entity_degree[entity]),
                sources=source_names(sources),
            )
        )
    return shared


def _benign(shared: list[SharedEntity], violations: dict[str, Any]) -> list[str]:
    """Lawful reasons a cluster like this one exists, for the analyst to rule out."""
    reasons = []
    employs = any(e.kind == "party" and "employment" in e.sources for e in shared)
    invites = any(e.kind == "party" and "persons_present" in e.sources for e in shared)
    housed = any(e.kind == "address" and e.members_linked >= 5 for e in shared)
    if employs and housed:
        reasons.append("an employer housing its foreign staff (a hostel or dormitory)")
    if invites and not employs:
        reasons.append("a university, school or tour operator inviting a group")
    if housed and not employs:
        reasons.append("a dormitory or shelter registering its residents")
    if violations["lift_low"] < 1:
        reasons.append("members are caught no more often than the register's base rate")
    return reasons or ["a family or a work crew travelling together"]


@dataclass(frozen=True)
class Scored:
    block: Block
    score: float
    card_parts: dict[str, Any]


def score_block(graph: PersonEntityGraph, ctx: Context, block: Block) -> Scored:
    density = _density(graph, ctx, block)
    violations = _violations(graph, ctx, block)
    burst = _burst(graph, ctx, block)
    caught = math.log2(max(1.0, violations["lift_low"]))
    bunched = 1 + math.log2(max(1.0, burst["ratio_low"]))
    score = density["observed"] * (1 + caught * bunched)
    parts = {
        "density": density,
        "violations": violations,
        "burst": burst,
        "border_window": _border_window(graph, block),
    }
    return Scored(block, round(score, 4), parts)


def distinct(
    ranked: list[Scored], identifying: npt.NDArray[np.bool_], overlap: float = OVERLAP
) -> list[Scored]:
    """Best first, leaving out each cluster that shares `overlap` of the smaller one's
    persons with a better one, or whose parties and addresses are all in a better one's
    card already: peeling and egonets often find one scheme twice, or one of its flats
    with the neighbours registered there."""
    kept: list[Scored] = []
    sizes: list[int] = []
    holders: dict[int, list[int]] = {}  # person -> the kept clusters holding them
    shown: set[int] = set()
    for s in ranked:
        mine = set(s.block.persons.tolist())
        entities = set(s.block.entities[identifying[s.block.entities]].tolist())
        if entities and entities <= shown:
            continue
        # Each kept cluster's share of this one, from this one's persons alone: comparing
        # with every kept cluster in turn took minutes with thousands of blocks.
        common = Counter(k for person in mine for k in holders.get(person, ()))
        if any(n >= overlap * min(len(mine), sizes[k]) for k, n in common.items()):
            continue
        for person in mine:
            holders.setdefault(person, []).append(len(kept))
        kept.append(s)
        sizes.append(len(mine))
        shown |= entities
    return kept


def _size_bucket(n: int) -> tuple[int, int]:
    low = 1 << (max(n, 1).bit_length() - 1)
    return low, 2 * low - 1


def lead_cards(
    graph: PersonEntityGraph, blocks: list[Block], min_score: float = HIGH_SCORE
) -> list[LeadCard]:
    """Cards of the blocks scoring at least `min_score`, best first."""
    ctx = Context.of(graph, clusters=len(blocks))
    ranked = sorted(
        (score_block(graph, ctx, b) for b in blocks),
        key=lambda s: (-s.score, -len(s.block.persons), int(s.block.persons.min())),
    )
    scored = distinct(ranked, graph.entity_kind != EntityKind.ENTRY_WINDOW)
    buckets: dict[tuple[int, int], list[float]] = {}
    for s in scored:
        buckets.setdefault(_size_bucket(len(s.block.persons)), []).append(s.score)
    ids = graph.person_ids
    cards = []
    for rank, s in enumerate((s for s in scored if s.score >= min_score), start=1):
        bucket = _size_bucket(len(s.block.persons))
        peers = buckets[bucket]
        shared = _shared(graph, ctx, s.block)
        cards.append(
            LeadCard(
                cluster_id=f"L{rank:04d}",
                rank=rank,
                score=s.score,
                members=len(s.block.persons),
                member_record_ids=sorted(
                    str(v) for v in ids.take(s.block.persons.tolist()).to_pylist()
                ),
                rank_among_size={
                    "members_from": bucket[0],
                    "members_to": bucket[1],
                    "rank": 1 + sum(1 for p in peers if p > s.score),
                    "of": len(peers),
                },
                shared_entities=shared,
                benign_explanations=_benign(shared, s.card_parts["violations"]),
                **s.card_parts,
            )
        )
    return cards
