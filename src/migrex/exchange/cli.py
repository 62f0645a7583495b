"""`migrex outbox` and `migrex inbox`: the node's delivery, for whoever runs the node.

They list envelopes (who, what type, which case, delivery state), never bodies, so they stay
administrative; sending is `migrex message send` (casework), which acts as an officer. Retry,
re-issue and discard are administration: whoever runs the node's host runs them, and each
change is an `administration` entry in the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from migrex.console import err, json_array_option, out, print_json_array
from migrex.context import node_from
from migrex.exchange.delivery import Status
from migrex.exchange.queries import (
    HeldUp,
    Kinds,
    held_up,
    recent_inbox,
    recent_outbox,
    refused_message_ids,
    types_held,
)
from migrex.exchange.service import discard, reissue, retry
from migrex.exchange.tables import InboxMessage, OutboxMessage
from migrex.officers.cli_identity import administrator

outbox_app = typer.Typer(no_args_is_help=True)
inbox_app = typer.Typer(no_args_is_help=True)


AsJson = Annotated[bool, json_array_option("message")]
OnlyTypes = Annotated[
    list[str] | None,
    typer.Option("--type", help="only messages of this type (repeat for more)"),
]
SkipTypes = Annotated[
    list[str] | None,
    typer.Option(
        "--skip-type",
        help="leave out messages of this type, e.g. audit-checkpoint (repeat for more)",
    ),
]


@outbox_app.command("list")
def outbox_list(
    ctx: typer.Context,
    parked: Annotated[
        bool,
        typer.Option(
            help="only messages awaiting an operator (parked or refused), each with the "
            "messages of its case waiting behind it"
        ),
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="most recent N")] = 50,
    only: OnlyTypes = None,
    skip: SkipTypes = None,
    as_json: AsJson = False,
) -> None:
    """Outgoing messages with their delivery state and receipt."""
    node = node_from(ctx)
    if parked:
        with node.unit_of_work() as uow:
            _print_held_up(held_up(uow, limit), as_json)
        return
    kinds = Kinds(tuple(only or ()), tuple(skip or ()))
    with node.unit_of_work() as uow:
        sent = recent_outbox(uow, limit, kinds)
        if not sent:
            _none_of(kinds, types_held(uow, OutboxMessage))
    if as_json:
        print_json_array(
            {"message_id": row.message_id, "sender": row.sender, "recipient": row.recipient,
             "type": row.type, "case_id": row.case_id, "status": row.status,
             "refusal": row.refusal, "attempts": row.attempts, "receipted_at": receipted,
             "last_error": row.last_error}
            for row, receipted in ((s.message, s.receipted_at) for s in sent)
        )  # fmt: skip
        return
    table = Table(
        "message", "from → to", "type", "case", "status", "tries", "receipted", "last error"
    )
    table.columns[0].overflow = "fold"  # an id cut short is of no use to `retry`
    for row, receipted in ((s.message, s.receipted_at) for s in sent):
        table.add_row(
            row.message_id, f"{row.sender} → {row.recipient}", row.type, row.case_id or "",
            _status(row), str(row.attempts), receipted.isoformat() if receipted else "",
            (row.last_error or "")[:60],
        )  # fmt: skip
    out.print(table)


def _status(row: OutboxMessage) -> str:
    return f"{row.status} ({row.refusal})" if row.refusal else row.status


def _print_held_up(held: list[HeldUp], as_json: bool) -> None:
    if as_json:
        print_json_array(
            {"message_id": h.head.message_id, "agreement_id": h.head.agreement_id,
             "sender": h.head.sender, "recipient": h.head.recipient, "type": h.head.type,
             "case_id": h.head.case_id, "status": h.head.status, "refusal": h.head.refusal,
             "attempts": h.head.attempts, "issued_at": h.head.issued_at,
             "expires_at": h.head.expires_at, "last_error": h.head.last_error,
             "waiting": {"count": len(h.waiting), "message_ids": list(h.waiting)}}
            for h in held
        )  # fmt: skip
        return
    # One block per message, not a table: full ids (what `reissue` and `discard` take) at
    # any terminal width.
    for h in held:
        head = h.head
        out.print(f"[bold]{head.message_id}[/] {head.sender} → {head.recipient} {head.type}"
                  f"{f' case {head.case_id}' if head.case_id else ''}", soft_wrap=True)  # fmt: skip
        tries = f"{head.attempts} tr{'y' if head.attempts == 1 else 'ies'}"
        out.print(f"  {_status(head)} after {tries}: {head.last_error or ''}",
                  soft_wrap=True)  # fmt: skip
        out.print(f"  {len(h.waiting)} waiting behind it{': ' if h.waiting else ''}"
                  f"{' '.join(h.waiting)}", soft_wrap=True)  # fmt: skip
    if not held:
        out.print("no message awaits an operator")
    if any(h.head.status == Status.REFUSED for h in held):
        out.print(
            "refused messages are not retried: `migrex outbox reissue ID` seals one anew "
            "(same case and body), `migrex outbox discard ID --reason TEXT` drops it; "
            "the messages behind it then go"
        )


@outbox_app.command("retry")
def outbox_retry(
    ctx: typer.Context,
    message_ids: Annotated[
        list[str] | None, typer.Argument(help="parked messages to retry")
    ] = None,
    all_parked: Annotated[bool, typer.Option("--all", help="retry every parked message")] = False,
) -> None:
    """Put parked messages back in line for delivery (the same envelope, sent again)."""
    if not message_ids and not all_parked:
        raise typer.BadParameter("name message ids or pass --all")
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        count = retry(uow, None if all_parked else message_ids, datetime.now(UTC),
                      actor=administrator())  # fmt: skip
    out.print(f"{count} message(s) back in the outbox")
    if message_ids and not all_parked and count < len(set(message_ids)):
        out.print(
            "the others are not parked; a refused message is re-issued "
            "(`migrex outbox reissue`) or discarded (`migrex outbox discard`), not retried"
        )


@outbox_app.command("reissue")
def outbox_reissue(
    ctx: typer.Context,
    message_ids: Annotated[
        list[str] | None, typer.Argument(help="refused or parked messages to seal anew")
    ] = None,
    all_refused: Annotated[
        bool, typer.Option("--all", help="re-issue every refused message")
    ] = False,
) -> None:
    """Seal a refused or parked message anew: same id, case and body, new times and envelope.

    It stays at the head of its case, and the messages waiting behind it whose own times would
    be refused get new times too, so the case drains in order. The receiver de-duplicates on
    the message id: if an earlier envelope did arrive, nothing is filed twice.
    """
    if not message_ids and not all_refused:
        raise typer.BadParameter("name message ids or pass --all")
    node = node_from(ctx)
    now = datetime.now(UTC)
    with node.unit_of_work() as uow:
        if all_refused:
            message_ids = refused_message_ids(uow)
        done = reissue(
            uow, message_ids or [], agreements=node.agreements, now=now, actor=administrator(),
        ) if message_ids else []  # fmt: skip
    for each in done:
        behind = f"; {len(each.redated)} waiting behind it re-dated" if each.redated else ""
        out.print(f"{each.message_id} re-issued{behind}")
    out.print(f"{len(done)} message(s) back in the outbox, to be sealed anew")


@outbox_app.command("discard")
def outbox_discard(
    ctx: typer.Context,
    message_id: Annotated[str, typer.Argument(help="the refused or parked message to drop")],
    reason: Annotated[
        str, typer.Option("--reason", help="why it will not be sent: told to its case")
    ],
) -> None:
    """Take a message out of the outbox for good, with a reason; the rest of its case goes.

    The discard is an administration entry in the audit log (with a hash of the reason) and a
    note on the message's case (with the reason itself)."""
    if not reason.strip():
        raise typer.BadParameter("say why the message will not be sent", param_hint="--reason")
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        discarded = discard(uow, message_id, reason, now=datetime.now(UTC),
                            actor=administrator())  # fmt: skip
    case = f"; case {discarded.case_id} is told" if discarded.case_id else ""
    out.print(f"{discarded.message_id} discarded{case}")


@inbox_app.command("list")
def inbox_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="most recent N")] = 50,
    only: OnlyTypes = None,
    skip: SkipTypes = None,
    as_json: AsJson = False,
) -> None:
    """Received messages: who sent what to whom, when, and how each was filed."""
    node = node_from(ctx)
    kinds = Kinds(tuple(only or ()), tuple(skip or ()))
    with node.unit_of_work() as uow:
        rows = recent_inbox(uow, limit, kinds=kinds)
        if not rows:
            _none_of(kinds, types_held(uow, InboxMessage))
    if as_json:
        print_json_array(
            {"message_id": row.message_id, "sender": row.sender, "recipient": row.recipient,
             "agreement_id": row.agreement_id, "type": row.type, "case_id": row.case_id,
             "received_at": row.received_at, "status": row.status, "problem": row.problem}
            for row in rows
        )  # fmt: skip
        return
    table = Table("message", "from → to", "agreement", "type", "case", "received", "status")
    for row in rows:
        table.add_row(
            row.message_id, f"{row.sender} → {row.recipient}", row.agreement_id, row.type,
            row.case_id or "", row.received_at.isoformat(timespec="seconds"), row.status,
        )  # fmt: skip
    out.print(table)


def _none_of(kinds: Kinds, held: list[str]) -> None:
    """A type filter that matched nothing says which types there are: a typo would
    otherwise look like an empty list."""
    unknown = [kind for kind in kinds.only if kind not in held]
    if unknown:
        err.print(f"no message of type {', '.join(unknown)}; the types held: "
                  f"{', '.join(held) or 'none'}", highlight=False, soft_wrap=True)  # fmt: skip
