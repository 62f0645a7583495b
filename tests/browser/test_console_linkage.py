"""Linkage candidates in a real browser, between the two running nodes: Armenia's officer
opens the queue and a candidate, sees our own register's record, and asks Kazakhstan through
the citizenship-verification request quoting the pair; Kazakhstan's node, filing it over the
exchange, links its own candidate of the pair. An analyst sees the candidate without the
record. Every page passes axe-core and breaks no rule of the content security policy."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from conftest import ConsolePair, settled, wait_for_state
from factories import write_csv
from linkage_scenes import AM_PERSON, KZ_PERSON
from migrex.casework.context import node_context
from migrex.casework.service import open_review
from migrex.exchange.trust import load_trust
from migrex.linkage.candidates import ResolvedCandidate, file_candidates
from migrex.linkage.runs import LinkageNode, ProposeRun, accept_linkage_run, propose_linkage_run
from migrex.linkage.tables import CandidateRow
from migrex.node import Node
from migrex.registry.columns import Kind
from migrex.registry.refresh import Mode
from migrex.registry.service import import_registries


def _linkage_node(node: Node) -> LinkageNode:
    return LinkageNode(node_context(node), load_trust(node.settings, node.agreements))


def _citizen(node: Node, state: str, row: dict[str, Any], root: Path) -> None:
    path = root / f"citizens-{state}.csv"
    write_csv(path, Kind.CITIZENS, [row])
    with node.unit_of_work() as uow:
        import_registries(uow, [(Kind.CITIZENS, path)], state=state, actor="test",
                          mode=Mode.UPSERT)  # fmt: skip


def _accepted_run(pair: ConsolePair) -> str:
    """Armenia proposes, Kazakhstan's reviewer accepts: both running nodes exchange it."""
    am, kz = pair["AM"].node, pair["KZ"].node
    command = ProposeRun("kz-am-2024", "am-mcs", "kz-mia", date(2025, 1, 1), date(2025, 12, 31),
                         "officer:anahit")  # fmt: skip
    with am.unit_of_work() as uow:
        case_id = propose_linkage_run(uow, _linkage_node(am), command, datetime.now(UTC)).case_id
    wait_for_state(kz, case_id, ("delivered",))
    with kz.unit_of_work() as uow:
        open_review(uow, case_id, "officer:aigerim", datetime.now(UTC))
    with kz.unit_of_work() as uow:
        accept_linkage_run(uow, _linkage_node(kz), case_id, actor="officer:aigerim",
                           now=datetime.now(UTC))  # fmt: skip
    wait_for_state(am, case_id, ("answered",))
    return case_id


def _file(node: Node, run: str, authority: str, national_id: str) -> int:
    with node.unit_of_work() as uow:
        file_candidates(uow, run_case_id=run, authority=authority,
                        candidates=[ResolvedCandidate("B-0001", national_id, "strong")],
                        actor="linkage-unit", now=datetime.now(UTC))  # fmt: skip
    with node.unit_of_work() as uow:
        found = uow.session.scalar(select(CandidateRow.id).where(CandidateRow.run_case_id == run))
    assert found is not None
    return found


def _state_at(node: Node, candidate_id: int, wanted: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with node.unit_of_work() as uow:
            state = uow.session.get_one(CandidateRow, candidate_id).state
        if state == wanted:
            return state
        time.sleep(0.2)
    return state


def test_the_officer_asks_the_partner_about_a_candidate(
    console_pair: ConsolePair, tab_at: Any, tmp_path_factory: Any
) -> None:
    root = tmp_path_factory.mktemp("linkage")
    am, kz = console_pair["AM"].node, console_pair["KZ"].node
    _citizen(am, "AM", AM_PERSON, root)
    _citizen(kz, "KZ", KZ_PERSON, root)
    run = _accepted_run(console_pair)
    ours = _file(am, run, "am-mcs", AM_PERSON["national_id"])
    theirs = _file(kz, run, "kz-mia", KZ_PERSON["national_id"])

    analyst = tab_at(console_pair["AM"].url)
    analyst.sign_in("ani")
    analyst.go(f"/ui/linkage/{ours}")
    expect(analyst.page.get_by_text("You may not see personal data")).to_be_visible()
    assert analyst.audit("linkage-candidate-no-record.en") == []

    tab = tab_at(console_pair["AM"].url)
    tab.sign_in("anahit")
    tab.page.get_by_role("link", name="Linkage candidates").click()
    tab.page.wait_for_url("**/ui/linkage")
    assert tab.audit("linkage.en") == []
    tab.page.get_by_role("link", name="B-0001").click()
    tab.page.wait_for_url(f"**/ui/linkage/{ours}")
    expect(tab.page.locator("#record-title")).to_have_text("Our own record")
    expect(tab.page.get_by_text(AM_PERSON["surname_latin"])).to_be_visible()
    assert tab.audit("linkage-candidate.en") == []
    settled(tab.page)
    tab.page.get_by_role("button", name="Request verification").click()
    tab.page.wait_for_url("**/ui/cases/*")
    case_id = tab.page.url.rsplit("/", 1)[1]
    assert tab.csp_violations == [] and tab.errors == []
    assert analyst.csp_violations == [] and analyst.errors == []
    with am.unit_of_work() as uow:
        asked = uow.session.get_one(CandidateRow, ours)
        assert (asked.state, asked.request_case_id) == ("requested", case_id)
    # Kazakhstan's node filed the request and linked its own candidate of the pair.
    assert _state_at(kz, theirs, "requested") == "requested"
    with kz.unit_of_work() as uow:
        assert uow.session.get_one(CandidateRow, theirs).request_case_id == case_id
