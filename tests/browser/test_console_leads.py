"""A channel lead in a real browser: Armenia's analyst signs in, opens the queue of leads and
a lead's card, sees its subgraph drawn as SVG beside its tables, and dismisses it with a
reason; every page passes axe-core and breaks no rule of the content security policy."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from sqlalchemy import func, select

from channel_scenes import import_am, stored_run, synthetic_registers
from conftest import ConsolePair
from migrex.channels.tables import LeadRow
from migrex.registry.tables import PersonPresentRow


def _a_run(pair: ConsolePair, root: Any) -> str:
    node = pair["AM"].node
    with node.unit_of_work() as uow:
        held = uow.session.scalar(select(func.count()).select_from(PersonPresentRow)) or 0
    if not held:
        import_am(node, synthetic_registers(root))
    return stored_run(node).leads[0]


def test_the_analyst_reads_a_card_and_dismisses_the_lead(
    console_pair: ConsolePair, tab_at: Any, tmp_path_factory: Any
) -> None:
    lead = _a_run(console_pair, tmp_path_factory.mktemp("leads"))
    am = tab_at(console_pair["AM"].url)
    am.sign_in("ani")
    am.page.get_by_role("link", name="Channel leads").click()
    am.page.wait_for_url("**/ui/leads")
    assert am.audit("leads.en") == []
    am.page.get_by_role("link", name=lead).click()
    am.page.wait_for_url(f"**/ui/leads/{lead}")
    graph = am.page.locator("svg.lead-graph")
    expect(graph).to_be_visible()
    assert graph.locator("circle").count() > 0 and graph.locator("line").count() > 0
    expect(am.page.get_by_role("img", name="Members (circles")).to_be_visible()
    expect(am.page.locator("#edges-title")).to_have_text("Every link and where it was read")
    assert am.audit("lead.en") == []

    am.page.get_by_text("Dismiss the lead").click()
    am.page.get_by_label("Why is this no channel?").fill("a seasonal crew, checked")
    am.page.get_by_role("button", name="Dismiss with this reason").click()
    expect(am.page.locator(".summary").first).to_contain_text("a seasonal crew, checked")
    assert am.audit("lead-dismissed.en") == []
    assert am.csp_violations == [] and am.errors == []
    with console_pair["AM"].node.unit_of_work() as uow:
        assert uow.session.get_one(LeadRow, lead).state == "dismissed"
