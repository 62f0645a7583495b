"""Kept leads forget the records that leave the node's registers, on SQLite and PostgreSQL:
after a snapshot refresh without some members, `forget_departed` erases their member rows,
edges and the entities no one left links to; an undecided lead left too small goes whole, a
decided one keeps its decision; one erasure leaf with counts, never a record id."""

from __future__ import annotations

import csv
from collections.abc import Collection
from pathlib import Path

import pytest
from sqlalchemy import select

from casework_steps import now
from channel_scenes import (
    ANALYST_ROLES,
    import_am,
    leaves,
    officer_named,
    stored_run,
    synthetic_registers,
)
from console_client import add_console_officer
from guarantee_channels import channels_rows
from migrex.audit.leaves import LeafKind
from migrex.channels import model
from migrex.channels.model import MIN_PERSONS
from migrex.channels.service import Forgotten, dismiss_lead, forget_departed
from migrex.channels.tables import LeadEdgeRow, LeadEntityRow, LeadMemberRow, LeadRow
from migrex.registry.columns import Kind
from migrex.registry.refresh import Mode
from migrex.registry.service import import_registries
from nodes import Pair

KINDS = (Kind.PERSONS_PRESENT, Kind.EMPLOYMENT, Kind.VIOLATIONS)


@pytest.fixture(scope="module")
def registers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_registers(tmp_path_factory.mktemp("channels"))


@pytest.fixture
def kept(pair: Pair, registers: Path) -> Pair:
    import_am(pair.am, registers)
    add_console_officer(pair.am, "ani", ANALYST_ROLES)
    return pair


def _refresh_without(pair: Pair, registers: Path, folder: Path, gone: Collection[str]) -> None:
    """The registers become a month's snapshot in which the persons `gone` are no more."""
    folder.mkdir()
    files = []
    for kind in KINDS:
        with (registers / f"{kind}.csv").open(newline="", encoding="utf-8") as source:
            reader = csv.DictReader(source)
            rows = [r for r in reader if r.get("person_record_id", r["record_id"]) not in gone]
            names = list(reader.fieldnames or [])
        with (folder / f"{kind}.csv").open("w", newline="", encoding="utf-8") as target:
            writer = csv.DictWriter(target, fieldnames=names)
            writer.writeheader()
            writer.writerows(rows)
        files.append((kind, folder / f"{kind}.csv"))
    with pair.am.unit_of_work() as uow:
        import_registries(uow, files, state="AM", actor="test", mode=Mode.SNAPSHOT,
                          max_removed=100)  # fmt: skip


def _members(pair: Pair, lead: str) -> list[str]:
    with pair.am.unit_of_work() as uow:
        return sorted(uow.session.scalars(select(LeadMemberRow.record_id).where(
            LeadMemberRow.lead_id == lead)))  # fmt: skip


def _rows_of(pair: Pair, lead: str) -> dict[str, int]:
    with pair.am.unit_of_work() as uow:
        return {
            table.__tablename__: len(uow.session.scalars(
                select(table).where(table.lead_id == lead)).all())
            for table in (LeadMemberRow, LeadEdgeRow, LeadEntityRow)
        }  # fmt: skip


def _forget(pair: Pair) -> Forgotten:
    with pair.am.unit_of_work() as uow:
        return forget_departed(uow, now())


def test_a_departed_member_is_forgotten_and_the_others_kept(
    kept: Pair, registers: Path, tmp_path: Path
) -> None:
    run = stored_run(kept.am)
    assert len(run.leads) >= 2, "the synthetic registers plant two channels"
    first, other = run.leads[0], run.leads[1]
    members, others = _members(kept, first), _members(kept, other)
    departed = next(m for m in members if m not in others)
    with kept.am.unit_of_work() as uow:
        edges = len(uow.session.scalars(select(LeadEdgeRow).where(
            LeadEdgeRow.record_id == departed)).all())  # fmt: skip
        named = len(uow.session.scalars(select(LeadMemberRow).where(
            LeadMemberRow.record_id == departed)).all())  # fmt: skip
    before = len(leaves(kept.am))
    _refresh_without(kept, registers, tmp_path / "refreshed", {departed})

    done = _forget(kept)

    assert (done.members, done.edges, done.leads_deleted) == (named, edges, 0)
    assert _members(kept, first) == [m for m in members if m != departed]
    assert _members(kept, other) == others
    for table, values in channels_rows(kept.am):
        assert departed not in [str(v) for v in values], f"{table} still names {departed}"
    with kept.am.unit_of_work() as uow:
        lead = uow.session.get_one(LeadRow, first)
        assert lead.members == len(members) - 1
    new = leaves(kept.am)[before:]
    erased = [leaf for leaf in new if leaf.kind is LeafKind.ERASURE]
    assert len(erased) == 1 and erased[0].actor == "channels", new
    assert erased[0].reference == (
        f"channels-forgotten:members={named}:edges={edges}:"
        f"entities={done.entities}:leads-deleted=0:partner-flags=0"
    )
    assert departed not in repr(new)
    assert _forget(kept) == Forgotten(0, 0, 0, 0), "a second pass finds nothing"
    assert len(leaves(kept.am)) == before + len(new), "an idle pass writes no leaf"


def test_a_lead_left_too_small_goes_unless_decided(
    kept: Pair, registers: Path, tmp_path: Path
) -> None:
    run = stored_run(kept.am)
    decided, undecided = run.leads[0], run.leads[1]
    with kept.am.unit_of_work() as uow:
        dismiss_lead(uow, officer_named(kept.am, "ani"), decided,
                     reason="a seasonal crew, checked", now=now())  # fmt: skip
    gone = _members(kept, decided) + _members(kept, undecided)[MIN_PERSONS - 1 :]
    _refresh_without(kept, registers, tmp_path / "refreshed", set(gone))

    done = _forget(kept)

    assert done.leads_deleted >= 1 and done.members >= len(gone)
    with kept.am.unit_of_work() as uow:
        assert uow.session.get(LeadRow, undecided) is None
        lead = uow.session.get_one(LeadRow, decided)
        assert lead.state == model.LeadState.DISMISSED
        assert (lead.decided_by, lead.reason) == ("officer:ani", "a seasonal crew, checked")
        assert lead.decided_at is not None and lead.members == 0 and lead.violators == 0
    assert _rows_of(kept, undecided) == dict.fromkeys(_rows_of(kept, undecided), 0)
    assert _rows_of(kept, decided) == {"channels_lead_member": 0, "channels_lead_edge": 0,
                                       "channels_lead_entity": 0}  # fmt: skip
    every = {str(v) for _, values in channels_rows(kept.am) for v in values}
    assert not every & set(gone), "a channels row still names a departed record"


def test_nothing_departed_nothing_forgotten(kept: Pair) -> None:
    run = stored_run(kept.am)
    members = _members(kept, run.leads[0])
    before = len(leaves(kept.am))
    assert _forget(kept) == Forgotten(0, 0, 0, 0)
    assert _members(kept, run.leads[0]) == members
    assert len(leaves(kept.am)) == before
