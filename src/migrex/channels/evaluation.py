"""Leads against planted channels, and the two baselines a detector has to beat.

- precision@k: the share of the top k leads (or of all leads, when fewer) most of whose
  members belong to one planted channel;
- channel recall@k: the share of planted channels that one of the top k leads matches with
  a Jaccard index of at least 0.5;
- member F1: members of the top 20 leads against all channels' members.

The baselines rank what an analyst without the graph would: the entities with the most
violators (each lead: the persons linked to one entity), and the connected components over
shared identifiers (parties and addresses), by violators.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from migrex.channels.graph import EntityKind, PersonEntityGraph
from migrex.errors import ImportRejected

MATCH: Final = 0.5
F1_LEADS: Final = 20
Lead = frozenset[str]


def read_truth(path: Path, person_ids: pa.Array) -> list[Lead]:
    """The planted channels in a ground-truth file (`migrex synth`'s channels.json) whose
    members are persons of this register (`person_ids`, the graph's: looked up in Arrow, a
    register of millions is never a Python set)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        channels = [frozenset(map(str, c["member_record_ids"])) for c in document["channels"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ImportRejected(f"{path.name} is not a ground-truth file of channels") from error
    named = pa.array(sorted(frozenset().union(*channels)), pa.string())
    present = frozenset(named.filter(pc.is_in(named, value_set=person_ids)).to_pylist())
    return [c for c in channels if c and c <= present]


def _jaccard(a: Lead, b: Lead) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def metrics(leads: Sequence[Lead], channels: Sequence[Lead]) -> dict[str, Any]:
    top10, top20 = leads[:10], leads[:20]
    pure = sum(1 for lead in top10 if any(len(lead & c) * 2 > len(lead) for c in channels))
    found = sum(1 for c in channels if any(_jaccard(lead, c) >= MATCH for lead in top20))
    predicted = frozenset().union(*leads[:F1_LEADS]) if leads else frozenset()
    actual = frozenset().union(*channels) if channels else frozenset()
    hit = len(predicted & actual)
    precision = hit / len(predicted) if predicted else 0.0
    recall = hit / len(actual) if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "leads": len(leads),
        "channels": len(channels),
        "precision_at_10": round(pure / len(top10), 4) if top10 else 0.0,
        "channel_recall_at_20": round(found / len(channels), 4) if channels else 0.0,
        "member_f1": round(f1, 4),
    }


def _members(graph: PersonEntityGraph, rows: np.ndarray[Any, Any]) -> Lead:
    return frozenset(str(v) for v in graph.person_ids.take(rows.tolist()).to_pylist())


def most_violators(graph: PersonEntityGraph, k: int = F1_LEADS) -> list[Lead]:
    """Baseline: the k entities with most violators among their persons (ties: the smaller
    entity first), each lead all persons linked to the entity."""
    by_entity = graph.adjacency.tocsc()
    caught = np.asarray(by_entity.T @ graph.violator.astype(np.float64)).ravel()
    degree = np.diff(by_entity.indptr)
    order = np.lexsort((degree, -caught))[:k]
    return [
        _members(graph, by_entity.indices[by_entity.indptr[e] : by_entity.indptr[e + 1]])
        for e in order
        if caught[e] > 0
    ]


def shared_identifier_components(graph: PersonEntityGraph, k: int = F1_LEADS) -> list[Lead]:
    """Baseline: persons joined whenever they share a party or an address; the k
    components with most violators (two persons at least)."""
    linking = sp.diags((graph.entity_kind != EntityKind.ENTRY_WINDOW).astype(np.float64))
    sub = (graph.adjacency @ linking).tocsr()
    n_p = sub.shape[0]
    square = sp.bmat([[None, sub], [sub.T, None]], format="csr")
    _, label = connected_components(square, directed=False)
    person_label = label[:n_p]
    size = np.bincount(person_label)
    caught = np.bincount(person_label, weights=graph.violator.astype(np.float64))
    order = [c for c in np.lexsort((size, -caught)) if size[c] >= 2 and caught[c] > 0][:k]
    return [_members(graph, np.flatnonzero(person_label == c)) for c in order]


def lift(ours: dict[str, Any], baseline: dict[str, Any]) -> dict[str, float | None]:
    """Ours over the baseline per figure; None where the baseline scored nothing."""
    names = ("precision_at_10", "channel_recall_at_20", "member_f1")
    return {
        name: round(ours[name] / baseline[name], 2) if baseline[name] else None for name in names
    }
