"""How a command finds its node: the --config file from the root command, or the environment."""

from __future__ import annotations

from pathlib import Path

import typer

from migrex.logs import configure_for
from migrex.node import Node
from migrex.settings import load_settings


def node_from(ctx: typer.Context) -> Node:
    """The node of the command's --config, its logs set up as its settings say; its
    connections close when the command ends."""
    config: Path | None = (ctx.find_root().obj or {}).get("config")
    node = Node(load_settings(config))
    configure_for(node.settings)
    ctx.call_on_close(node.close)
    return node
