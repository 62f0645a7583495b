"""`migrex backup [keygen]` and `migrex restore`: what they print names the node, counts and
hashes, never a row's content."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from migrex.backup.encryption import write_key_pair
from migrex.backup.service import create_backup, restore_backup
from migrex.console import out
from migrex.context import node_from
from migrex.officers.cli_identity import administrator
from migrex.settings import load_settings

app = typer.Typer()


def _config(ctx: typer.Context) -> Path | None:
    config: Path | None = (ctx.find_root().obj or {}).get("config")
    return config


@app.callback(invoke_without_command=True)
def backup(
    ctx: typer.Context,
    to: Annotated[Path | None, typer.Option("--to", help="the backup file to write")] = None,
    recipient: Annotated[
        Path | None,
        typer.Option(help="the operator's public key (PEM) the backup is encrypted to"),
    ] = None,
) -> None:
    """Back up the node (database snapshot, every key, configuration), encrypted to an
    operator key made with `migrex backup keygen`."""
    if ctx.invoked_subcommand is not None:
        return
    if to is None or recipient is None:
        raise typer.BadParameter("give --to FILE and --recipient OPERATOR_KEY.pub")
    node = node_from(ctx)
    now = datetime.now(UTC)
    manifest, size = create_backup(node, _config(ctx), to, recipient, actor=administrator(),
                                   now=now)  # fmt: skip
    out.print(f"backup written to {to} ({size} bytes): {manifest.summary()}", highlight=False)


@app.command("keygen")
def keygen(
    out_path: Annotated[
        Path, typer.Option("--out", help="where to write the private key; .pub beside it")
    ],
) -> None:
    """Make an operator key pair: back up to the public key, keep the private one offline."""
    public_path, _ = write_key_pair(out_path)
    out.print(
        f"operator key written: private {out_path} (keep it offline), public {public_path} "
        "(give it to `migrex backup --recipient`)",
        highlight=False,
    )


def restore(
    ctx: typer.Context,
    source: Annotated[Path, typer.Option("--from", help="the backup file")],
    identity: Annotated[Path, typer.Option(help="the operator's private key (PEM)")],
    force: Annotated[
        bool, typer.Option("--force", help="replace a node's database and keys that hold data")
    ] = False,
) -> None:
    """Restore a backup into this configuration's (empty) database and key folder, after
    checking it whole, and write the node's configuration at data_dir/restored-config; the
    node declares the recovery of its audit log to its partners' witnesses when it next runs
    (or `migrex witness declare-recovery`)."""
    settings = load_settings(_config(ctx))
    restored = restore_backup(settings, source, identity, force=force, actor=administrator(),
                              now=datetime.now(UTC))  # fmt: skip
    out.print(f"restored {restored.manifest.summary()}", highlight=False)
    if restored.set_aside is not None:
        out.print(f"the key folder that was there is now {restored.set_aside}", highlight=False)
    if restored.node_file is not None:
        out.print(f"the node's configuration, at its restored files: {restored.node_file} "
                  f"(run the node with `migrex --config {restored.node_file} serve`)",
                  highlight=False)  # fmt: skip
    else:
        out.print(f"configuration files of the backup are in {restored.config_dir} for review",
                  highlight=False)  # fmt: skip
    out.print("the audit log was rolled back to the backup: the node declares the recovery to "
              "its partners' witnesses when it starts (`migrex witness status` shows it)",
              highlight=False)  # fmt: skip
