"""`migrex serve`, `migrex relay`, `migrex message`, `migrex outbox`, `migrex inbox`."""

from __future__ import annotations

import gc
import json
import sys
import threading
from datetime import UTC, datetime
from typing import Annotated

import typer
import uvicorn
from rich.table import Table
from sqlalchemy import select

from migrex.console import out
from migrex.context import node_from
from migrex.exchange.delivery import Status
from migrex.exchange.runtime import ExchangeRuntime
from migrex.exchange.service import SendMessage, retry, send_message
from migrex.exchange.tables import InboxMessage, OutboxMessage, Receipt
from migrex.web.app import create_app
from migrex.web.officers_app import create_officer_app

message_app = typer.Typer(no_args_is_help=True)
outbox_app = typer.Typer(no_args_is_help=True)
inbox_app = typer.Typer(no_args_is_help=True)


def serve(ctx: typer.Context) -> None:
    """Run the node: the partner-facing HTTPS door (mutual TLS), the outbox relay, the filing
    of received messages, and the officers' API when officer_listen_port is set."""
    node = node_from(ctx)
    runtime = ExchangeRuntime.start_up(node)
    context = runtime.server_context()
    if node.settings.officer_listen_port is not None:
        # A second server in a thread: uvicorn leaves signal handling to the main thread's
        # server, whose exit ends the process.
        officers = uvicorn.Server(
            uvicorn.Config(
                create_officer_app(node),
                host=node.settings.officer_listen_host,
                port=node.settings.officer_listen_port,
                log_level="warning",
                access_log=False,
            )
        )
        threading.Thread(target=officers.run, name="migrex-officers-api", daemon=True).start()
    app = create_app(runtime)
    settle_process()
    uvicorn.run(
        app,
        host=node.settings.listen_host,
        port=node.settings.listen_port,
        ssl_context_factory=lambda _config, _default: context,
        log_level="warning",
        access_log=False,
    )


# A node's threads mostly wait on sockets (the partner, the database) and compute briefly in
# between. CPython passes the interpreter lock to a waiting thread only every switch interval,
# 5 ms by default, so an answer could sit unread behind a thread that is sealing envelopes;
# at 1 ms both nodes kept their CPUs busier (about +15% messages/s in `migrex bench exchange`).
SWITCH_INTERVAL_SECONDS = 0.001


def settle_process() -> None:
    """Interpreter settings for a node process whose start-up is done.

    Also exempts what start-up built (modules, tables, keys, the app) from garbage collection:
    a full collection walks every live object, in a node some hundred thousand, about 90 ms
    during which no request or relay moves, which showed in the p99 of delivery. Objects
    frozen here are never walked again; what requests create is collected as usual.
    """
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    gc.collect()
    gc.freeze()


def relay(
    ctx: typer.Context,
    relay_id: Annotated[str, typer.Option(help="name of this relay in the outbox")] = "relay",
) -> None:
    """Run an outbox relay on its own; several may share a PostgreSQL outbox."""
    node = node_from(ctx)
    runtime = ExchangeRuntime.start_up(node)
    runtime.listen_for_messages()
    settle_process()
    try:
        runtime.new_relay(relay_id).run_forever(
            runtime.stopping, runtime.wake, runtime.relay_poll_seconds()
        )
    except KeyboardInterrupt:
        runtime.stop()


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
