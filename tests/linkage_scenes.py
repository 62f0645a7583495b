"""Scenes of linkage candidates the integration tests, the console's and the guarantee matrix
share: both registers imported, a run Armenia proposed and Kazakhstan accepted, and the
unit's candidates filed at a party."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from casework_steps import context, deliver, now
from factories import citizen, write_csv
from migrex.casework.service import open_review
from migrex.linkage.candidates import ResolvedCandidate, file_candidates
from migrex.linkage.runs import (
    LinkageNode,
    Proposed,
    ProposeRun,
    accept_linkage_run,
    propose_linkage_run,
)
from migrex.node import Node
from migrex.registry.columns import Kind
from migrex.registry.refresh import Mode
from migrex.registry.service import import_registries
from nodes import Pair

AGREEMENT = "kz-am-2024"
# The same man in both registers: Kazakhstan's citizen 1, and Armenia's by its own number.
KZ_PERSON, KZ_OTHER = citizen(1), citizen(2, surname_latin="BEKOV", given_name_latin="ASAN")
AM_PERSON = citizen(1, national_id="1234567890", passport_number="AM1234567",
                    surname="Ալիբեկով", given_name="Նուրլան", patronymic="Սերիկի",
                    birth_place="Yerevan")  # fmt: skip


def proposed_run(pair: Pair, proposer: str = "AM") -> Proposed:
    """A run proposed by `proposer`'s state (Armenia's am-mcs or Kazakhstan's kz-mia) and
    filed at the other's node."""
    if proposer == "AM":
        node, trust, other, other_trust = pair.am, pair.am_trust, pair.kz, pair.kz_trust
        command = ProposeRun(AGREEMENT, "am-mcs", "kz-mia", date(2025, 1, 1),
                             date(2025, 12, 31), "officer:anna")  # fmt: skip
    else:
        node, trust, other, other_trust = pair.kz, pair.kz_trust, pair.am, pair.am_trust
        command = ProposeRun(AGREEMENT, "kz-mia", "am-mcs", date(2025, 1, 1),
                             date(2025, 12, 31), "officer:bolat")  # fmt: skip
    with node.unit_of_work() as uow:
        proposed = propose_linkage_run(uow, LinkageNode(context(node), trust), command, now())
    deliver(node, trust, other, other_trust)
    return proposed


def accepted_run(pair: Pair) -> str:
    """Armenia proposes a run, Kazakhstan accepts it: the run's case id (the same at both)."""
    proposed = proposed_run(pair, "AM")
    with pair.kz.unit_of_work() as uow:
        open_review(uow, proposed.case_id, "officer:bolat", now())
    with pair.kz.unit_of_work() as uow:
        accept_linkage_run(uow, LinkageNode(context(pair.kz), pair.kz_trust), proposed.case_id,
                           actor="officer:bolat", now=now())  # fmt: skip
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    return proposed.case_id


def citizens(node: Node, state_code: str, rows: list[dict[str, Any]], folder: Path,
             mode: Mode = Mode.APPEND) -> None:  # fmt: skip
    path = folder / f"citizens-{state_code}-{len(rows)}.csv"
    write_csv(path, Kind.CITIZENS, rows)
    with node.unit_of_work() as uow:
        import_registries(uow, [(Kind.CITIZENS, path)], state=state_code, actor="test",
                          mode=mode, max_removed=100)  # fmt: skip


def file(node: Node, run: str, authority: str, *pairs: tuple[str, str, str]) -> int:
    with node.unit_of_work() as uow:
        return file_candidates(uow, run_case_id=run, authority=authority,
                               candidates=[ResolvedCandidate(*p) for p in pairs],
                               actor="linkage-unit", now=now())  # fmt: skip


def run_with_candidates(pair: Pair, folder: Path) -> str:
    """Both registers, an accepted run, and its two candidates filed at Kazakhstan's kz-mia
    (P-0001 strong, the man in both registers; P-0002 possible) and Armenia's one of P-0001."""
    citizens(pair.kz, "KZ", [KZ_PERSON, KZ_OTHER], folder)
    citizens(pair.am, "AM", [AM_PERSON], folder)
    run = accepted_run(pair)
    file(pair.kz, run, "kz-mia", ("P-0001", KZ_PERSON["national_id"], "strong"),
         ("P-0002", KZ_OTHER["national_id"], "possible"))  # fmt: skip
    file(pair.am, run, "am-mcs", ("P-0001", AM_PERSON["national_id"], "strong"))
    return run
