"""`migrex case`: open requests, file what arrives, review, decide in steps (draft, preview,
narrow, submit, approve), answer, refuse, withdraw, clarify, consult, and see which cases are
overdue or due soon; `migrex message send`, the generic send, which opens a case the same way.

Every command but `file` acts as a named officer (`officers.cli_identity`): the token is
authenticated and the action checked against the permission table inside the unit of work the
use case runs in, exactly as the officers' API checks it, and the officer is the use case's
actor. `file` is the node clerk's job the running node does by itself.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from migrex.casework.clarification import answer_clarification, ask_clarification
from migrex.casework.consultation import add_finding, cosign_outcome, propose_outcome
from migrex.casework.decision_cli import acting_on_case
from migrex.casework.decision_cli import app as decisions
from migrex.casework.queries import case_history, case_messages, case_notes, cases_of
from migrex.casework.reading import read_case_messages
from migrex.casework.reminders import ReminderRule, reminder_cases
from migrex.casework.request_keys import checked_key
from migrex.casework.schemas import CaseOut, ReminderOut
from migrex.casework.service import (
    NodeContext,
    OpenRequest,
    file_inbox,
    node_context,
    open_request,
    open_review,
    overdue_cases,
    withdraw,
)
from migrex.casework.tables import CaseRow
from migrex.console import json_array_option, out, print_json_array
from migrex.context import node_from
from migrex.exchange.trust import load_trust
from migrex.node import Node
from migrex.officers.cli_identity import Token, acting, signed_in
from migrex.officers.model import Action, authorities_for, require

app = typer.Typer(no_args_is_help=True)
app.add_typer(decisions)  # draft, preview, narrow, submit, approve, discard, answer, refuse
message_app = typer.Typer(no_args_is_help=True)


def _context(node: Node) -> NodeContext:
    return node_context(node)


def _now() -> datetime:
    return datetime.now(UTC)


def _json_object(value: str, option: str) -> dict[str, Any]:
    """A JSON object given inline or as @FILE; a usage error otherwise."""
    try:
        text = Path(value[1:]).read_text(encoding="utf-8") if value.startswith("@") else value
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise typer.BadParameter(f"{option}: cannot read {value[1:]}: {reason}") from None
    try:
        parsed = json.loads(text)
    except ValueError as error:
        raise typer.BadParameter(f"{option} is not JSON: {error}") from error
    if not isinstance(parsed, dict):
        raise typer.BadParameter(f"{option} must be a JSON object")
    return parsed


def _open(
    ctx: typer.Context, token: str | None, agreement: str, sender: str, recipient: str,
    type_: str, body: str, request_key: str | None = None,
) -> None:  # fmt: skip
    node = node_from(ctx)
    parsed = _json_object(body, "--body")
    key = None if request_key is None else checked_key(request_key, "--request-key")
    with node.unit_of_work() as uow:
        officer = acting(uow, token, Action.CREATE_REQUEST, sender)
        require(officer, Action.SEND_REQUEST, sender)
        command = OpenRequest(agreement, sender, recipient, type_, parsed, officer.actor,
                              request_key=key)  # fmt: skip
        opened = open_request(uow, _context(node), command, _now())
    if opened.again:
        out.print(f"case {opened.case_id} was opened by this request key before; nothing sent")
        return
    out.print(f"case {opened.case_id} opened; message {opened.message_id} queued")
    for flag in opened.flags:
        out.print(f"  [yellow]flag[/] {flag}")


Agreement = Annotated[str, typer.Option(help="agreement id")]
Sender = Annotated[str, typer.Option("--from", help="requesting authority (hosted here)")]
Recipient = Annotated[str, typer.Option("--to", help="requested authority")]
Kind = Annotated[str, typer.Option("--type", help="message type, e.g. person-inquiry")]
BodyOption = Annotated[str, typer.Option(help="the message as a JSON object, or @FILE holding it")]
RequestKey = Annotated[str | None, typer.Option(
    help="a key of your own for this request (a UUID): run again with it, the command opens "
    "and sends nothing more (a script's retry)")]  # fmt: skip


@app.command("open")
def open_command(
    ctx: typer.Context, agreement: Agreement, sender: Sender, recipient: Recipient,
    type_: Kind, body: BodyOption, token: Token = None, request_key: RequestKey = None,
) -> None:  # fmt: skip
    """Screen a request against the agreement, open its case and send it."""
    _open(ctx, token, agreement, sender, recipient, type_, body, request_key)


@message_app.command("send")
def send_command(
    ctx: typer.Context, agreement: Agreement, sender: Sender, recipient: Recipient,
    type_: Kind, body: BodyOption, token: Token = None, request_key: RequestKey = None,
) -> None:  # fmt: skip
    """Send a request, notice or information to a partner authority: it opens a case and is
    screened exactly as `case open` (a message that continues a case is sent by its step)."""
    _open(ctx, token, agreement, sender, recipient, type_, body, request_key)


@app.command("file")
def file_command(ctx: typer.Context) -> None:
    """File received messages into cases (the running node does this by itself)."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        count = file_inbox(uow, _context(node), _now())
    out.print(f"{count} message(s) filed")


Authority = Annotated[str | None, typer.Option(help="only this hosted authority's")]
AsJson = Annotated[bool, json_array_option("case")]


def _case_table(rows: list[CaseRow], now: datetime, span: str | None = None) -> Table:
    """Cases as officers read them; `span` adds "overdue by" or "time left" to the deadline."""
    table = Table("case", "direction", "category", "ours ↔ partner", "state", "due",
                  *([span] if span else []))  # fmt: skip
    for row in rows:
        due = row.due_at
        left = "" if due is None else _left(now - due if span == OVERDUE else due - now)
        table.add_row(
            row.id, row.direction, row.category,
            f"{row.our_authority} ↔ {row.partner_authority}", row.state,
            due.isoformat(timespec="minutes") if due else "", *([left] if span else []),
        )  # fmt: skip
    return table


def _print_cases(
    rows: list[CaseRow], now: datetime, as_json: bool, span: str | None = None
) -> None:
    """The cases as a table, or as the officers' API lists them (a reminder with its time
    left as an ISO 8601 duration)."""
    if not as_json:
        out.print(_case_table(rows, now, span))
        return
    shown = (ReminderOut.at(row, now) if span == TIME_LEFT else CaseOut.of(row) for row in rows)
    print_json_array(case.model_dump(mode="json") for case in shown)


OVERDUE, TIME_LEFT = "overdue by", "time left"


@app.command("list")
def list_command(
    ctx: typer.Context,
    overdue: Annotated[bool, typer.Option(help="only open cases past their deadline")] = False,
    authority: Authority = None,
    as_json: AsJson = False,
    token: Token = None,
) -> None:
    """Cases of the authorities the officer works for, newest first (or the overdue ones,
    longest overdue first)."""
    node, now = node_from(ctx), _now()
    action = Action.VIEW_OVERDUE if overdue else Action.VIEW_CASE
    with node.unit_of_work() as uow:
        officer = signed_in(uow, token)
        rows = [
            row
            for ours in authorities_for(officer, action, node.settings.authorities, authority)
            for row in (overdue_cases(uow, now, ours) if overdue else cases_of(uow, ours))
        ]
        if overdue:
            rows.sort(key=lambda r: r.due_at or now)
        else:
            rows.sort(key=lambda r: r.opened_at, reverse=True)
        _print_cases(rows, now, as_json, OVERDUE if overdue else None)


def _left(delta: timedelta) -> str:
    """A time span as officers read it: days and hours, or hours and minutes."""
    minutes = int(delta.total_seconds()) // 60
    days, hours = divmod(minutes // 60, 24)
    return f"{days}d {hours}h" if days else f"{hours}h {minutes % 60}m"


@app.command("overdue")
def overdue_command(
    ctx: typer.Context, authority: Authority = None, as_json: AsJson = False, token: Token = None
) -> None:
    """Open cases past their deadline, longest overdue first."""
    node, now = node_from(ctx), _now()
    with node.unit_of_work() as uow:
        officer = signed_in(uow, token)
        ours = authorities_for(officer, Action.VIEW_OVERDUE, node.settings.authorities, authority)
        rows = [row for a in ours for row in overdue_cases(uow, now, a)]
        _print_cases(sorted(rows, key=lambda r: r.due_at or now), now, as_json, OVERDUE)


@app.command("reminders")
def reminders_command(
    ctx: typer.Context,
    authority: Authority = None,
    within_days: Annotated[
        int | None,
        typer.Option(min=1, help="due within N days (default: three quarters of the time used)"),
    ] = None,
    as_json: AsJson = False,
    token: Token = None,
) -> None:
    """Open cases near their deadline but not past it, the soonest due first."""
    node, now = node_from(ctx), _now()
    rule = ReminderRule() if within_days is None else ReminderRule(within=timedelta(within_days))
    with node.unit_of_work() as uow:
        officer = signed_in(uow, token)
        ours = authorities_for(officer, Action.VIEW_OVERDUE, node.settings.authorities, authority)
        rows = [row for a in ours for row in reminder_cases(uow, now, rule, authority=a)]
        _print_cases(sorted(rows, key=lambda r: r.due_at or now), now, as_json, TIME_LEFT)


@app.command("read")
def read_command(ctx: typer.Context, case_id: str, token: Token = None) -> None:
    """Every message of a case in full; each read of personal data is logged and ledgered."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer, _ = acting_on_case(uow, token, case_id, Action.VIEW_PERSONAL_DATA)
        views = read_case_messages(uow, _context(node), case_id, reader=officer.actor,
                                   now=_now())  # fmt: skip
    for view in views:
        out.print(f"[bold]{view.at:%Y-%m-%d %H:%M} {view.direction} {view.type}[/] "
                  f"[dim]{view.message_id}[/]")  # fmt: skip
        if view.erased:
            out.print("  [dim]erased: its retention period ended[/]")
        else:
            out.print_json(data=view.body)


@app.command("show")
def show_command(ctx: typer.Context, case_id: str, token: Token = None) -> None:
    """A case's messages, screening notes and history (no message bodies: see `case read`)."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        _, case = acting_on_case(uow, token, case_id, Action.VIEW_CASE)
        out.print(f"[bold]{case.id}[/] {case.direction} {case.category} — {case.state}")
        for note in case_notes(uow, case_id):
            ground = f" → {note.proposed_ground}" if note.proposed_ground else ""
            out.print(f"  [yellow]{note.severity}[/] {note.kind}: {note.detail}{ground}")
        for message in case_messages(uow, case_id):
            out.print(f"  {message.at:%Y-%m-%d %H:%M} {message.direction} {message.type}")
        for event in case_history(uow, case_id):
            out.print(
                f"  {event.at:%Y-%m-%d %H:%M} {event.actor}: {event.from_state} → {event.to_state}"
            )


@app.command("review")
def review_command(ctx: typer.Context, case_id: str, token: Token = None) -> None:
    """Take an incoming request into review."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer, _ = acting_on_case(uow, token, case_id, Action.REVIEW_INCOMING)
        open_review(uow, case_id, officer.actor, _now())
    out.print(f"case {case_id} in review")


# ---------------------------------------------------------------- steps inside a case


@app.command("withdraw")
def withdraw_command(
    ctx: typer.Context, case_id: str, reason: Annotated[str, typer.Option(help="why")],
    token: Token = None,
) -> None:  # fmt: skip
    """Withdraw one of our requests; the partner is told."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer, _ = acting_on_case(uow, token, case_id, Action.WITHDRAW_REQUEST)
        message_id = withdraw(uow, _context(node), case_id, reason=reason, actor=officer.actor,
                              now=_now())  # fmt: skip
    out.print(f"withdrawal {message_id} queued")


@app.command("clarify")
def clarify_command(
    ctx: typer.Context,
    case_id: str,
    question: Annotated[str, typer.Option(help="what the requesting party must clarify")],
    token: Token = None,
) -> None:
    """Ask the requesting party to clarify a request in review."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer, _ = acting_on_case(uow, token, case_id, Action.DECIDE)
        message_id = ask_clarification(uow, _context(node), case_id, question=question,
                                       actor=officer.actor, now=_now())  # fmt: skip
    out.print(f"clarification request {message_id} queued")


@app.command("answer-clarification")
def answer_clarification_command(
    ctx: typer.Context,
    case_id: str,
    answers: Annotated[list[str], typer.Option("--answer", help="an answer (repeatable)")],
    legal_basis: Annotated[str | None, typer.Option(help="a fuller legal basis")] = None,
    token: Token = None,
) -> None:
    """Answer the partner's questions about one of our requests (it is screened again)."""
    node = node_from(ctx)
    answer: dict[str, object] = {"answers": answers}
    if legal_basis:
        answer["legal_basis"] = legal_basis
    with node.unit_of_work() as uow:
        officer, _ = acting_on_case(uow, token, case_id, Action.ANSWER_CLARIFICATION)
        message_id = answer_clarification(uow, _context(node), case_id, answer=answer,
                                          actor=officer.actor, now=_now())  # fmt: skip
    out.print(f"clarification answer {message_id} queued")


@app.command("add-finding")
def add_finding_command(
    ctx: typer.Context,
    case_id: str,
    finding: Annotated[str, typer.Option(help="what we found")],
    fields: Annotated[str | None, typer.Option(help="data it shares, a JSON object")] = None,
    token: Token = None,
) -> None:
    """Add our finding to an open joint consultation (the case does not move)."""
    node = node_from(ctx)
    shared = _json_object(fields, "--fields") if fields else None
    with node.unit_of_work() as uow:
        officer, _ = acting_on_case(uow, token, case_id, Action.CONSULT)
        message_id = add_finding(uow, _context(node), case_id, finding=finding, fields=shared,
                                 actor=officer.actor, now=_now())  # fmt: skip
    out.print(f"finding {message_id} queued")


@app.command("propose-outcome")
def propose_outcome_command(
    ctx: typer.Context,
    case_id: str,
    outcome: Annotated[str, typer.Option(help="the outcome text both sides are to sign")],
    token: Token = None,
) -> None:
    """Propose a consultation's outcome to the partner, signed with our authority's key."""
    node, now = node_from(ctx), _now()
    with node.unit_of_work() as uow:
        officer, case = acting_on_case(uow, token, case_id, Action.CONSULT)
        key = load_trust(node.settings, node.agreements).signing_key(case.our_authority, now)
        message_id = propose_outcome(uow, _context(node), case_id, outcome=outcome,
                                     signing_key=key, actor=officer.actor, now=now)  # fmt: skip
    out.print(f"outcome {message_id} proposed")


@app.command("cosign-outcome")
def cosign_outcome_command(ctx: typer.Context, case_id: str, token: Token = None) -> None:
    """Co-sign the partner's proposed outcome once its signature verifies; the case is answered."""
    node, now = node_from(ctx), _now()
    with node.unit_of_work() as uow:
        officer, case = acting_on_case(uow, token, case_id, Action.DECIDE)
        trust = load_trust(node.settings, node.agreements)
        message_id = cosign_outcome(
            uow, _context(node), case_id, signing_key=trust.signing_key(case.our_authority, now),
            resolve_signing_key=trust.resolve_signing_key, actor=officer.actor, now=now,
        )  # fmt: skip
    out.print(f"co-signed outcome {message_id} queued")
