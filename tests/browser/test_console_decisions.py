"""Decisions through the consoles of two real nodes, under an agreement that wants a second
officer for every disclosure: the drafter submits, a second reviewer signs in again and
approves, and the answer reaches Armenia; a refusal is drafted with a ground of the agreement
and reaches Armenia as refused; a clarification is asked in Kazakhstan's console, answered in
Armenia's, and the case comes back into review."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from conftest import (
    AGREEMENT_FILE,
    ConsolePair,
    Tab,
    consoles,
    open_inquiry,
    settled,
    wait_for_state,
)
from console_client import PASSWORD


@pytest.fixture(scope="module")
def four_eyes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsolePair]:
    root = tmp_path_factory.mktemp("four-eyes")
    agreement = root / "kz-am-2024.toml"
    text = AGREEMENT_FILE.read_text(encoding="utf-8")
    agreement.write_text(text.replace(
        "[data_protection]\n", '[data_protection]\nsecond_officer = ["disclosure"]\n', 1
    ), encoding="utf-8")  # fmt: skip
    with consoles(root, agreement) as pair:
        yield pair


def _in_review(tab: Tab, case_id: str) -> None:
    tab.go(f"/ui/cases/{case_id}")
    tab.page.locator("section", has_text="Claim").get_by_role("button", name="Claim").click()
    expect(tab.page.get_by_role("button", name="Take into review")).to_be_visible()
    settled(tab.page)
    tab.page.get_by_role("button", name="Take into review").click()
    expect(
        tab.page.get_by_role("button", name="Draft the answer from the registries")
    ).to_be_visible()


def _sign_out(tab: Tab) -> None:
    tab.page.click("header button:has-text('Sign out')")
    tab.page.wait_for_url("**/ui/sign-in?reason=signed-out")


def test_a_second_officer_signs_in_again_and_approves(four_eyes: ConsolePair, tab_at: Any) -> None:
    case_id = open_inquiry(four_eyes)
    kz = tab_at(four_eyes["KZ"].url)
    kz.sign_in("aigerim")
    _in_review(kz, case_id)
    kz.page.get_by_role("button", name="Draft the answer from the registries").click()
    decision = kz.page.locator("#decision")
    expect(decision).to_contain_text("requires a second officer")
    settled(kz.page)
    decision.get_by_role("button", name="Submit for approval").click()
    expect(decision).to_contain_text("awaits a second officer's approval")
    expect(decision.get_by_role("button", name="Approve and send")).to_have_count(0)  # not hers
    _sign_out(kz)

    kz.sign_in("daulet")
    kz.go("/ui/queues/approval")
    kz.page.get_by_role("link", name=case_id).click()
    kz.page.wait_for_url(f"**/ui/cases/{case_id}")
    kz.page.get_by_role("button", name="Show the draft as it would leave").click()
    expect(decision.get_by_label("Password")).to_be_visible()
    settled(kz.page)
    decision.get_by_label("Password").fill("not the password")
    decision.get_by_role("button", name="Approve and send").click()
    expect(kz.page.locator("body")).to_contain_text("password")  # refused, still signed in
    assert wait_for_state(four_eyes["KZ"].node, case_id, ("in-review",), timeout=5) == "in-review"
    kz.go(f"/ui/cases/{case_id}")
    kz.page.get_by_role("button", name="Show the draft as it would leave").click()
    expect(decision.get_by_label("Password")).to_be_visible()
    settled(kz.page)
    decision.get_by_label("Password").fill(PASSWORD)
    decision.get_by_role("button", name="Approve and send").click()
    expect(decision).to_contain_text("The decision was sent.")
    assert kz.audit("approved.en") == []
    assert kz.csp_violations == [] and kz.errors == []
    wait_for_state(four_eyes["AM"].node, case_id, ("answered", "partially-answered"))


def test_a_refusal_with_a_ground_reaches_the_requesting_party(
    four_eyes: ConsolePair, tab_at: Any
) -> None:
    case_id = open_inquiry(four_eyes)
    kz = tab_at(four_eyes["KZ"].url)
    kz.sign_in("daulet")
    _in_review(kz, case_id)
    kz.page.get_by_text("Refuse the request").click()
    kz.page.get_by_label("Carrying out the request would threaten the security").check()
    kz.page.get_by_label("Explanation").fill("The person is the subject of a security inquiry.")
    kz.page.get_by_role("button", name="Draft the refusal").click()
    decision = kz.page.locator("#decision")
    expect(decision).to_contain_text("A refusal")
    settled(kz.page)
    decision.get_by_role("button", name="Send").click()  # refusals need no second officer here
    expect(decision).to_contain_text("The decision was sent.")
    assert kz.csp_violations == [] and kz.errors == []

    wait_for_state(four_eyes["AM"].node, case_id, ("refused",))
    am = tab_at(four_eyes["AM"].url)
    am.sign_in("anahit")
    am.go(f"/ui/cases/{case_id}")
    expect(am.page.locator(".summary")).to_contain_text("Refused")
    am.page.get_by_role("button", name="Show the messages").click()
    expect(am.page.locator("#case-messages")).to_contain_text("security")
    assert am.audit("refused.en") == []
    assert am.csp_violations == [] and am.errors == []


def test_a_clarification_round_across_the_consoles(four_eyes: ConsolePair, tab_at: Any) -> None:
    case_id = open_inquiry(four_eyes)
    kz = tab_at(four_eyes["KZ"].url)
    kz.sign_in("daulet")
    _in_review(kz, case_id)
    kz.page.get_by_text("Ask for clarification").click()
    kz.page.get_by_label("Question to the requesting authority").fill("Which employer?")
    kz.page.get_by_role("button", name="Send the question").click()
    wait_for_state(four_eyes["AM"].node, case_id, ("clarification-requested",))

    am = tab_at(four_eyes["AM"].url)
    am.sign_in("anahit")
    am.go("/ui/queues/clarification")
    am.page.get_by_role("link", name=case_id).click()
    am.page.wait_for_url(f"**/ui/cases/{case_id}")
    am.page.get_by_role("button", name="Show the messages").click()
    expect(am.page.locator("#case-messages")).to_contain_text("Which employer?")
    am.page.get_by_label("Your answer").fill("Ararat Tours LLC")
    am.page.get_by_role("button", name="Send the answer").click()
    wait_for_state(four_eyes["KZ"].node, case_id, ("in-review",))
    assert am.audit("clarification-answer.en") == []
    assert am.csp_violations == [] and am.errors == []

    kz.go(f"/ui/cases/{case_id}")
    kz.page.get_by_role("button", name="Show the messages").click()
    expect(kz.page.locator("#case-messages")).to_contain_text("Ararat Tours LLC")
    assert kz.csp_violations == [] and kz.errors == []


def test_the_agreement_file_is_the_one_changed() -> None:
    """The module's nodes differ from the other tests' by the second officer alone."""
    assert "second_officer" not in Path(AGREEMENT_FILE).read_text(encoding="utf-8")
