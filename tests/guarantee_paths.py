"""The paths of the guarantee matrix, enumerated from the code: every route of the officers'
API and of the partners' door (from the FastAPI apps), every command of `migrex` (walking the
Click tree, lazily loaded groups included), every message kind (`casework.kinds.KINDS`) and
every background job (`features.jobs`). Nothing here is listed by hand."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import typer
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Route

from migrex import features
from migrex.casework.kinds import KINDS
from migrex.cli import app


class Guarantee(StrEnum):
    G1 = "G1 agreement"
    G2 = "G2 minimisation"
    G3 = "G3 no onward transfer"
    G4 = "G4 ledger"
    G5 = "G5 audit"
    G6 = "G6 volume"
    G7 = "G7 erasure"
    G8 = "G8 no personal data in logs"
    G9 = "G9 delivery"
    G10 = "G10 bad input"
    G11 = "G11 identity"
    G12 = "G12 statistics"

    @property
    def id(self) -> str:
        return self.value.split()[0]


def routes(app: FastAPI) -> list[str]:
    """Every "METHOD /path" the app answers, its documentation pages included.

    The API routes come from the app's OpenAPI description, which FastAPI builds from every
    included router; a route hidden from it (`include_in_schema=False`) would escape, so the
    routers are walked too and such a route fails here."""
    found = {
        f"{method.upper()} {path}"
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    for route in app.routes:
        if isinstance(route, Route):  # the app's own pages: /docs, /openapi.json, ...
            found |= {f"{m} {route.path}" for m in route.methods or () if m != "HEAD"}
    _no_hidden_routes(app.routes)
    return sorted(found)


def _no_hidden_routes(routes: list[Any]) -> None:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's lazily included router
        if included is not None:
            _no_hidden_routes(included.routes)
        elif isinstance(route, APIRoute):
            assert route.include_in_schema, f"{route.path} is hidden from the API description"


def commands() -> dict[str, Any]:
    """Every runnable `migrex` command by its full name ("migrex case open"), groups opened."""
    root = typer.main.get_command(app)
    found: dict[str, Any] = {}

    # Typer carries its own copy of Click: groups are told apart by what they do.
    def walk(command: Any, name: str, parent: typer.Context | None) -> None:
        ctx = typer.Context(command, info_name=name.rsplit(maxsplit=1)[-1], parent=parent)
        if hasattr(command, "list_commands"):
            if getattr(command, "invoke_without_command", False) and parent is not None:
                found[name] = command  # a group that also runs on its own (`migrex backup`)
            for sub in command.list_commands(ctx):
                child = command.get_command(ctx, sub)
                assert child is not None, f"{name} {sub} is listed but does not load"
                walk(child, f"{name} {sub}", ctx)
        else:
            found[name] = command

    walk(root, "migrex", None)
    return found


def kinds() -> list[str]:
    """Casework's kinds, and the kinds of no case that features file themselves."""
    return sorted({*KINDS, *features.set_aside()})


def jobs() -> list[str]:
    return [target for feature in features.FEATURES for target in feature.jobs]
