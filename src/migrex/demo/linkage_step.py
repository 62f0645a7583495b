"""Demo step: dual citizenship. Kazakhstan proposes a linkage run of the two citizens'
registers, Armenia accepts it, each party sends its encodings to the linkage unit (a third
node, over mutual TLS), the unit compares them and returns to each party only its own
candidates, which are set against the planted dual citizens. A Kazakh officer then asks
Armenia about one candidate with the formal citizenship-verification request quoting the
pair; Armenia answers from its register, and the answer closes the pair at both ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from rich.table import Table
from sqlalchemy import select

from migrex.casework.citizenship import answer_citizenship
from migrex.casework.context import node_context
from migrex.casework.service import open_review
from migrex.casework.tables import CaseRow
from migrex.console import out
from migrex.exchange.trust import load_trust
from migrex.linkage.candidates import ASKED_WITH, request_verification
from migrex.linkage.own_register import national_ids, own_citizens
from migrex.linkage.party import collect_candidates, send_encodings, unit_name
from migrex.linkage.runs import (
    LinkageNode,
    ProposeRun,
    accept_linkage_run,
    linkage_node,
    propose_linkage_run,
    run_of,
)
from migrex.linkage.tables import CandidateRow
from migrex.linkage.unit_client import UnitClient, unit_address
from migrex.linkage.unit_witness import unit_parties, witness_unit_log
from migrex.node import Node
from migrex.officers.model import Officer, Role
from migrex.officers.service import add_officer, list_officers
from migrex.registry.sql import SqlRegistries
from migrex.registry.tables import CitizenRow

AGREEMENT = "kz-am-2024"
OFFICER = "demo-linkage-officer"
PARTIES = {"KZ": "kz-mia", "AM": "am-mcs"}


def _wait(check: Callable[[], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def _state(node: Node, case_id: str) -> str | None:
    with node.unit_of_work() as uow:
        case = uow.session.get(CaseRow, case_id)
        return None if case is None else case.state


def _officer(node: Node, authority: str) -> Officer:
    with node.unit_of_work() as uow:
        found = next((o for o in list_officers(uow) if o.username == OFFICER), None)
    if found is not None:
        return found
    with node.unit_of_work() as uow:
        add_officer(uow, username=OFFICER, display_name="Demo officer (dual citizenship)",
                    password=None, roles=[(Role.OFFICER, authority), (Role.REVIEWER, authority)],
                    actor="demo", hosted_authorities=node.settings.authorities)  # fmt: skip
    return _officer(node, authority)


def _client(party: LinkageNode, unit: str) -> UnitClient:
    return UnitClient(unit_address(party.trust, AGREEMENT, unit))


def _candidates(node: Node, case_id: str) -> list[CandidateRow]:
    with node.unit_of_work() as uow:
        rows = uow.session.scalars(select(CandidateRow).where(CandidateRow.run_case_id == case_id))
        found = list(rows)
        uow.session.expunge_all()
        return found


def _accepted_run(kz: Node, am: Node, parties: dict[str, LinkageNode]) -> str:
    command = ProposeRun(AGREEMENT, PARTIES["KZ"], PARTIES["AM"], date(2025, 1, 1),
                         date(2025, 12, 31), f"officer:{OFFICER}")  # fmt: skip
    with kz.unit_of_work() as uow:
        proposed = propose_linkage_run(uow, parties["KZ"], command, datetime.now(UTC))
    out.print(f"  kz-mia proposes run [dim]{proposed.run_id}[/] to am-mcs")
    _wait(lambda: _state(am, proposed.case_id) is not None)
    with am.unit_of_work() as uow:
        open_review(uow, proposed.case_id, f"officer:{OFFICER}", datetime.now(UTC))
    with am.unit_of_work() as uow:
        accept_linkage_run(uow, parties["AM"], proposed.case_id, actor=f"officer:{OFFICER}",
                           now=datetime.now(UTC))  # fmt: skip
    _wait(lambda: _state(kz, proposed.case_id) == "answered")
    out.print(f"  am-mcs accepts; both derive the run's key, which never travels "
              f"(case at kz-mia: {_state(kz, proposed.case_id)})")  # fmt: skip
    return proposed.case_id


def _send_and_collect(
    nodes: dict[str, Node], parties: dict[str, LinkageNode], case_id: str
) -> dict[str, int]:
    with nodes["KZ"].unit_of_work() as uow:
        unit = unit_name(parties["KZ"], run_of(uow, parties["KZ"].casework, case_id))
    for state, node in nodes.items():
        with node.unit_of_work() as uow, _client(parties[state], unit) as client:
            sent = send_encodings(uow, parties[state], case_id, register=own_citizens(uow.session),
                                  client=client, actor=f"officer:{OFFICER}",
                                  now=datetime.now(UTC))  # fmt: skip
        whole = "whole" if sent.complete else "incomplete"
        out.print(f"  {PARTIES[state]} sends {sent.records:,} encoded records to {unit} (its "
                  f"citizens and as many decoys): {whole}")  # fmt: skip
    collected: dict[str, int] = {}
    for state, node in nodes.items():

        def collect(state: str = state, node: Node = node) -> bool:
            with node.unit_of_work() as uow, _client(parties[state], unit) as client:
                found = collect_candidates(
                    uow, parties[state], case_id,
                    national_ids=lambda: list(national_ids(uow.session)), client=client,
                    actor=f"officer:{OFFICER}", now=datetime.now(UTC),
                )  # fmt: skip
            if found is not None:
                collected[state] = len(found.candidates)
            return found is not None

        _wait(collect, timeout=300)
        out.print(f"  {PARTIES[state]} collects {collected.get(state, 0):,} candidates of its own; "
                  "the unit deletes the encodings and, on receipt, the result")  # fmt: skip
    for state, node in nodes.items():
        [party] = [p for p in unit_parties(node, parties[state].trust) if p.unit == unit]
        with node.unit_of_work() as uow, _client(parties[state], unit) as client:
            seen = witness_unit_log(uow, parties[state].trust, party, client, datetime.now(UTC))
        out.print(f"  {PARTIES[state]} witnesses the unit's log: checked and cosigned at "
                  f"{seen.size} entries, its deletions included")  # fmt: skip
    return collected


def _scored(kz: list[CandidateRow], am: list[CandidateRow], synth_dir: Path) -> dict[str, Any]:
    truth_table = pq.read_table(synth_dir / "ground_truth" / "dual_citizens.parquet")
    truth = set(zip(truth_table.column("kz_national_id").to_pylist(),
                    truth_table.column("am_national_id").to_pylist(), strict=True))  # fmt: skip
    am_by_pair = {c.pair_id: c.national_id for c in am}
    found = {(c.national_id, am_by_pair.get(c.pair_id)) for c in kz}
    true = len(found & truth)
    table = Table("planted dual citizens", "candidate pairs", "true", "precision", "recall",
                  title="the unit's pairs against the synthetic ground truth")  # fmt: skip
    precision = true / len(found) if found else 0.0
    recall = true / len(truth) if truth else 0.0
    table.add_row(f"{len(truth):,}", f"{len(found):,}", f"{true:,}", f"{precision:.3f}",
                  f"{recall:.3f}")  # fmt: skip
    out.print(table)
    return {
        "planted": len(truth), "pairs": len(found), "true_pairs": true,
        "precision": round(precision, 4), "recall": round(recall, 4), "truth": truth,
    }  # fmt: skip


def _asked_alike(kz: Node, am: Node, kz_id: str | None, am_id: str | None) -> bool:
    def asked(node: Node, national_id: str | None) -> tuple[str, ...] | None:
        with node.unit_of_work() as uow:
            row = uow.session.scalars(
                select(CitizenRow).where(CitizenRow.national_id == national_id)
            ).first()
            return None if row is None else tuple(
                str(getattr(row, name)).strip().casefold() for name in ASKED_WITH)  # fmt: skip

    ours = asked(kz, kz_id)
    return ours is not None and ours == asked(am, am_id)


def _verified(
    kz: Node, am: Node, kz_rows: list[CandidateRow], am_rows: list[CandidateRow],
    truth: set[tuple[str | None, str | None]],
) -> dict[str, str | None]:  # fmt: skip
    am_by_pair = {c.pair_id: c.national_id for c in am_rows}
    true = [c for c in sorted(kz_rows, key=lambda c: (c.band != "strong", c.id))
            if (c.national_id, am_by_pair.get(c.pair_id)) in truth]  # fmt: skip
    # A pair whose two records agree on what the request asks with, so the register's answer
    # can say yes; many planted pairs differ (a Russified surname, a swapped date), and the
    # partner's register compares those as written.
    chosen = next((c for c in true if _asked_alike(kz, am, c.national_id,
                                                   am_by_pair[c.pair_id])), true[0])  # fmt: skip
    officer = _officer(kz, PARTIES["KZ"])
    with kz.unit_of_work() as uow:
        opened = request_verification(uow, node_context(kz), officer, chosen.id,
                                      now=datetime.now(UTC))  # fmt: skip
    out.print(f"  a kz-mia officer asks am-mcs about pair [dim]{chosen.pair_id}[/] "
              f"({chosen.band}) with the formal citizenship-verification request")  # fmt: skip
    _wait(lambda: _state(am, opened.case_id) is not None)
    with am.unit_of_work() as uow:
        open_review(uow, opened.case_id, f"officer:{OFFICER}", datetime.now(UTC))
    with am.unit_of_work() as uow:
        reply = answer_citizenship(uow, node_context(am), SqlRegistries(uow.session),
                                   opened.case_id, actor=f"officer:{OFFICER}",
                                   now=datetime.now(UTC))  # fmt: skip
    holds = reply.results[0].holds
    out.print(f"  am-mcs answers from its register: holds Armenian citizenship: [bold]{holds}[/]")
    _wait(lambda: _state(kz, opened.case_id) == "answered")
    kz_after = {c.pair_id: c for c in _candidates(kz, chosen.run_case_id)}[chosen.pair_id]
    am_after = {c.pair_id: c for c in _candidates(am, chosen.run_case_id)}.get(chosen.pair_id)
    out.print(f"  the pair at kz-mia: [green]{kz_after.state}[/] ({kz_after.outcome}); "
              f"at am-mcs: {am_after.state if am_after else None}")  # fmt: skip
    return {
        "held": holds,
        "request_at_kz": _state(kz, opened.case_id),
        "pair_at_kz": kz_after.outcome,
        "pair_at_am": am_after.outcome if am_after else None,
    }


def run_linkage(kz: Node, am: Node, synth_dir: Path) -> dict[str, Any]:
    """The whole step; returns what it found and how the verified pair ended."""
    out.rule("[bold]8. Dual citizenship: a linkage run through the linkage unit")
    nodes = {"KZ": kz, "AM": am}
    parties = {s: linkage_node(n, load_trust(n.settings, n.agreements)) for s, n in nodes.items()}
    for state, node in nodes.items():
        _officer(node, PARTIES[state])
    case_id = _accepted_run(kz, am, parties)
    collected = _send_and_collect(nodes, parties, case_id)
    kz_rows, am_rows = _candidates(kz, case_id), _candidates(am, case_id)
    figures = _scored(kz_rows, am_rows, synth_dir)
    truth = figures.pop("truth")
    ended = _verified(kz, am, kz_rows, am_rows, truth) if figures["true_pairs"] else {}
    return {**figures, "collected": collected, **ended}
