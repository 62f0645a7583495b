"""`migrex bench channels`: the whole analysis on a synthetic population, timed, with its
accuracy on the planted channels and the two baselines' in the same run, and the leads it
finds in the same population without the channels' members (`false_leads_per_million`).

Two grids follow, each channel setting scored with the baselines: `camouflage`, on the
channel package's own generator (`worlds`, kept apart from `migrex synth` and never tuned
on), and `synth_grid`, on `migrex synth` populations at cohesion 80 % and 50 % under no,
1:1, 2:1 and biased camouflage (shell-employer chains, document brokers and lawful
look-alikes included),
with the lift over each baseline, plus `migrex synth --no-channels` (a null world, where
every lead is a false one).

Timings are wall-clock seconds of each stage on the node's persons present; the peak memory
is the process's (generating the population included: `peak_rss_mb_after_generating`)."""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.compute as pc
import typer

from migrex.channels.evaluation import (
    lift,
    metrics,
    most_violators,
    read_truth,
    shared_identifier_components,
)
from migrex.channels.graph import Registers
from migrex.channels.pipeline import read_registers
from migrex.channels.pipeline import run as analyse
from migrex.channels.worlds import Plant, random_registers
from migrex.console import err
from migrex.registry.columns import Kind
from migrex.synth import Population, generate
from migrex.synth.channels import ChannelOptions

FIGURES = ("precision_at_10", "channel_recall_at_20", "member_f1")


def _text(table: pa.Table) -> pa.Table:
    """Every column as text, as `registry.files` reads a register."""
    return pa.table([c.cast(pa.string()) for c in table.columns], names=table.column_names)


def _without(registers: Registers, members: set[str]) -> Registers:
    """The registers with the planted channels' members and their rows taken out: the same
    population in a world without channels."""

    def keep(table: pa.Table, column: str) -> pa.Table:
        listed = pc.is_in(table[column], value_set=pa.array(sorted(members), pa.string()))
        return table.filter(pc.invert(pc.fill_null(listed, False)))

    return Registers(
        keep(registers.persons, "record_id"),
        keep(registers.employment, "person_record_id"),
        keep(registers.violations, "person_record_id"),
    )


# FRAUDAR's protocol on registers of our own generator (`worlds`), apart from synth's:
# camouflage none, 1:1 and 2:1 at random, 1:1 toward popular firms.
CAMOUFLAGE = {"none": (0.0, False), "random_1_1": (1.0, False), "random_2_1": (2.0, False),
              "biased_1_1": (1.0, True)}  # fmt: skip
GRID_PERSONS, GRID_CHANNELS = 20_000, 10


def _camouflage_grid(seed: int) -> dict[str, dict[str, dict[str, Any]]]:
    """Figures per cohesion and camouflage, ten channels among 20,000 persons; and, at 50 %
    cohesion, channels whose members are caught only 5 times the base rate over 90 days."""
    grid: dict[str, dict[str, dict[str, Any]]] = {}
    plants = {
        f"cohesion_{round(cohesion * 100)}": {
            name: Plant(cohesion=cohesion, camouflage=amount, biased=biased)
            for name, (amount, biased) in CAMOUFLAGE.items()
        }
        for cohesion in (0.8, 0.5)
    }
    plants["weak_signal_cohesion_50"] = {
        "random_1_1": Plant(cohesion=0.5, camouflage=1.0, caught=0.15, window_days=90)
    }
    for setting, variants in plants.items():
        for name, plant in variants.items():
            registers, channels = random_registers(
                seed, GRID_PERSONS, plant, channels=GRID_CHANNELS
            )
            cards = analyse(registers).cards
            found = metrics([frozenset(card.member_record_ids) for card in cards], channels)
            grid.setdefault(setting, {})[name] = found
    return grid


SYNTH_COHESION = (0.8, 0.5)
SYNTH_CAMOUFLAGE = ("none", "1:1", "2:1", "biased")


def _registers(population: Population, node: str) -> Registers:
    kinds = (Kind.PERSONS_PRESENT, Kind.EMPLOYMENT, Kind.VIOLATIONS)
    return Registers(*(_text(population.table(node, kind)) for kind in kinds))


def _synth_figures(population: Population) -> dict[str, Any]:
    """Ours and the baselines' figures over both nodes of one population, with the lifts."""
    nodes: dict[str, dict[str, Any]] = {}
    for node in ("KZ", "AM"):
        result = analyse(_registers(population, node))
        truth = population.ground_truth.channels
        channels = [frozenset(c.member_record_ids) for c in truth if c.node == node]
        leads = [frozenset(card.member_record_ids) for card in result.cards]
        nodes[node] = {
            **metrics(leads, channels),
            "baseline_most_violators": metrics(most_violators(result.graph), channels),
            "baseline_shared_identifier_components": metrics(
                shared_identifier_components(result.graph), channels
            ),
        }
    ours = _pooled(nodes, None)
    worst = _pooled(nodes, "baseline_most_violators")
    joined = _pooled(nodes, "baseline_shared_identifier_components")
    return {
        **ours,
        "channels": sum(n["channels"] for n in nodes.values()),
        "leads": sum(n["leads"] for n in nodes.values()),
        "baseline_most_violators": worst,
        "baseline_shared_identifier_components": joined,
        "lift_over_most_violators": lift(ours, worst),
        "lift_over_shared_identifier_components": lift(ours, joined),
    }


def _synth_grid(persons: int, seed: int) -> dict[str, Any]:
    """`migrex synth`'s own channels, its further archetypes included, at each cohesion and
    camouflage among its lawful look-alikes (`--more-archetypes --hard-negatives`), and its
    null world (`--no-channels --more-archetypes --hard-negatives`: documents' offices and
    dates too): every lead there is a false one."""
    grid: dict[str, Any] = {"persons": persons, "seed": seed}
    for cohesion in SYNTH_COHESION:
        setting = grid.setdefault(f"cohesion_{round(cohesion * 100)}", {})
        for camouflage in SYNTH_CAMOUFLAGE:
            options = ChannelOptions(
                cohesion=cohesion, camouflage=camouflage, more_archetypes=True, hard_negatives=True
            )
            setting[camouflage] = _synth_figures(generate(persons, seed, channels=options))
    null = generate(persons, seed, channels=ChannelOptions(planted=False, more_archetypes=True,
                                                          hard_negatives=True))  # fmt: skip
    leads, present = 0, 0
    for node in ("KZ", "AM"):
        result = analyse(_registers(null, node))
        leads += len(result.cards)
        present += result.graph.persons
    grid["null_world"] = {
        "persons": present,
        "leads": leads,
        "false_leads_per_million": round(1e6 * leads / present, 2),
    }
    return grid


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
    grid_persons: Annotated[
        int,
        typer.Option(
            min=10_000,
            help="size of each `migrex synth` population in the cohesion × camouflage grid",
        ),
    ] = 200_000,
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
        registers = _registers(population, node)
        result = analyse(registers)
        channels = [frozenset(c.member_record_ids) for c in truth if c.node == node]
        null = analyse(_without(registers, set().union(*channels)))
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
            "null_world": {"persons": null.graph.persons, "leads": len(null.cards),
                           "seconds_total": round(sum(null.seconds.values()), 3)},
        }  # fmt: skip
    err.print("[dim]camouflage grid[/]")
    grid = _camouflage_grid(seed)
    err.print("[dim]synth grid[/]")
    clock = time.perf_counter()
    synth_grid = _synth_grid(grid_persons, seed)
    synth_grid["seconds"] = round(time.perf_counter() - clock, 2)
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
        "false_leads_per_million": round(
            1e6
            * sum(n["null_world"]["leads"] for n in nodes.values())
            / sum(n["null_world"]["persons"] for n in nodes.values()),
            2,
        ),
        "baseline_most_violators": worst,
        "baseline_shared_identifier_components": joined,
        "lift_over_most_violators": lift(ours, worst),
        "lift_over_shared_identifier_components": lift(ours, joined),
        "nodes": nodes,
        "camouflage": grid,
        "synth_grid": synth_grid,
    }
    print(json.dumps(figures) if as_json else json.dumps(figures, indent=2))


SCALE_SECONDS, SCALE_GB = 300, 10  # the goal at ten million persons: 5 minutes, 10 GB


def scale(
    registries: Annotated[
        Path,
        typer.Option(
            exists=True,
            file_okay=False,
            help="a node's register files, as "
            "`migrex synth --persons 10000000` writes them (e.g. synth-out/KZ)",
        ),
    ],
    truth: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="synth's ground_truth/channels.json"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON figures")] = False,
) -> None:
    """The whole analysis of register files at a real register's size, as `channels run
    --registries` does it: seconds per stage, CPU seconds, this process's peak memory, and
    the figures against synth's ground truth. Run it in a process of its own: the peak is
    the process's."""
    clock, cpu = time.perf_counter(), time.process_time()
    result = analyse(read_registers(registries))  # the registers are let go after the graph
    wall = time.perf_counter() - clock
    seconds = {"read": round(wall - sum(result.seconds.values()), 3), **result.seconds}
    peak_gb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    figures: dict[str, Any] = {
        "benchmark": "channels-scale",
        "persons": result.graph.persons,
        "entities": result.graph.entities,
        "edges": result.graph.edges,
        "seconds": seconds,
        "seconds_total": round(wall, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "peak_rss_gb": peak_gb,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "leads": len(result.cards),
        "goal": {"seconds": SCALE_SECONDS, "gb": SCALE_GB,
                 "met": wall <= SCALE_SECONDS and peak_gb <= SCALE_GB},
    }  # fmt: skip
    if truth is not None:
        channels = read_truth(truth, result.graph.person_ids)
        leads = [frozenset(card.member_record_ids) for card in result.cards]
        unmatched = [lead for lead in leads if not any(len(lead & c) * 2 > len(lead)
                                                       for c in channels)]  # fmt: skip
        figures |= {
            **metrics(leads, channels),
            "false_leads": len(unmatched),
            "false_leads_per_million": round(
                1e6 * len(unmatched) / max(result.graph.persons, 1), 2
            ),
        }
    print(json.dumps(figures) if as_json else json.dumps(figures, indent=2))
