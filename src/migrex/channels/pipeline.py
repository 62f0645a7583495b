"""The whole analysis of one node's registers: graph, dense blocks, scored lead cards."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from migrex.channels.egonets import egonet_blocks
from migrex.channels.graph import (
    GRAPH_COLUMNS,
    EntityKind,
    PersonEntityGraph,
    Registers,
    build_graph,
)
from migrex.channels.peeling import MIN_DENSITY, Block, dense_blocks
from migrex.channels.scoring import HIGH_SCORE, LeadCard, lead_cards
from migrex.errors import ImportRejected
from migrex.registry.columns import Kind
from migrex.registry.files import FORMATS, read_registry_file


@dataclass
class Run:
    graph: PersonEntityGraph
    blocks: list[Block]
    cards: list[LeadCard]
    seconds: dict[str, float] = field(default_factory=dict)


def detect(graph: PersonEntityGraph, min_density: float = MIN_DENSITY) -> list[Block]:
    """Dense blocks by peeling, and the egonets of entities with an excess of violators;
    where they overlap, scoring keeps the better (`scoring.lead_cards`).

    Time windows (an entry week at a crossing, a document office's four weeks) link no
    one by themselves: thousands cross at one border post in a week, and any office issues
    documents in batches. A document window seeds an egonet only when it holds a batch
    (`egonets.MIN_BATCH`) with an excess of violators: a broker's."""
    windows = (graph.entity_kind == EntityKind.ENTRY_WINDOW) | (
        graph.entity_kind == EntityKind.DOCUMENT_WINDOW)  # fmt: skip
    dense = dense_blocks(graph.adjacency, ~windows, min_density=min_density)
    batches = graph.entity_kind == EntityKind.DOCUMENT_WINDOW
    return dense + egonet_blocks(graph.adjacency, ~windows, graph.violator, batches=batches)


def run(
    registers: Registers, min_score: float = HIGH_SCORE, min_density: float = MIN_DENSITY
) -> Run:
    """Leads of these registers, with the seconds each stage took."""
    clock = time.perf_counter()
    graph = build_graph(registers)
    # The registers are let go here when the caller kept no reference (`channels run
    # --registries`): on ten million persons they are gigabytes the peeling does not need.
    del registers
    built = time.perf_counter()
    blocks = detect(graph, min_density)
    detected = time.perf_counter()
    cards = lead_cards(graph, blocks, min_score)
    scored = time.perf_counter()
    seconds = {
        "build_graph": round(built - clock, 3),
        "detect": round(detected - built, 3),
        "score_and_explain": round(scored - detected, 3),
    }
    return Run(graph, blocks, cards, seconds)


def _empty(kind: Kind) -> pa.Table:
    names = list(GRAPH_COLUMNS[kind])
    return pa.table([pa.array([], pa.string()) for _ in names], names=names)


def _find(folder: Path, kind: Kind) -> Path | None:
    found = [folder / f"{kind}.{fmt}" for fmt in FORMATS if (folder / f"{kind}.{fmt}").is_file()]
    return found[0] if found else None


def read_registers(folder: Path) -> Registers:
    """A node's register files in `folder` (as `migrex synth` writes them): persons present
    is required, employment and violations are read when present."""
    if not folder.is_dir():
        raise ImportRejected(f"{folder} is not a folder of register files")
    persons = _find(folder, Kind.PERSONS_PRESENT)
    if persons is None:
        raise ImportRejected(
            f"{folder} holds no {Kind.PERSONS_PRESENT}.csv or {Kind.PERSONS_PRESENT}.parquet"
        )
    tables = {}
    for kind in (Kind.EMPLOYMENT, Kind.VIOLATIONS):
        path = _find(folder, kind)
        tables[kind] = _read(path, kind) if path else _empty(kind)
    registers = Registers(
        _read(persons, Kind.PERSONS_PRESENT), tables[Kind.EMPLOYMENT], tables[Kind.VIOLATIONS]
    )
    # Arrow's allocator keeps what the reading freed for reuse; the graph that follows
    # allocates through NumPy, so give it back to the system.
    pa.default_memory_pool().release_unused()
    return registers


def _read(path: Path, kind: Kind) -> pa.Table:
    """Only what the graph reads: the names, documents and the rest are never held (on a
    register of millions they are most of its memory)."""
    return read_registry_file(path, kind, GRAPH_COLUMNS[kind]).table
