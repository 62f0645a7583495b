"""`migrex message`, `migrex outbox`, `migrex inbox`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from migrex.console import out
from migrex.context import node_from
from migrex.exchange.delivery import Status
from migrex.exchange.service import SendMessage, retry, send_message
from migrex.exchange.tables import InboxMessage, OutboxMessage, Receipt

message_app = typer.Typer(no_args_is_help=True)
outbox_app = typer.Typer(no_args_is_help=True)
inbox_app = typer.Typer(no_args_is_help=True)


@message_app.command("send")
def send(
    ctx: typer.Context,
    agreement: Annotated[str, typer.Option(help="agreement id")],
    sender: Annotated[str, typer.Option("--from", help="sending authority (hosted here)")],
    recipient: Annotated[str, typer.Option("--to", help="receiving authority")],
    type_: Annotated[str, typer.Option("--type", help="message type")] = "notice",
    body: Annotated[str, typer.Option(help="message body, a JSON object")] = "{}",
    case: Annotated[str | None, typer.Option(help="case the message belongs to")] = None,
    category: Annotated[str | None, typer.Option(help="information category to check")] = None,
) -> None:
    """Put a message in the outbox; the node's relay delivers it."""
    node = node_from(ctx)
    try:
        parsed = json.loads(body)
    except ValueError as error:
        raise typer.BadParameter(f"--body is not JSON: {error}") from error
    if not isinstance(parsed, dict):
        raise typer.BadParameter("--body must be a JSON object")
    command = SendMessage(agreement, sender, recipient, type_, parsed, case, None, category)
    with node.unit_of_work() as uow:
        message_id = send_message(
            uow, command, agreements=node.agreements, hosted=node.settings.authorities,
            now=datetime.now(UTC),
        )  # fmt: skip
    out.print(message_id)


@outbox_app.command("list")
def outbox_list(
    ctx: typer.Context,
    parked: Annotated[bool, typer.Option(help="only parked messages")] = False,
    limit: Annotated[int, typer.Option(help="most recent N")] = 50,
) -> None:
    """Outgoing messages with their delivery state and receipt."""
    node = node_from(ctx)
    query = select(OutboxMessage, Receipt.received_at).outerjoin(
        Receipt, Receipt.message_id == OutboxMessage.message_id
    )
    if parked:
        query = query.where(OutboxMessage.status == Status.PARKED)
    table = Table(
        "message", "from → to", "type", "case", "status", "tries", "receipted", "last error"
    )
    with node.unit_of_work() as uow:
        for row, receipted in uow.session.execute(
            query.order_by(OutboxMessage.id.desc()).limit(limit)
        ):
            table.add_row(
                row.message_id, f"{row.sender} → {row.recipient}", row.type, row.case_id or "",
                row.status, str(row.attempts), receipted.isoformat() if receipted else "",
                (row.last_error or "")[:60],
            )  # fmt: skip
    out.print(table)


@outbox_app.command("retry")
def outbox_retry(
    ctx: typer.Context,
    message_ids: Annotated[
        list[str] | None, typer.Argument(help="parked messages to retry")
    ] = None,
    all_parked: Annotated[bool, typer.Option("--all", help="retry every parked message")] = False,
) -> None:
    """Put parked messages back in line for delivery."""
    if not message_ids and not all_parked:
        raise typer.BadParameter("name message ids or pass --all")
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        count = retry(uow, None if all_parked else message_ids, datetime.now(UTC))
    out.print(f"{count} message(s) back in the outbox")


@inbox_app.command("list")
def inbox_list(
    ctx: typer.Context, limit: Annotated[int, typer.Option(help="most recent N")] = 50
) -> None:
    """Received messages: who sent what to whom, when."""
    node = node_from(ctx)
    table = Table("message", "from → to", "agreement", "type", "case", "received", "status")
    with node.unit_of_work() as uow:
        rows = uow.session.scalars(
            select(InboxMessage).order_by(InboxMessage.id.desc()).limit(limit)
        )
        for row in rows:
            table.add_row(
                row.message_id, f"{row.sender} → {row.recipient}", row.agreement_id, row.type,
                row.case_id or "", row.received_at.isoformat(timespec="seconds"), row.status,
            )  # fmt: skip
    out.print(table)
