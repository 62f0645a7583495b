"""A request answered through the consoles of two real nodes: Armenia's caseworker asks;
Kazakhstan's reviewer finds it in the incoming queue, claims it, opens the case, reads the
request (recorded), drafts the answer, sees exactly what would leave, withholds a field and
sends it; the answer reaches Armenia's node and its caseworker sees the case answered."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from sqlalchemy import func, select

from conftest import ConsolePair, open_inquiry, wait_for_state
from migrex.ledger.tables import DisclosureRow


def _reads(pair: ConsolePair, case_id: str) -> int:
    with pair["KZ"].node.unit_of_work() as uow:
        count = uow.session.scalar(
            select(func.count()).select_from(DisclosureRow)
            .where(DisclosureRow.case_id == case_id, DisclosureRow.direction == "read")
        )  # fmt: skip
    return count or 0


def test_an_inquiry_is_answered_through_the_consoles(
    console_pair: ConsolePair, tab_at: Any
) -> None:
    case_id = open_inquiry(console_pair)
    kz = tab_at(console_pair["KZ"].url)
    kz.sign_in("saule")
    kz.go("/ui/queues/incoming")
    kz.page.locator("#queue-table tr", has_text=case_id).get_by_role("button", name="Claim").click()
    expect(kz.page.locator("#queue-table")).not_to_contain_text(case_id)  # reloaded
    kz.go("/ui/queues/mine")
    kz.page.get_by_role("link", name=case_id).click()
    kz.page.wait_for_url(f"**/ui/cases/{case_id}")
    assert kz.audit("flow-case.en") == []

    kz.page.get_by_role("button", name="Take into review").click()
    expect(
        kz.page.get_by_role("button", name="Draft the answer from the registries")
    ).to_be_visible()
    assert _reads(console_pair, case_id) == 0
    kz.page.get_by_role("button", name="Show the messages").click()
    expect(kz.page.locator("#case-messages")).to_contain_text("HOVHANNISYAN")
    assert _reads(console_pair, case_id) > 0  # the read is in the ledger

    kz.page.get_by_role("button", name="Draft the answer from the registries").click()
    preview = kz.page.locator("#decision")
    expect(preview).to_contain_text("What would leave")
    expect(preview).to_contain_text("permit_type")
    assert kz.audit("flow-preview.en") == []
    preview.get_by_label("employer_name").check()
    preview.get_by_role("button", name="Withhold the chosen fields").click()
    expect(preview).to_contain_text("withheld by the reviewer")
    preview.get_by_role("button", name="Send").click()
    expect(preview).to_contain_text("The decision was sent.")
    assert kz.csp_violations == [] and kz.errors == []

    # The answer travels back over mutual TLS; Armenia's caseworker sees the case answered.
    wait_for_state(console_pair["AM"].node, case_id, ("answered", "partially-answered"))
    am = tab_at(console_pair["AM"].url)
    am.go("/ui/language/hy?next=/ui/sign-in")
    am.sign_in("anahit")
    am.go(f"/ui/cases/{case_id}")
    expect(am.page.locator(".summary")).to_contain_text("Մասնակի պատասխանված է")
    assert am.audit("flow-answered.hy") == []
    assert am.csp_violations == [] and am.errors == []
