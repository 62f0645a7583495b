"""The `migrex` command: a root app that each feature adds its own sub-app to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from migrex.agreements.cli import app as agreement_app
from migrex.audit.cli import VERIFY_SOURCES
from migrex.audit.cli import app as audit_app
from migrex.bench.cli import app as bench_app
from migrex.casework.cli import app as case_app
from migrex.console import render_error
from migrex.db_cli import app as db_app
from migrex.demo.cli import demo
from migrex.errors import MigrexError
from migrex.exchange.cli import inbox_app, message_app, outbox_app, relay, serve
from migrex.identity.cli import app as identity_app
from migrex.ledger.cli import limits, subject_app
from migrex.officers.cli import app as user_app
from migrex.registry.cli import app as registry_app
from migrex.retention.cli import app as retention_app
from migrex.stats.cli import app as stats_app
from migrex.synth.cli import synth
from migrex.witness import PartnerSources
from migrex.witness import app as witness_app


class _RootGroup(TyperGroup):
    """Turns every MigrexError into a readable message and its exit code."""

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
    # `audit verify` reaches the partners through the witnessing feature, which it cannot import.
    ctx.obj = {"config": config, VERIFY_SOURCES: PartnerSources()}


def _register() -> None:
    # Each feature brings its own sub-app; this is the one place they are mounted.

    app.add_typer(agreement_app, name="agreement", help="Validate and show agreement files.")
    app.add_typer(registry_app, name="registry", help="Import and inspect the node's registries.")
    app.add_typer(db_app, name="db", help="Database schema migrations.")
    app.add_typer(identity_app, name="pki", help="Keys, demo PKI and signed agreement directories.")
    app.add_typer(case_app, name="case", help="Requests and their cases under the agreements.")
    app.add_typer(user_app, name="user", help="Officers, their roles and API tokens.")
    app.add_typer(message_app, name="message", help="Send messages to partner authorities.")
    app.add_typer(outbox_app, name="outbox", help="Outgoing messages and their delivery.")
    app.add_typer(inbox_app, name="inbox", help="Received messages.")
    app.add_typer(subject_app, name="subject", help="What was disclosed about a person.")
    app.add_typer(stats_app, name="stats", help="Statistics releases, in SDMX, compared.")
    app.add_typer(audit_app, name="audit", help="The audit log: verify, prove, checkpoints.")
    app.add_typer(witness_app, name="witness", help="Partners witnessing each other's logs.")
    app.add_typer(retention_app, name="retention", help="Erase received data when it expires.")
    app.command("limits", help="Volume limits: persons requested per partner and period.")(limits)
    app.command("serve", help="Run the node (HTTPS with mutual TLS, relay).")(serve)
    app.command("relay", help="Run an outbox relay on its own.")(relay)
    app.add_typer(bench_app, name="bench", help="Benchmarks that print their figures as JSON.")
    app.command("synth", help="Generate synthetic registries for both states.")(synth)
    app.command("demo", help="Run the main scenario in a fresh workspace.")(demo)


_register()


def main() -> None:
    app()
