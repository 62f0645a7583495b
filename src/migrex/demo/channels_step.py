"""Demo step: Kazakhstan's analyst looks for illegal-migration channels in the node's own
registers, reads the best lead's card, and opens it as a minimal request to Armenia's
migration service, which receives it as any other request."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from rich.table import Table

from migrex.casework.service import node_context
from migrex.casework.tables import CaseRow
from migrex.channels.queries import leads_of
from migrex.channels.runs import StoreRun, store_run
from migrex.channels.service import open_lead, show_lead
from migrex.console import out
from migrex.node import Node
from migrex.officers.model import Officer, Role
from migrex.officers.service import add_officer, list_officers

ANALYST = "demo-analyst"
SENDER = "kz-mia"
TARGET = "kz-am-2024/am-mcs"


def _analyst(node: Node) -> Officer:
    with node.unit_of_work() as uow:
        found = next((o for o in list_officers(uow) if o.username == ANALYST), None)
    if found is not None:
        return found
    with node.unit_of_work() as uow:
        add_officer(uow, username=ANALYST, display_name="Demo analyst", password=None,
                    roles=[(Role.ANALYST, SENDER)], actor="demo",
                    hosted_authorities=node.settings.authorities)  # fmt: skip
    return _analyst(node)


def _arrived(am: Node, case_id: str, timeout: float = 30) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with am.unit_of_work() as uow:
            case = uow.session.get(CaseRow, case_id)
            if case is not None:
                return case.state
        time.sleep(0.1)
    return None


def run_channels(kz: Node, am: Node) -> dict[str, str | int | None]:
    """Runs the analysis, prints the best leads, opens the first as a request; returns how
    many leads were found, which was opened, how many persons it named and where it arrived."""
    out.rule("[bold]7. Illegal-migration channels: leads for an analyst, never decisions")
    analyst = _analyst(kz)
    with kz.unit_of_work() as uow:
        stored = store_run(
            uow,
            StoreRun(analyst, SENDER, kz.settings.state),
            datetime.now(UTC),
            node=node_context(kz),
        )
    with kz.unit_of_work() as uow:
        lines = leads_of(uow, [SENDER])[:5]
    table = Table("rank", "lead", "members", "with a violation", "score", title="the best leads")
    for line in lines:
        table.add_row(str(line.rank), line.id, str(line.members), str(line.violators),
                      f"{line.score:.1f}")  # fmt: skip
    out.print(table)
    out.print(
        f"{len(stored.leads)} leads among {stored.persons:,} persons present, kept for review"
    )
    if not stored.leads:
        return {"leads": 0, "opened": None, "persons_asked": 0, "state_at_partner": None}
    lead = stored.leads[0]
    context = node_context(kz)
    with kz.unit_of_work() as uow:
        card = show_lead(uow, context, analyst, lead, now=datetime.now(UTC), target=TARGET)
    asked = len(card.asked_records)
    out.print(f"  card of {lead} read by {analyst.actor}, recorded in the ledger and the log")
    out.print(f"  its request names {asked} of {card.lead.members} members, by document only")
    with kz.unit_of_work() as uow:
        opened = open_lead(uow, context, analyst, lead, target=TARGET, now=datetime.now(UTC))
    state = _arrived(am, opened.case_id)
    out.print(f"  {lead} opened as case {opened.case_id[:13]}… → am-mcs: {state or 'not arrived'}")
    return {"leads": len(stored.leads), "opened": lead, "persons_asked": asked,
            "state_at_partner": state}  # fmt: skip
