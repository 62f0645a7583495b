"""A node with a channel in its registers, for the tests of kept leads: Armenia's synthetic
registers (`migrex synth`, which plants channels) imported into a node, an analyst of am-mcs,
and the leads of its registers stored as a run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from migrex.audit.leaves import AuditLeaf
from migrex.audit.tables import AuditLeafRow
from migrex.channels.runs import StoredRun, StoreRun, store_run
from migrex.node import Node
from migrex.officers.model import Officer, Role
from migrex.officers.service import list_officers
from migrex.registry.columns import Kind
from migrex.registry.service import import_registries
from migrex.synth import generate, write_population

ANALYST = "ani"
AUTHORITY = "am-mcs"


def synthetic_registers(root: Path) -> Path:
    """Armenia's registers of a 10,000-person synthetic population (two planted channels)."""
    folder = root / "synth"
    if not (folder / "AM").is_dir():
        write_population(generate(10_000, 11), folder, "csv")
    return folder / "AM"


def import_am(node: Node, folder: Path) -> None:
    files = [(kind, folder / f"{kind}.csv") for kind in
             (Kind.PERSONS_PRESENT, Kind.EMPLOYMENT, Kind.VIOLATIONS)]  # fmt: skip
    with node.unit_of_work() as uow:
        import_registries(uow, files, state="AM", actor="test")


def officer_named(node: Node, username: str) -> Officer:
    with node.unit_of_work() as uow:
        return next(o for o in list_officers(uow) if o.username == username)


def stored_run(node: Node, username: str = ANALYST) -> StoredRun:
    officer = officer_named(node, username)
    with node.unit_of_work() as uow:
        return store_run(uow, StoreRun(officer, AUTHORITY, "AM"), datetime.now(UTC))


def leaves(node: Node) -> list[AuditLeaf]:
    with node.unit_of_work() as uow:
        data = uow.session.scalars(select(AuditLeafRow.data).order_by(AuditLeafRow.position))
        return [AuditLeaf.decode(bytes(d)) for d in data]


ANALYST_ROLES = [(Role.ANALYST, AUTHORITY)]
