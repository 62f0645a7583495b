"""`migrex subject report` and `migrex limits`: the disclosure ledger as people ask about it.

Both act as a named officer for one hosted authority, with the permissions the officers' API
checks for the same reports (SUBJECT_REPORT, VIEW_DISCLOSURES)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from migrex.console import json_array_option, out, print_json_array
from migrex.context import node_from
from migrex.identity import node_secret
from migrex.ledger.service import SUBJECT_KEY, Entry, report_on_subject
from migrex.ledger.subjects import document_identifier, national_id_identifier
from migrex.ledger.volume import limits_report
from migrex.officers.cli_identity import Token, acting
from migrex.officers.model import Action

subject_app = typer.Typer(no_args_is_help=True)

_DIRECTION = {
    "sent": "sent to",
    "received": "received from",
    "read": "read by",
}


def _sentence(entry: Entry) -> str:
    when = entry.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if entry.direction == "read":
        # A read outside any case (an analyst's lead card) names what was read instead.
        of = f"case {entry.case_id}" if entry.case_id else (entry.message_id or "no case")
        return f"{when}: {entry.actor} read a {entry.message_type} of {of}"
    fields = ", ".join(entry.fields) or "no fields"
    return (
        f"{when}: {entry.message_type} {_DIRECTION[entry.direction]} {entry.partner_authority} "
        f"({fields}) for {entry.purpose or 'no stated purpose'}"
    )


@subject_app.command("report")
def report_command(
    ctx: typer.Context,
    document: Annotated[list[str], typer.Option(help="a document number the person holds")] = [],  # noqa: B006
    national_id: Annotated[list[str], typer.Option(help="a national id of the person")] = [],  # noqa: B006
    authority: Annotated[str, typer.Option(help="the hosted authority whose disclosures")] = "",
    as_json: Annotated[bool, json_array_option("ledger entry")] = False,
    token: Token = None,
) -> None:
    """What this node sent, received and read about one person, and under which purpose."""
    if not document and not national_id:
        raise typer.BadParameter("give --document or --national-id")
    if not authority:
        raise typer.BadParameter("give --authority, the hosted authority the report is for")
    node = node_from(ctx)
    identifiers = [document_identifier(d) for d in document] + [
        national_id_identifier(n) for n in national_id
    ]
    key = node_secret(node.settings.resolved_key_dir, SUBJECT_KEY)
    with node.unit_of_work() as uow:
        officer = acting(uow, token, Action.SUBJECT_REPORT, authority)
        entries = report_on_subject(uow.session, key, identifiers, authority=authority,
                                    reader=officer.actor, at=datetime.now(UTC))  # fmt: skip
        uow.commit()
    if as_json:
        print_json_array(asdict(e) for e in entries)
        return
    if not entries:
        out.print("The ledger holds nothing about this person.")
        return
    table = Table("when", "what", "agreement", "case", "legal basis")
    for entry in entries:
        table.add_row(
            entry.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            _sentence(entry).split(": ", 1)[1],
            entry.agreement_id,
            entry.case_id or "",
            entry.legal_basis or "",
        )
    out.print(table)


def limits(
    ctx: typer.Context,
    authority: Annotated[str, typer.Option(help="the hosted authority whose agreements")],
    as_json: Annotated[
        bool, json_array_option("agreement, partner and direction (requests sent or received)")
    ] = False,
    token: Token = None,
) -> None:
    """Persons requested each way per partner in the current volume period, against the limit."""
    node = node_from(ctx)
    agreements = {k: a for k, a in node.agreements.items() if authority in a.authorities}
    with node.unit_of_work() as uow:
        acting(uow, token, Action.VIEW_DISCLOSURES, authority)
        uses = limits_report(uow.session, agreements, node.settings.state, datetime.now(UTC))
    if as_json:
        print_json_array({**asdict(u), "period_days": u.period.days} for u in uses)
        return
    table = Table("agreement", "partner", "requests", "persons", "limit", "period", "used")
    for use in uses:
        way = "we sent" if use.direction == "sent" else "we received"
        colour = "red" if use.share >= 1 else "yellow" if use.share >= 0.8 else "green"
        table.add_row(
            use.agreement_id, use.partner_state, way, str(use.persons), str(use.limit),
            f"{use.period.days} days", f"[{colour}]{use.share:.0%}[/]",
        )  # fmt: skip
    out.print(table)
