"""Who runs a command: a named officer for casework and disclosures, the host's administrator
for running the node.

Commands that read or change cases, registry-derived personal data, the ledger or disclosures
act as an officer, exactly as the API does: the officer's token (`--token`, or better the
`MIGREX_TOKEN` environment variable, which no process listing shows) is authenticated and the
action checked against the one permission table (`officers.model.require`) in the unit of work
the use case runs in, and the use case records `officer.actor`. Administration commands (the
schema, keys, registries, officers, retention, the server) need no officer: whoever can run
them on the node's host operates the node, and they are recorded under the host's user name.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Annotated

import typer

from migrex.officers.model import (
    Action,
    NotAuthenticated,
    Officer,
    require,
)
from migrex.officers.service import authenticate_password, authenticate_token
from migrex.uow import UnitOfWork

TOKEN_VARIABLE = "MIGREX_TOKEN"  # noqa: S105 - the variable's name, not a token

Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar=TOKEN_VARIABLE,
        show_default=False,
        help=f"the officer's API token (better: set {TOKEN_VARIABLE}, which `ps` does not show)",
    ),
]


def administrator() -> str:
    """The actor of an administration command: the host's user, as the OS names them."""
    return f"cli:{getpass.getuser()}"


def signed_in(uow: UnitOfWork, token: str | None, now: datetime | None = None) -> Officer:
    """The active officer holding `token`; NotAuthenticated without one or for a bad one."""
    if not token:
        raise NotAuthenticated(
            f"this command acts as an officer: give --token or set {TOKEN_VARIABLE}"
        )
    return authenticate_token(uow, token.strip(), now or datetime.now(UTC))


def acting(uow: UnitOfWork, token: str | None, action: Action, authority: str | None) -> Officer:
    """The officer holding `token`, once `action` is allowed for `authority` (None for a
    node-wide action); NotAuthenticated or NotAuthorised otherwise."""
    officer = signed_in(uow, token)
    require(officer, action, authority)
    return officer


def fresh_sign_in(uow: UnitOfWork, officer: Officer, password: str) -> Officer:
    """The officer again, once their password checks now (a second officer's approval)."""
    return authenticate_password(uow, officer.username, password, datetime.now(UTC))
