"""`migrex security-log`: what the node's doors refused, for whoever runs the node.

Entries hold reasons, sources and sizes, never content, so reading them is administrative,
like `migrex outbox list`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from migrex.console import json_array_option, out, print_json_array
from migrex.context import node_from
from migrex.security.queries import entries

app = typer.Typer(no_args_is_help=True)

_AGO = re.compile(r"(\d{1,6})([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str, now: datetime) -> datetime:
    """`30m`, `24h`, `7d` before `now`, or an ISO 8601 date or time (UTC unless it says)."""
    if match := _AGO.fullmatch(value.strip()):
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{value!r}: give a time ago (30m, 24h, 7d) or an ISO date or time"
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@app.command("list")
def list_entries(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="only refusals since: 30m, 24h, 7d or an ISO date/time")
    ] = None,
    reason: Annotated[
        list[str] | None,
        typer.Option("--reason", "--kind", help="only this reason (repeat for several)"),
    ] = None,
    partner: Annotated[
        str | None, typer.Option(help="only refusals from this address or partner node")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="most recent N")] = 100,
    as_json: Annotated[bool, json_array_option("entry")] = False,
) -> None:
    """Refusals at the node's doors, newest first; identical ones from one source within a
    minute are one entry with their count."""
    now = datetime.now(UTC)
    after = parse_since(since, now) if since else None
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        found = entries(uow.session, since=after, reasons=reason or (), partner=partner,
                        limit=limit)  # fmt: skip
    if as_json:
        print_json_array(entry.as_json() for entry in found)
        return
    table = Table("last", "reason", "count", "source", "detail")
    for entry in found:
        table.add_row(
            entry.last_at.isoformat(timespec="seconds"), entry.reason, str(entry.count),
            entry.peer or "", entry.detail,
        )  # fmt: skip
    out.print(table)
    if not found:
        out.print("no refusals match", style="dim")
