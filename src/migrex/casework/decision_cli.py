"""`migrex case draft|preview|narrow|submit|approve|discard`, and `answer`,
`verify-citizenship` and `refuse` in one step: deciding an incoming request as the officers' API
does (`casework.drafts`), each command acting as the officer whose token it is given.

`acting_on_case` is how every `migrex case` command that acts on one case finds its officer.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

import typer

from migrex.casework import drafts
from migrex.casework.context import hit_reference_key
from migrex.casework.service import NodeContext, node_context
from migrex.casework.steps import load_case
from migrex.casework.tables import CaseRow
from migrex.console import out
from migrex.context import node_from
from migrex.node import Node
from migrex.officers.cli_identity import Token, fresh_sign_in, signed_in
from migrex.officers.model import Action, Officer, require
from migrex.registry.sql import SqlRegistries
from migrex.uow import UnitOfWork

app = typer.Typer()


def _context(node: Node) -> NodeContext:
    return node_context(node)


def _now() -> datetime:
    return datetime.now(UTC)


def acting_on_case(
    uow: UnitOfWork, token: str | None, case_id: str, action: Action
) -> tuple[Officer, CaseRow]:
    """The officer and the case, once the officer may take `action` for the case's authority.
    The token is checked before the case is looked up, so no one learns which cases exist."""
    officer = signed_in(uow, token)
    case = load_case(uow, case_id)
    require(officer, action, case.our_authority)
    return officer, case


def _show(preview: drafts.Preview, *, as_json: bool = False) -> None:
    if as_json:
        typer.echo(json.dumps(asdict(preview), default=str, indent=2))
        return
    who = "awaits a second officer's approval" if preview.status == "awaiting-approval" else ""
    out.print(f"[bold]{preview.decision}[/] draft {preview.draft_id} of case {preview.case_id}: "
              f"{preview.type}, {preview.status} {who}".rstrip())  # fmt: skip
    for person in preview.persons:
        out.print(f"  person {person.person} ({person.outcome})")
        for name, value in person.leaving.items():
            out.print(f"    leaves   {name}: {value}")
        for name, why in person.withheld.items():
            out.print(f"    withheld {name}: {why}")
    if preview.message_id:
        out.print(f"message {preview.message_id} queued")


AsJson = Annotated[bool, typer.Option("--json", help="print the preview as JSON")]


@app.command("draft")
def draft_command(
    ctx: typer.Context,
    case_id: str,
    grounds: Annotated[
        list[str] | None, typer.Option("--ground", help="draft a refusal on this ground instead")
    ] = None,
    explanation: Annotated[str | None, typer.Option(help="why, for a refusal")] = None,
    as_json: AsJson = False,
    token: Token = None,
) -> None:
    """Draft the answer the registries give (or, with --ground, a refusal) and show exactly
    what would leave and what is withheld and why. Nothing is sent."""
    if grounds and not explanation:
        raise typer.BadParameter("a refusal needs --explanation")
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer, _ = acting_on_case(uow, token, case_id, Action.DECIDE)
        if grounds:
            preview = drafts.draft_refusal(uow, _context(node), case_id, grounds=grounds,
                                           explanation=explanation or "", actor=officer.actor,
                                           now=_now())  # fmt: skip
        else:
            preview = drafts.draft_answer(
                uow, _context(node), SqlRegistries(uow.session), case_id,
                hit_key=hit_reference_key(node.settings.resolved_key_dir), actor=officer.actor,
                now=_now(),
            )  # fmt: skip
    _show(preview, as_json=as_json)


@app.command("preview")
def preview_command(
    ctx: typer.Context, case_id: str, as_json: AsJson = False, token: Token = None
) -> None:
    """The case's open draft as it would leave (the read is ledgered)."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer, _ = acting_on_case(uow, token, case_id, Action.DECIDE)
        preview = drafts.preview(uow, _context(node), case_id, reader=officer.actor, now=_now())
    _show(preview, as_json=as_json)


@app.command("narrow")
def narrow_command(
    ctx: typer.Context,
    case_id: str,
    fields: Annotated[list[str], typer.Option("--field", help="a field to withhold (repeatable)")],
    persons: Annotated[
        list[int] | None, typer.Option("--person", help="only from this person (repeatable)")
    ] = None,
    as_json: AsJson = False,
    token: Token = None,
) -> None:
    """Withhold more fields from the drafted answer (never add)."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer, _ = acting_on_case(uow, token, case_id, Action.DECIDE)
        preview = drafts.narrow(uow, _context(node), case_id, fields=fields,
                                persons=persons or None, actor=officer.actor,
                                now=_now())  # fmt: skip
    _show(preview, as_json=as_json)


@app.command("submit")
def submit_command(ctx: typer.Context, case_id: str, token: Token = None) -> None:
    """Send the draft, or hand it to a second officer where the agreement requires one."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer, _ = acting_on_case(uow, token, case_id, Action.DECIDE)
        preview = drafts.submit(uow, _context(node), case_id, actor=officer.actor, now=_now())
    _show(preview)


@app.command("approve")
def approve_command(ctx: typer.Context, case_id: str, token: Token = None) -> None:
    """Approve, as a second officer who signs in again with their password, a draft awaiting
    approval; it leaves at once."""
    node = node_from(ctx)
    password = typer.prompt("your password, to approve", hide_input=True, err=True)
    with node.unit_of_work() as uow:
        officer, _ = acting_on_case(uow, token, case_id, Action.DECIDE)
        fresh_sign_in(uow, officer, password)
        preview = drafts.approve(uow, _context(node), case_id, approver=officer.actor,
                                 now=_now())  # fmt: skip
    _show(preview)


@app.command("discard")
def discard_command(ctx: typer.Context, case_id: str, token: Token = None) -> None:
    """Discard the case's open draft."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer, _ = acting_on_case(uow, token, case_id, Action.DECIDE)
        drafts.discard(uow, case_id, actor=officer.actor, now=_now())
    out.print(f"the draft of case {case_id} is discarded")


def _in_one_step(ctx: typer.Context, case_id: str, token: str | None, *, citizenship: bool) -> None:
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer, _ = acting_on_case(uow, token, case_id, Action.DECIDE)
        drafts.draft_answer(uow, _context(node), SqlRegistries(uow.session), case_id,
                            hit_key=hit_reference_key(node.settings.resolved_key_dir),
                            actor=officer.actor, now=_now(), citizenship=citizenship)  # fmt: skip
        preview = drafts.submit(uow, _context(node), case_id, actor=officer.actor, now=_now())
    if preview.status == "awaiting-approval":
        _show(preview)
    else:
        out.print_json(data=preview.body)


@app.command("answer")
def answer_command(ctx: typer.Context, case_id: str, token: Token = None) -> None:
    """Answer a person inquiry from the registries, with only the profile's fields (drafted
    and submitted in one step; where the agreement requires a second officer, it waits)."""
    _in_one_step(ctx, case_id, token, citizenship=False)


@app.command("verify-citizenship")
def verify_citizenship_command(ctx: typer.Context, case_id: str, token: Token = None) -> None:
    """Answer a citizenship verification request from the own-citizens register (drafted and
    submitted in one step, as `answer`)."""
    _in_one_step(ctx, case_id, token, citizenship=True)


@app.command("refuse")
def refuse_command(
    ctx: typer.Context,
    case_id: str,
    grounds: Annotated[list[str], typer.Option("--ground", help="refusal ground id")],
    explanation: Annotated[str, typer.Option(help="why, for the requesting party")],
    token: Token = None,
) -> None:
    """Refuse a request on one or more of the agreement's grounds (drafted and submitted in
    one step; where the agreement requires a second officer, it waits)."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer, _ = acting_on_case(uow, token, case_id, Action.DECIDE)
        drafts.draft_refusal(uow, _context(node), case_id, grounds=grounds,
                             explanation=explanation, actor=officer.actor, now=_now())  # fmt: skip
        preview = drafts.submit(uow, _context(node), case_id, actor=officer.actor, now=_now())
    if preview.message_id:
        out.print(f"refusal {preview.message_id} queued")
    else:
        _show(preview)
