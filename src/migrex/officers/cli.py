"""`migrex user`: add officers, issue and revoke their API tokens, list them."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from migrex.console import err, json_array_option, out, print_json_array
from migrex.context import node_from
from migrex.officers.cli_identity import administrator
from migrex.officers.model import Grant, Role
from migrex.officers.service import (
    add_officer,
    disable_officer,
    issue_token,
    list_officers,
    list_tokens,
    revoke_token,
    set_password,
)

app = typer.Typer(no_args_is_help=True)


def parse_grant(value: str) -> Grant:
    """ROLE@AUTHORITY, e.g. reviewer@kz-mia."""
    role, at, authority = value.partition("@")
    if not at or not authority:
        raise typer.BadParameter(f"{value!r}: write ROLE@AUTHORITY, e.g. reviewer@kz-mia")
    try:
        return Grant(Role(role), authority)
    except ValueError:
        raise typer.BadParameter(f"{role!r}: roles are {', '.join(Role)}") from None


@app.command()
def add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="login name: lowercase letters, digits, . _ -")],
    name: Annotated[str, typer.Option("--name", help="the officer's full name")],
    roles: Annotated[
        list[Grant],
        typer.Option("--role", parser=parse_grant, help="ROLE@AUTHORITY; repeat for several roles"),
    ],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read a password from the first stdin line")
    ] = False,
) -> None:
    """Add an officer. Without --password-stdin the officer signs in with API tokens only."""
    node = node_from(ctx)
    # Only the line break is cut: spaces at either end may be part of the password.
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with node.unit_of_work() as uow:
        officer = add_officer(
            uow,
            username=username,
            display_name=name,
            roles=[(grant.role, grant.authority) for grant in roles],
            password=password,
            actor=administrator(),
            hosted_authorities=node.settings.authorities,
        )
    grants = ", ".join(str(grant) for grant in sorted(officer.grants))
    out.print(f"added officer [bold]{officer.username}[/] (id {officer.id}): {grants}")


@app.command()
def token(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="the officer who will hold the token")],
    name: Annotated[str, typer.Option("--name", help="what the token is for, e.g. laptop")],
    days: Annotated[int, typer.Option("--days", min=1, help="days until it expires")] = 90,
) -> None:
    """Issue an API token. It is printed once, alone on stdout; only its hash is kept."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        issued = issue_token(
            uow, username=username, name=name, ttl=timedelta(days=days), actor=administrator()
        )
    expires = f"{issued.expires_at:%Y-%m-%d %H:%M} UTC"
    err.print(f"token {issued.token_id} for {username}, expires {expires}; store it now:")
    # Plain echo, not Rich: the token must come out byte for byte, never wrapped or styled.
    typer.echo(issued.token)


@app.command()
def revoke(
    ctx: typer.Context,
    token_id: Annotated[int, typer.Argument(help="the token's id, as `token` or `tokens` show")],
) -> None:
    """Revoke an API token at once."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        info = revoke_token(uow, token_id=token_id, actor=administrator())
    out.print(f"token {info.id} ({info.name}) of {info.username} is revoked")


@app.command()
def disable(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="the officer to disable")],
) -> None:
    """Disable an officer: their tokens and sessions stop working at once."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officer = disable_officer(uow, username=username, actor=administrator())
    out.print(f"officer [bold]{officer.username}[/] is disabled")


@app.command("set-password")
def set_password_command(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="the officer whose password is (re)set")],
) -> None:
    """Set or reset an officer's password, read from the first line of standard input."""
    node = node_from(ctx)
    password = sys.stdin.readline().rstrip("\r\n")
    with node.unit_of_work() as uow:
        officer = set_password(uow, username=username, password=password, actor=administrator())
    out.print(f"the password of [bold]{officer.username}[/] is set")


@app.command("list")
def list_command(
    ctx: typer.Context,
    as_json: Annotated[bool, json_array_option("officer")] = False,
) -> None:
    """List the node's officers and their roles."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        officers = list_officers(uow)
    if as_json:
        # The shape of the officers' API (`officers.api.OfficerOut`), without importing FastAPI.
        print_json_array(
            {"id": officer.id, "username": officer.username,
             "display_name": officer.display_name, "active": officer.active,
             "roles": [{"role": grant.role, "authority": grant.authority}
                       for grant in sorted(officer.grants)]}
            for officer in officers
        )  # fmt: skip
        return
    table = Table("id", "username", "name", "roles", "active", title="officers")
    for officer in officers:
        grants = ", ".join(str(grant) for grant in sorted(officer.grants))
        table.add_row(
            str(officer.id),
            officer.username,
            officer.display_name,
            grants,
            "yes" if officer.active else "no",
        )
    out.print(table)


@app.command()
def tokens(
    ctx: typer.Context,
    username: Annotated[str | None, typer.Argument(help="only this officer's tokens")] = None,
    as_json: Annotated[bool, json_array_option("token")] = False,
) -> None:
    """List API tokens (never their secrets), newest first."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        found = list_tokens(uow, username)
    if as_json:
        print_json_array(
            {"id": info.id, "username": info.username, "name": info.name, "prefix": info.prefix,
             "expires_at": info.expires_at, "last_used_at": info.last_used_at,
             "revoked_at": info.revoked_at}
            for info in found
        )  # fmt: skip
        return
    table = Table("id", "officer", "name", "prefix", "expires", "last used", "revoked")
    for info in found:
        table.add_row(
            str(info.id),
            info.username,
            info.name,
            info.prefix,
            f"{info.expires_at:%Y-%m-%d}",
            f"{info.last_used_at:%Y-%m-%d %H:%M}" if info.last_used_at else "never",
            f"{info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "",
        )
    out.print(table)
