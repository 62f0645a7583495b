"""`migrex retention`: what is due for erasure, and the run that erases it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from migrex.console import json_array_option, out, print_json_array
from migrex.context import node_from
from migrex.retention.queries import kept_records
from migrex.retention.run import run_retention

app = typer.Typer(no_args_is_help=True)


def _moment(at: str | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise typer.BadParameter(
            "--at is an ISO 8601 time, e.g. 2026-11-25T12:00:00+00:00"
        ) from None
    if moment.utcoffset() is None:
        raise typer.BadParameter("--at needs a time zone, e.g. +00:00")
    return moment


@app.command("run")
def run_command(
    ctx: typer.Context,
    at: Annotated[
        str | None, typer.Option(help="erase as of this time (default: now), e.g. for a test")
    ] = None,
) -> None:
    """Destroy the keys of received personal data whose retention period has ended."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        erased = run_retention(uow, _moment(at))
    out.print(f"{len(erased)} records erased (their keys destroyed; the erasures are logged)")
    for item in erased:
        kept = f"kept since {item.sealed_at:%Y-%m-%d}, due {item.expires_at:%Y-%m-%d}"
        out.print(f"  {item.record} ({item.agreement_id}, {item.our_authority}), {kept}")


@app.command("list")
def list_command(
    ctx: typer.Context,
    erased: Annotated[bool, typer.Option(help="show erased records instead")] = False,
    as_json: Annotated[bool, json_array_option("sealed record")] = False,
) -> None:
    """Sealed records and when each will be erased (or was)."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        rows = kept_records(uow, erased=erased)
    if as_json:
        print_json_array(
            {"record": row.record, "agreement_id": row.agreement_id,
             "our_authority": row.our_authority, "sealed_at": row.sealed_at,
             "expires_at": row.expires_at, "erased_at": row.erased_at}
            for row in rows
        )  # fmt: skip
        return
    table = Table("record", "agreement", "authority", "sealed", "erased" if erased else "due")
    for row in rows:
        when = row.erased_at if erased else row.expires_at
        table.add_row(row.record, row.agreement_id, row.our_authority,
                      f"{row.sealed_at:%Y-%m-%d}", f"{when:%Y-%m-%d}")  # fmt: skip
    out.print(table)
