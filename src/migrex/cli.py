"""The `migrex` command: a root app that mounts each feature's commands from `migrex.features`.

A feature's commands are imported only when they run or show their own help, so `migrex
--help` and a command of one feature do not pay for importing every other feature.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from migrex import features
from migrex.console import render_error
from migrex.errors import MigrexError


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


app = typer.Typer(
    cls=_RootGroup,
    help="migrex: a node for intergovernmental migration-cooperation agreements.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", envvar="MIGREX_CONFIG", help="the node's TOML file"),
    ] = None,
) -> None:
    ctx.obj = {"config": config}


def main() -> None:
    app()
