"""`migrex case`: open requests, file what arrives, review, answer, refuse, withdraw, clarify,
consult, and see which cases are overdue or due soon."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from migrex.casework.answers import answer_inquiry
from migrex.casework.citizenship import answer_citizenship
from migrex.casework.clarification import answer_clarification, ask_clarification
from migrex.casework.consultation import add_finding, cosign_outcome, propose_outcome
from migrex.casework.context import hit_reference_key
from migrex.casework.reading import read_case_messages
from migrex.casework.reminders import ReminderRule, reminder_cases
from migrex.casework.service import (
    NodeContext,
    OpenRequest,
    file_inbox,
    node_context,
    open_request,
    open_review,
    overdue_cases,
    refuse,
    withdraw,
)
from migrex.casework.tables import CaseEventRow, CaseMessageRow, CaseRow, ScreeningNoteRow
from migrex.console import out
from migrex.context import node_from
from migrex.errors import NotFound
from migrex.exchange.trust import load_trust
from migrex.node import Node
from migrex.registry.sql import SqlRegistries

app = typer.Typer(no_args_is_help=True)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _context(node: Node) -> NodeContext:
    return node_context(node)


@app.command("open")
def open_command(
    ctx: typer.Context,
    agreement: Annotated[str, typer.Option(help="agreement id")],
    sender: Annotated[str, typer.Option("--from", help="requesting authority (hosted here)")],
    recipient: Annotated[str, typer.Option("--to", help="requested authority")],
    type_: Annotated[str, typer.Option("--type", help="message type, e.g. person-inquiry")],
    body: Annotated[str, typer.Option(help="the request as a JSON object, or @FILE holding it")],
) -> None:
    """Screen a request against the agreement, open its case and send it."""
    node = node_from(ctx)
    text = Path(body[1:]).read_text(encoding="utf-8") if body.startswith("@") else body
    try:
        parsed = json.loads(text)
    except ValueError as error:
        raise typer.BadParameter(f"--body is not JSON: {error}") from error
    command = OpenRequest(agreement, sender, recipient, type_, parsed, _actor())
    with node.unit_of_work() as uow:
        opened = open_request(uow, _context(node), command, datetime.now(UTC))
    out.print(f"case {opened.case_id} opened; message {opened.message_id} queued")
    for flag in opened.flags:
        out.print(f"  [yellow]flag[/] {flag}")


@app.command("file")
def file_command(ctx: typer.Context) -> None:
    """File received messages into cases (the running node does this by itself)."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        count = file_inbox(uow, _context(node), datetime.now(UTC))
    out.print(f"{count} message(s) filed")


@app.command("list")
def list_command(
    ctx: typer.Context,
    overdue: Annotated[bool, typer.Option(help="only open cases past their deadline")] = False,
) -> None:
    """Cases, newest first (or the overdue ones, longest overdue first)."""
    node = node_from(ctx)
    table = Table("case", "direction", "category", "ours ↔ partner", "state", "due")
    with node.unit_of_work() as uow:
        rows = (
            overdue_cases(uow, datetime.now(UTC))
            if overdue
            else list(uow.session.scalars(select(CaseRow).order_by(CaseRow.opened_at.desc())))
        )
        for row in rows:
            table.add_row(
                row.id, row.direction, row.category,
                f"{row.our_authority} ↔ {row.partner_authority}", row.state,
                row.due_at.isoformat(timespec="minutes") if row.due_at else "",
            )  # fmt: skip
    out.print(table)


def _left(delta: timedelta) -> str:
    """A time span as officers read it: days and hours, or hours and minutes."""
    minutes = int(delta.total_seconds()) // 60
    days, hours = divmod(minutes // 60, 24)
    return f"{days}d {hours}h" if days else f"{hours}h {minutes % 60}m"


@app.command("overdue")
def overdue_command(
    ctx: typer.Context,
    authority: Annotated[str | None, typer.Option(help="only this hosted authority's")] = None,
) -> None:
    """Open cases past their deadline, longest overdue first."""
    node = node_from(ctx)
    now = datetime.now(UTC)
    table = Table("case", "authority", "partner", "category", "state", "due", "overdue by")
    with node.unit_of_work() as uow:
        rows = overdue_cases(uow, now)
        for row in (r for r in rows if authority is None or r.our_authority == authority):
            due = row.due_at or now  # never None on the overdue list
            table.add_row(
                row.id, row.our_authority, row.partner_authority, row.category, row.state,
                due.isoformat(timespec="minutes"), _left(now - due),
            )  # fmt: skip
    out.print(table)


@app.command("reminders")
def reminders_command(
    ctx: typer.Context,
    authority: Annotated[str | None, typer.Option(help="only this hosted authority's")] = None,
    within_days: Annotated[
        int | None,
        typer.Option(min=1, help="due within N days (default: three quarters of the time used)"),
    ] = None,
) -> None:
    """Open cases near their deadline but not past it, the soonest due first."""
    node = node_from(ctx)
    now = datetime.now(UTC)
    rule = ReminderRule() if within_days is None else ReminderRule(within=timedelta(within_days))
    table = Table("case", "authority", "partner", "category", "due", "time left")
    with node.unit_of_work() as uow:
        for row in reminder_cases(uow, now, rule, authority=authority):
            due = row.due_at or now  # never None on the reminder list
            table.add_row(row.id, row.our_authority, row.partner_authority, row.category,
                          due.isoformat(timespec="minutes"), _left(due - now))  # fmt: skip
    out.print(table)


@app.command("read")
def read_command(ctx: typer.Context, case_id: str) -> None:
    """Every message of a case in full; each read of personal data is logged and ledgered."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        views = read_case_messages(uow, _context(node), case_id, reader=_actor(),
                                   now=datetime.now(UTC))  # fmt: skip
    for view in views:
        out.print(f"[bold]{view.at:%Y-%m-%d %H:%M} {view.direction} {view.type}[/] "
                  f"[dim]{view.message_id}[/]")  # fmt: skip
        if view.erased:
            out.print("  [dim]erased: its retention period ended[/]")
        else:
            out.print_json(data=view.body)


@app.command("show")
def show_command(ctx: typer.Context, case_id: str) -> None:
    """A case's messages, screening notes and history (no message bodies: see `case read`)."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        case = uow.session.get(CaseRow, case_id)
        if case is None:
            raise NotFound(f"no case {case_id}")
        out.print(f"[bold]{case.id}[/] {case.direction} {case.category} — {case.state}")
        for note in uow.session.scalars(
            select(ScreeningNoteRow).where(ScreeningNoteRow.case_id == case_id)
        ):
            ground = f" → {note.proposed_ground}" if note.proposed_ground else ""
            out.print(f"  [yellow]{note.severity}[/] {note.kind}: {note.detail}{ground}")
        for message in uow.session.scalars(
            select(CaseMessageRow)
            .where(CaseMessageRow.case_id == case_id)
            .order_by(CaseMessageRow.id)
        ):
            out.print(f"  {message.at:%Y-%m-%d %H:%M} {message.direction} {message.type}")
        for event in uow.session.scalars(
            select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id)
        ):
            out.print(
                f"  {event.at:%Y-%m-%d %H:%M} {event.actor}: {event.from_state} → {event.to_state}"
            )


@app.command("review")
def review_command(ctx: typer.Context, case_id: str) -> None:
    """Take an incoming request into review."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        open_review(uow, case_id, _actor(), datetime.now(UTC))
    out.print(f"case {case_id} in review")


@app.command("answer")
def answer_command(ctx: typer.Context, case_id: str) -> None:
    """Answer a person inquiry from the registries, with only the profile's fields."""
    node = node_from(ctx)
    key = hit_reference_key(node.settings.resolved_key_dir)
    with node.unit_of_work() as uow:
        reply = answer_inquiry(
            uow, _context(node), SqlRegistries(uow.session), case_id,
            hit_key=key, actor=_actor(), now=datetime.now(UTC),
        )  # fmt: skip
    out.print_json(reply.model_dump_json(exclude_none=True))


@app.command("refuse")
def refuse_command(
    ctx: typer.Context,
    case_id: str,
    grounds: Annotated[list[str], typer.Option("--ground", help="refusal ground id")],
    explanation: Annotated[str, typer.Option(help="why, for the requesting party")],
) -> None:
    """Refuse a request on one or more of the agreement's grounds."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        message_id = refuse(
            uow, _context(node), case_id, grounds=grounds, explanation=explanation,
            actor=_actor(), now=datetime.now(UTC),
        )  # fmt: skip
    out.print(f"refusal {message_id} queued")


@app.command("withdraw")
def withdraw_command(
    ctx: typer.Context, case_id: str, reason: Annotated[str, typer.Option(help="why")]
) -> None:
    """Withdraw one of our requests; the partner is told."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        message_id = withdraw(uow, _context(node), case_id, reason=reason, actor=_actor(),
                              now=datetime.now(UTC))  # fmt: skip
    out.print(f"withdrawal {message_id} queued")


@app.command("clarify")
def clarify_command(
    ctx: typer.Context,
    case_id: str,
    question: Annotated[str, typer.Option(help="what the requesting party must clarify")],
) -> None:
    """Ask the requesting party to clarify a request in review."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        message_id = ask_clarification(uow, _context(node), case_id, question=question,
                                       actor=_actor(), now=datetime.now(UTC))  # fmt: skip
    out.print(f"clarification request {message_id} queued")


@app.command("answer-clarification")
def answer_clarification_command(
    ctx: typer.Context,
    case_id: str,
    answers: Annotated[list[str], typer.Option("--answer", help="an answer (repeatable)")],
    legal_basis: Annotated[str | None, typer.Option(help="a fuller legal basis")] = None,
) -> None:
    """Answer the partner's questions about one of our requests (it is screened again)."""
    node = node_from(ctx)
    answer: dict[str, object] = {"answers": answers}
    if legal_basis:
        answer["legal_basis"] = legal_basis
    with node.unit_of_work() as uow:
        message_id = answer_clarification(uow, _context(node), case_id, answer=answer,
                                          actor=_actor(), now=datetime.now(UTC))  # fmt: skip
    out.print(f"clarification answer {message_id} queued")


@app.command("verify-citizenship")
def verify_citizenship_command(ctx: typer.Context, case_id: str) -> None:
    """Answer a citizenship verification request from the own-citizens register."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        reply = answer_citizenship(uow, _context(node), SqlRegistries(uow.session), case_id,
                                   actor=_actor(), now=datetime.now(UTC))  # fmt: skip
    out.print_json(reply.model_dump_json(exclude_none=True))


def _our_authority(node: Node, case_id: str) -> str:
    with node.unit_of_work() as uow:
        case = uow.session.get(CaseRow, case_id)
        if case is None:
            raise NotFound(f"no case {case_id}")
        return case.our_authority


@app.command("add-finding")
def add_finding_command(
    ctx: typer.Context,
    case_id: str,
    finding: Annotated[str, typer.Option(help="what we found")],
    fields: Annotated[str | None, typer.Option(help="data it shares, a JSON object")] = None,
) -> None:
    """Add our finding to an open joint consultation (the case does not move)."""
    node = node_from(ctx)
    try:
        shared = json.loads(fields) if fields else None
    except ValueError as error:
        raise typer.BadParameter(f"--fields is not JSON: {error}") from error
    if shared is not None and not isinstance(shared, dict):
        raise typer.BadParameter("--fields must be a JSON object")
    with node.unit_of_work() as uow:
        message_id = add_finding(uow, _context(node), case_id, finding=finding, fields=shared,
                                 actor=_actor(), now=datetime.now(UTC))  # fmt: skip
    out.print(f"finding {message_id} queued")


@app.command("propose-outcome")
def propose_outcome_command(
    ctx: typer.Context,
    case_id: str,
    outcome: Annotated[str, typer.Option(help="the outcome text both sides are to sign")],
) -> None:
    """Propose a consultation's outcome to the partner, signed with our authority's key."""
    node = node_from(ctx)
    authority, now = _our_authority(node, case_id), datetime.now(UTC)
    key = load_trust(node.settings, node.agreements).signing_key(authority, now)
    with node.unit_of_work() as uow:
        message_id = propose_outcome(uow, _context(node), case_id, outcome=outcome,
                                     signing_key=key, actor=_actor(), now=now)  # fmt: skip
    out.print(f"outcome {message_id} proposed")


@app.command("cosign-outcome")
def cosign_outcome_command(ctx: typer.Context, case_id: str) -> None:
    """Co-sign the partner's proposed outcome once its signature verifies; the case is answered."""
    node = node_from(ctx)
    authority, now = _our_authority(node, case_id), datetime.now(UTC)
    trust = load_trust(node.settings, node.agreements)
    with node.unit_of_work() as uow:
        message_id = cosign_outcome(
            uow, _context(node), case_id, signing_key=trust.signing_key(authority, now),
            resolve_signing_key=trust.resolve_signing_key, actor=_actor(), now=now,
        )  # fmt: skip
    out.print(f"co-signed outcome {message_id} queued")
