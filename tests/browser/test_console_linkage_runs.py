"""A linkage run driven from the console in a real browser, between two running nodes and the
agreement's linkage unit running as its own process: Armenia's officer proposes the run on the
runs page, Kazakhstan's reviewer takes it into review and accepts it, a reviewer of each
party sends its encodings to the unit, and each collects its own candidates. No command line
is used. Every page passes axe-core and breaks no rule of the content security policy."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from conftest import AGREEMENT_FILE, ConsolePair, Tab, consoles, settled, wait_for_state
from console_client import add_console_officer
from migrex.casework.tables import CaseRow
from migrex.linkage.tables import CandidateRow
from migrex.node import Node
from migrex.officers.model import Role

RUNS = "/ui/linkage/runs"
ANSWERED = re.compile("filed for the queue|has not compared")


@pytest.fixture(scope="module")
def linked_consoles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsolePair]:
    with consoles(tmp_path_factory.mktemp("linkage-runs"), AGREEMENT_FILE,
                  linkage_unit="kz-am-lu") as pair:  # fmt: skip
        # Armenia's officers propose but do not decide: a reviewer sends its encodings.
        add_console_officer(pair["AM"].node, "aram", [(Role.REVIEWER, "am-mcs")])
        yield pair


def _run_case(node: Node) -> str:
    with node.unit_of_work() as uow:
        found = uow.session.scalar(select(CaseRow.id).where(CaseRow.category == "record-linkage"))
    assert found is not None
    return found


def _candidates(node: Node, case_id: str) -> int:
    with node.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(CandidateRow)
                                  .where(CandidateRow.run_case_id == case_id)) or 0  # fmt: skip


def _step(tab: Tab, button: str, answer: str, timeout: float = 120_000) -> None:
    """Clicks the run's `button` and waits for the step's answer in the messages region."""
    settled(tab.page)
    tab.page.get_by_role("button", name=button).click()
    expect(tab.page.locator("#runs-messages")).to_contain_text(answer, timeout=timeout)


def _collect(tab: Tab, timeout: float = 120) -> None:
    """Collects until the unit has compared the run (it compares once both parties sent)."""
    deadline = time.monotonic() + timeout
    while True:
        tab.go(RUNS)  # an empty messages region, so the answer waited for is this one's
        settled(tab.page)
        tab.page.get_by_role("button", name="Collect our candidates").click()
        messages = tab.page.locator("#runs-messages")
        expect(messages).to_contain_text(ANSWERED, timeout=60_000)
        if "filed for the queue" in messages.inner_text():
            return
        assert time.monotonic() < deadline, "the unit did not compare the run in time"
        time.sleep(1)


def test_a_run_is_proposed_accepted_sent_and_collected_from_the_console(
    linked_consoles: ConsolePair, tab_at: Any
) -> None:
    am, kz = linked_consoles["AM"].node, linked_consoles["KZ"].node
    proposer = tab_at(linked_consoles["AM"].url)
    proposer.sign_in("anahit")
    proposer.page.get_by_role("link", name="Linkage runs").click()
    proposer.page.wait_for_url(f"**{RUNS}")
    assert proposer.audit("linkage-runs-none.en") == []
    proposer.page.get_by_text("Propose a run").click()
    proposer.page.fill("#p-start", "2025-01-01")
    proposer.page.fill("#p-end", "2025-12-31")
    _step(proposer, "Propose the run", "proposed")
    assert proposer.audit("linkage-runs-proposed.en") == []
    case_id = _run_case(am)
    wait_for_state(kz, case_id, ("delivered",))

    reviewer = tab_at(linked_consoles["KZ"].url)
    reviewer.sign_in("aigerim")
    reviewer.go(RUNS)
    settled(reviewer.page)
    reviewer.page.get_by_role("button", name="Take into review").click()
    expect(reviewer.page.get_by_role("button", name="Accept the run")).to_be_visible()
    assert reviewer.audit("linkage-runs-to-decide.en") == []
    _step(reviewer, "Accept the run", "accepted")
    wait_for_state(am, case_id, ("answered",))

    sender = tab_at(linked_consoles["AM"].url)
    sender.sign_in("aram")
    sender.go(RUNS)
    _step(sender, "Send our encodings", "the linkage unit holds our whole register")
    assert sender.audit("linkage-runs-sent.en") == []
    reviewer.go(RUNS)
    _step(reviewer, "Send our encodings", "the linkage unit holds our whole register")

    _collect(reviewer)
    _collect(sender)
    assert sender.audit("linkage-runs-collected.en") == []
    assert _candidates(kz, case_id) > 0 and _candidates(am, case_id) > 0
    sender.page.get_by_role("link", name="Open the run's candidates").click()
    sender.page.wait_for_url("**/ui/linkage?run=*")
    expect(sender.page.get_by_role("heading", name="Linkage candidates")).to_be_visible()
    for tab in (proposer, reviewer, sender):
        assert tab.csp_violations == [] and tab.errors == []
