"""The main scenario, step by step, printed as it happens.

Synthetic registries for both states, imported into a KZ node and an AM node, the agreements
validated and the worker figures of the report recomputed from the data; then both nodes run
as separate processes for the exchange, casework, statistics and audit steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from migrex import migrate
from migrex.agreements import Agreement, load_agreement
from migrex.console import out, progress_bar
from migrex.demo.exchange_step import run_exchange
from migrex.demo.outcome import DemoOutcome
from migrex.demo.workspace import AUTHORITIES, Workspace
from migrex.directory.demo import DemoUnitSpec
from migrex.errors import ConfigurationError
from migrex.exchange.processes import free_port
from migrex.node import Node
from migrex.registry.columns import Kind
from migrex.registry.service import import_registries
from migrex.registry.sql import SqlRegistries
from migrex.settings import load_settings
from migrex.stats.comparison import compare
from migrex.synth import generate, write_population


@dataclass(frozen=True)
class NodeFigures:
    state: str
    counts: dict[Kind, int]
    workers: dict[int, int]  # partner citizens working in the node's state, by year


def run(workspace: Workspace, agreements_dir: Path, persons: int, seed: int) -> DemoOutcome:
    """Plays the scenario; returns what it showed, also written to `outcome.json` in the
    workspace."""
    outcome = DemoOutcome()
    agreements = _validate_agreements(agreements_dir)
    by_state = {
        state: [path for path, agreement in agreements.items() if state in _states(agreement)]
        for state in AUTHORITIES
    }
    ports = {state: free_port() for state in AUTHORITIES}
    # Each node's officers' listener (TLS), for the consoles (`migrex demo --console`).
    officer_ports = {state: free_port() for state in AUTHORITIES}
    kz_am_file = _kz_am(agreements, agreements_dir)
    # The linkage unit of kz-am-2024, hosted in Kazakhstan: a third node of its own.
    unit = DemoUnitSpec("kz-am-2024", "kz-am-lu", "KZ", "kz-am-lu-node", free_port())
    workspace.create(by_state, {"kz-am-2024": ("KZ", "AM")}, ports, officer_ports=officer_ports,
                     units=[unit], agreement_files={"kz-am-2024": kz_am_file})  # fmt: skip
    unit_node = Node(load_settings(workspace.unit_config(unit)))
    migrate.upgrade(unit_node.engine)
    unit_node.close()
    out.rule("[bold]1. Synthetic registries")
    with progress_bar() as bar:
        task = bar.add_task("generating", total=None)
        population = generate(persons, seed)
        bar.update(task, description="writing files")
        written = write_population(population, workspace.synth_dir, "parquet")
        bar.update(task, total=1, completed=1, description=f"{len(written)} files written")
    out.print(f"registries and ground truth in [cyan]{workspace.synth_dir}[/]")
    figures = [_import_node(workspace, state) for state in AUTHORITIES]
    _summary(figures, agreements[kz_am_file], outcome)
    run_exchange(workspace, next(f for f in figures if f.state == "KZ").workers, outcome)
    record = outcome.write(workspace.root / "outcome.json")
    out.print(f"what the demo showed, as data: [cyan]{record}[/]")
    return outcome


def _states(agreement: Agreement) -> set[str]:
    return {party.state for party in agreement.parties}


def _validate_agreements(folder: Path) -> dict[Path, Agreement]:
    out.rule("[bold]0. Agreements")
    table = Table("file", "agreement", "parties", "authorities", "categories", "status")
    loaded: dict[Path, Agreement] = {}
    for path in sorted(folder.glob("*.toml")):
        agreement = load_agreement(path)
        loaded[path] = agreement
        status = (
            "hypothetical example" if agreement.hypothetical else f"signed {agreement.signed_on}"
        )
        table.add_row(
            path.name,
            agreement.id,
            " – ".join(party.state for party in agreement.parties),
            str(len(agreement.authorities)),
            str(len(agreement.categories)),
            f"[green]valid[/] ({status})",
        )
    out.print(table)
    return loaded


def _kz_am(agreements: dict[Path, Agreement], folder: Path) -> Path:
    """The file of the agreement the scenario plays, or a clear error before anything is made."""
    for path, agreement in agreements.items():
        if agreement.id == "kz-am-2024" and _states(agreement) == {"KZ", "AM"}:
            return path
    raise ConfigurationError(
        f"the demo plays agreement kz-am-2024 between Kazakhstan and Armenia, and no file in "
        f"{folder} holds it: run it from the checkout, or pass --agreements"
    )


def _import_node(workspace: Workspace, state: str) -> NodeFigures:
    out.rule(f"[bold]{'2' if state == 'KZ' else '3'}. Node {state}")
    node = Node(load_settings(workspace.node_config(state)))
    try:
        out.print(
            f"node [bold]{node.settings.node_id}[/] hosts {', '.join(node.settings.authorities)}; "
            f"agreements: {', '.join(node.agreements)}"
        )
        migrate.upgrade(node.engine)
        files = [
            (kind, workspace.synth_dir / state / f"{kind}.parquet")
            for kind in Kind
            if (workspace.synth_dir / state / f"{kind}.parquet").exists()
        ]
        with progress_bar() as bar, node.unit_of_work() as uow:
            task = bar.add_task(f"importing {state} registries", total=None)
            import_registries(
                uow,
                files,
                state=state,
                actor="demo",
                progress=lambda what, done, total: bar.update(
                    task, description=what, completed=done, total=total
                ),
            )
        with node.unit_of_work() as uow:
            registries = SqlRegistries(uow.session)
            counts = {kind: registries.count(kind) for kind in Kind}
            partner = "ARM" if state == "KZ" else "KAZ"
            workers = {year: registries.workers_in_year(partner, year) for year in (2024, 2025)}
        return NodeFigures(state, counts, workers)
    finally:
        node.close()


def _summary(figures: list[NodeFigures], agreement: Agreement, outcome: DemoOutcome) -> None:
    out.rule("[bold]4. Summary")
    table = Table("registry", *(f"node {f.state}" for f in figures), title="records imported")
    for kind in Kind:
        table.add_row(kind.value, *(f"{f.counts[kind]:,}" for f in figures))
    out.print(table)
    kz = next(f for f in figures if f.state == "KZ")
    reported = {
        figure.year: figure.value
        for figure in agreement.reference_figures
        if figure.citizenship == "AM" and figure.host_state == "KZ"
    }
    outcome.workers = {year: kz.workers[year] for year in (2024, 2025)}
    outcome.workers_change = compare(kz.workers[2024], kz.workers[2025]).label()
    outcome.reported = reported
    workers = Table(
        "year",
        "Armenian citizens working in Kazakhstan (computed)",
        "reported in the debate",
        title="from the KZ registries",
    )
    for year in (2024, 2025):
        workers.add_row(str(year), f"{kz.workers[year]:,}", f"{reported.get(year, 0):,}")
    out.print(workers)
    # The computed figures, on their own line: what the report's figures are checked against.
    out.print(
        f"computed 2024 → 2025: {kz.workers[2024]:,} → {kz.workers[2025]:,} "
        f"({outcome.workers_change})",
        highlight=False,
    )
    same = all(kz.workers[year] == reported.get(year) for year in (2024, 2025))
    out.print(
        "the report's figures: " + ("[green]reproduced[/]" if same else "[red]NOT reproduced[/]")
    )
