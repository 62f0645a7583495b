"""`migrex bench channels`: the whole analysis on a synthetic population, timed, with its
accuracy on the planted channels and the two baselines' in the same run."""

from __future__ import annotations

import json
import resource
import time
from typing import Annotated, Any

import pyarrow as pa
import typer

from migrex.channels.evaluation import (
    lift,
    metrics,
    most_violators,
    shared_identifier_components,
)
from migrex.channels.graph import Registers
from migrex.channels.pipeline import run as analyse
from migrex.console import err
from migrex.registry.columns import Kind
from migrex.synth import generate

FIGURES = ("precision_at_10", "channel_recall_at_20", "member_f1")


def _text(table: pa.Table) -> pa.Table:
    """Every column as text, as `registry.files` reads a register."""
    return pa.table([c.cast(pa.string()) for c in table.columns], names=table.column_names)


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _pooled(nodes: dict[str, dict[str, Any]], key: str | None) -> dict[str, float]:
    """Figures over both nodes: hits over leads and channels summed, F1 weighted by
    channels."""
    parts = [n[key] if key else n for n in nodes.values()]
    channels = sum(p["channels"] for p in parts)
    shown = sum(min(p["leads"], 10) for p in parts)
    return {
        "precision_at_10": round(
            sum(p["precision_at_10"] * min(p["leads"], 10) for p in parts) / shown, 4
        )
        if shown
        else 0.0,
        "channel_recall_at_20": round(
            sum(p["channel_recall_at_20"] * p["channels"] for p in parts) / channels, 4
        )
        if channels
        else 0.0,
        "member_f1": round(sum(p["member_f1"] * p["channels"] for p in parts) / channels, 4)
        if channels
        else 0.0,
    }


def run(
    persons: Annotated[
        int, typer.Option(min=10_000, help="foreigners present in Kazakhstan (1000000 for 1 M)")
    ] = 200_000,
    seed: Annotated[int, typer.Option(min=0, help="the synthetic population's seed")] = 2024,
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON figures")] = False,
) -> None:
    """Build the graph, detect and score on a synthetic population; prints JSON."""
    clock = time.perf_counter()
    population = generate(persons, seed)
    generated = round(time.perf_counter() - clock, 2)
    rss_generated = _peak_mb()
    truth = population.ground_truth.channels
    nodes: dict[str, dict[str, Any]] = {}
    for node in ("KZ", "AM"):
        err.print(f"[dim]analysing {node}[/]")
        kinds = (Kind.PERSONS_PRESENT, Kind.EMPLOYMENT, Kind.VIOLATIONS)
        registers = Registers(*(_text(population.table(node, kind)) for kind in kinds))
        result = analyse(registers)
        channels = [frozenset(c.member_record_ids) for c in truth if c.node == node]
        leads = [frozenset(card.member_record_ids) for card in result.cards]
        ours = metrics(leads, channels)
        worst = metrics(most_violators(result.graph), channels)
        joined = metrics(shared_identifier_components(result.graph), channels)
        nodes[node] = {
            "persons": result.graph.persons,
            "entities": result.graph.entities,
            "edges": result.graph.edges,
            "seconds": result.seconds,
            "seconds_total": round(sum(result.seconds.values()), 3),
            **ours,
            "baseline_most_violators": worst,
            "baseline_shared_identifier_components": joined,
        }
    ours = _pooled(nodes, None)
    worst = _pooled(nodes, "baseline_most_violators")
    joined = _pooled(nodes, "baseline_shared_identifier_components")
    figures = {
        "benchmark": "channels",
        "persons": persons,
        "seed": seed,
        "cores": 2,
        "generate_seconds": generated,
        "pipeline_seconds_kz": nodes["KZ"]["seconds_total"],
        "peak_rss_mb_after_generating": rss_generated,
        "peak_rss_mb": _peak_mb(),
        **ours,
        "baseline_most_violators": worst,
        "baseline_shared_identifier_components": joined,
        "lift_over_most_violators": lift(ours, worst),
        "lift_over_shared_identifier_components": lift(ours, joined),
        "nodes": nodes,
    }
    print(json.dumps(figures) if as_json else json.dumps(figures, indent=2))
