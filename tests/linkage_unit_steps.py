"""Two parties and a linkage unit as a real process: trust for three nodes (the unit in the
agreement's directory), a synthetic world's citizens imported on both sides, and a run
proposed by Kazakhstan and accepted by Armenia."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

import migrated
from casework_steps import context, deliver, now
from migrex.casework.service import open_review
from migrex.demo.workspace import Workspace
from migrex.directory.demo import DemoUnitSpec
from migrex.exchange.processes import NodeProcess, free_port
from migrex.exchange.trust import load_trust
from migrex.linkage.runs import LinkageNode, ProposeRun, accept_linkage_run, propose_linkage_run
from migrex.linkage.unit_client import UnitClient, unit_address
from migrex.node import Node
from migrex.registry.columns import Kind
from migrex.registry.service import import_registries
from migrex.settings import load_settings
from migrex.synth import generate, write_population
from nodes import AGREEMENT_FILE, Pair

AGREEMENT = "kz-am-2024"
UNIT = "kz-am-lu"


@dataclass
class Linked:
    pair: Pair
    unit: Node
    unit_process: NodeProcess
    synth: Path

    def party(self, state: str) -> LinkageNode:
        node, trust = (
            (self.pair.kz, self.pair.kz_trust)
            if state == "KZ"
            else (self.pair.am, self.pair.am_trust)
        )
        return LinkageNode(context(node), trust)

    def client(self, state: str) -> UnitClient:
        return UnitClient(unit_address(self.party(state).trust, AGREEMENT, UNIT))

    def truth(self) -> set[tuple[str, str]]:
        table = pq.read_table(self.synth / "ground_truth" / "dual_citizens.parquet")
        return set(zip(table.column("kz_national_id").to_pylist(),
                       table.column("am_national_id").to_pylist(), strict=True))  # fmt: skip


def _workspace(root: Path, database_url: str) -> tuple[Workspace, DemoUnitSpec]:
    workspace = Workspace(root / "ws")
    unit_spec = DemoUnitSpec(AGREEMENT, UNIT, "KZ", "kz-am-lu-node", free_port())
    workspace.create(
        {"KZ": [AGREEMENT_FILE], "AM": [AGREEMENT_FILE]}, {AGREEMENT: ("KZ", "AM")},
        {"KZ": free_port(), "AM": free_port()}, {"AM": database_url},
        units=[unit_spec], agreement_files={AGREEMENT: AGREEMENT_FILE},
    )  # fmt: skip
    return workspace, unit_spec


def unit_node(root: Path) -> Node:
    """A linkage unit's node, its database migrated, with no party running."""
    workspace, unit_spec = _workspace(root, "")
    unit = Node(load_settings(workspace.unit_config(unit_spec)))
    migrated.upgrade(unit.engine)
    return unit


def linked_nodes(root: Path, database_url: str, persons: int | None = 10_000) -> Iterator[Linked]:
    """Both parties and a running unit; with `persons`, a synthetic world's citizens imported
    on both sides (None: empty registers, for what needs the nodes only)."""
    workspace, unit_spec = _workspace(root, database_url)
    kz = Node(load_settings(workspace.node_config("KZ")))
    am = Node(load_settings(workspace.node_config("AM")))
    unit = Node(load_settings(workspace.unit_config(unit_spec)))
    for node in (kz, am, unit):
        migrated.upgrade(node.engine)
    synth = root / "synth"
    if persons is not None:
        write_population(generate(persons, seed=11), synth, "parquet")
    for node, state in ((kz, "KZ"), (am, "AM")) if persons is not None else ():
        with node.unit_of_work() as uow:
            import_registries(uow, [(Kind.CITIZENS, synth / state / "citizens.parquet")],
                              state=state, actor="test")  # fmt: skip
    pair = Pair(
        kz, am, load_trust(kz.settings, kz.agreements), load_trust(am.settings, am.agreements)
    )
    process = NodeProcess(workspace.unit_config(unit_spec), unit_spec.port,
                          workspace.root / "unit-serve.log")  # fmt: skip
    process.start()
    try:
        yield Linked(pair, unit, process, synth)
    finally:
        process.stop()
        for node in (kz, am, unit):
            node.close()


def accepted_run(linked: Linked) -> str:
    """Kazakhstan proposes a run, Armenia accepts it; the case id (the same on both sides)."""
    pair = linked.pair
    command = ProposeRun(AGREEMENT, "kz-mia", "am-mcs", date(2025, 1, 1), date(2025, 12, 31),
                         "officer:bolat")  # fmt: skip
    with pair.kz.unit_of_work() as uow:
        proposed = propose_linkage_run(uow, linked.party("KZ"), command, now())
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    with pair.am.unit_of_work() as uow:
        open_review(uow, proposed.case_id, "officer:anna", now())
    with pair.am.unit_of_work() as uow:
        accept_linkage_run(uow, linked.party("AM"), proposed.case_id, actor="officer:anna",
                           now=now())  # fmt: skip
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    return proposed.case_id
