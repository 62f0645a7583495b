"""`migrex outbox` and `migrex inbox`: the node's delivery, for whoever runs the node.

They list envelopes (who, what type, which case, delivery state), never bodies, so they stay
administrative; sending is `migrex message send` (casework), which acts as an officer.
"""

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
from migrex.exchange.service import retry
from migrex.exchange.tables import InboxMessage, OutboxMessage, Receipt
from migrex.officers.cli_identity import administrator

outbox_app = typer.Typer(no_args_is_help=True)
inbox_app = typer.Typer(no_args_is_help=True)


AsJson = Annotated[bool, typer.Option("--json", help="print JSON, one object per message")]


@outbox_app.command("list")
def outbox_list(
    ctx: typer.Context,
    parked: Annotated[bool, typer.Option(help="only parked messages")] = False,
    limit: Annotated[int, typer.Option(min=1, help="most recent N")] = 50,
    as_json: AsJson = False,
) -> None:
    """Outgoing messages with their delivery state and receipt."""
    node = node_from(ctx)
    query = select(OutboxMessage, Receipt.received_at).outerjoin(
        Receipt, Receipt.message_id == OutboxMessage.message_id
    )
    if parked:
        query = query.where(OutboxMessage.status == Status.PARKED)
    with node.unit_of_work() as uow:
        rows = list(uow.session.execute(query.order_by(OutboxMessage.id.desc()).limit(limit)))
    if as_json:
        typer.echo(json.dumps([
            {"message_id": row.message_id, "sender": row.sender, "recipient": row.recipient,
             "type": row.type, "case_id": row.case_id, "status": row.status,
             "attempts": row.attempts, "receipted_at": receipted, "last_error": row.last_error}
            for row, receipted in rows
        ], default=str))  # fmt: skip
        return
    table = Table(
        "message", "from → to", "type", "case", "status", "tries", "receipted", "last error"
    )
    for row, receipted in rows:
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
        count = retry(uow, None if all_parked else message_ids, datetime.now(UTC),
                      actor=administrator())  # fmt: skip
    out.print(f"{count} message(s) back in the outbox")


@inbox_app.command("list")
def inbox_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="most recent N")] = 50,
    as_json: AsJson = False,
) -> None:
    """Received messages: who sent what to whom, when, and how each was filed."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        rows = list(uow.session.scalars(
            select(InboxMessage).order_by(InboxMessage.id.desc()).limit(limit)
        ))  # fmt: skip
    if as_json:
        typer.echo(json.dumps([
            {"message_id": row.message_id, "sender": row.sender, "recipient": row.recipient,
             "agreement_id": row.agreement_id, "type": row.type, "case_id": row.case_id,
             "received_at": row.received_at, "status": row.status, "problem": row.problem}
            for row in rows
        ], default=str))  # fmt: skip
        return
    table = Table("message", "from → to", "agreement", "type", "case", "received", "status")
    for row in rows:
        table.add_row(
            row.message_id, f"{row.sender} → {row.recipient}", row.agreement_id, row.type,
            row.case_id or "", row.received_at.isoformat(timespec="seconds"), row.status,
        )  # fmt: skip
    out.print(table)
