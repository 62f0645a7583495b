"""The `migrex` command: a root app that mounts each feature's commands from `migrex.features`.

A feature's commands are imported only when they run or show their own help, so `migrex
--help` and a command of one feature do not pay for importing every other feature.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from migrex import features
from migrex.console import render_error
from migrex.errors import MigrexError

TRACEBACK_VARIABLE = "MIGREX_TRACEBACK"


def feature_command(command: features.Command) -> TyperGroup | TyperCommand:
    """The command of a feature's entry, named and described as the entry says."""
    target = features.resolve(command.target)
    if command.group:
        group = typer.main.get_group(target)
        group.name, group.help = command.name, command.help
        return group
    single = typer.Typer(add_completion=False)
    single.command(command.name, help=command.help)(target)
    built = typer.main.get_command(single)
    if not isinstance(built, TyperCommand):
        raise TypeError(f"{command.target} is not one command")
    return built


class _RootGroup(TyperGroup):
    """Mounts the features' commands lazily and turns every MigrexError into a readable
    message and its exit code."""

    _listing = False

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.entries = {command.name: command for command in features.commands()}

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.commands, *(name for name in self.entries if name not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in self.entries:
            return super().get_command(ctx, cmd_name)
        entry = self.entries[cmd_name]
        if self._listing:
            # The root help needs only the name and the one line the feature list gives.
            return TyperCommand(entry.name, help=entry.help)
        self.commands[cmd_name] = feature_command(entry)
        return self.commands[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except MigrexError as error:
            render_error(error)
            raise typer.Exit(error.exit_code) from error
        except Exception as error:
            # Typer's own exits, aborts and usage errors (its vendored Click) keep their codes.
            if os.environ.get(TRACEBACK_VARIABLE) or _is_typers(error):
                raise
            if _from_the_database(error):
                # The database went away under a command: one line, never the statement and
                # its parameters, which may hold a name or a document number (G8).
                from migrex.checks import DatabaseUnreachable, first_line  # noqa: PLC0415 - SQLAlchemy only on error

                unreachable = DatabaseUnreachable(
                    f"the database failed during the command ({first_line(error)}): is the "
                    "server up? Nothing was committed beyond what the command reported."
                )
                render_error(unreachable)
                raise typer.Exit(unreachable.exit_code) from None
            # A bug. Its text and its traceback's locals may quote what it failed on (G8): the
            # class only, unless the operator asks for more.
            render_error(MigrexError(
                f"unexpected {type(error).__name__}: a bug in migrex; set {TRACEBACK_VARIABLE}=1 "
                "to see where (the trace may show the data the command was given)"
            ))  # fmt: skip
            raise typer.Exit(MigrexError.exit_code) from None


def _is_typers(error: Exception) -> bool:
    return isinstance(error, (typer.Exit, typer.Abort)) or type(error).__module__.startswith(
        ("typer.", "click.")
    )


def _from_the_database(error: Exception) -> bool:
    # Looked up only when an error arrives: importing SQLAlchemy costs `migrex --help` time.
    exc = sys.modules.get("sqlalchemy.exc")
    return exc is not None and isinstance(error, exc.SQLAlchemyError)


app = typer.Typer(
    cls=_RootGroup,
    help="migrex: a node for intergovernmental migration-cooperation agreements.",
    no_args_is_help=True,
    # Never Rich's tracebacks: they print every frame's local variables (the settings, a
    # request's body), and a traceback may reach a log.
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"migrex {version('migrex')}")
        raise typer.Exit


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", envvar="MIGREX_CONFIG", help="the node's TOML file"),
    ] = None,
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    ctx.obj = {"config": config}


def main() -> None:
    app()
