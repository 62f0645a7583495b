"""How a command finds its node: the --config file from the root command, or the environment."""

from __future__ import annotations

from pathlib import Path

import typer

from migrex.checks import DatabaseNeed, NodeFilesMissing, check_data_dir, check_database
from migrex.logs import configure_for
from migrex.node import Node
from migrex.settings import load_settings


def node_from(ctx: typer.Context, *, database: DatabaseNeed = "current") -> Node:
    """The node of the command's --config, checked before any command works on it: its folder
    exists, its agreements load and know the authorities it hosts, and its database is there
    and at the current migration (`database="exists"`: only there, as `migrex db upgrade`
    needs it; `"new"`: not checked, for `migrex db create`). Its logs are set up as its
    settings say; its connections close when the command ends."""
    config: Path | None = (ctx.find_root().obj or {}).get("config")
    node = open_node(config, database=database)
    ctx.call_on_close(node.close)
    return node


def open_node(config: Path | None, *, database: DatabaseNeed = "current") -> Node:
    """The node of `config`, checked as `node_from` says."""
    node = Node(load_settings(config))
    if database != "new":
        try:
            check_data_dir(node.settings)
        except NodeFilesMissing:
            if config is not None:
                raise
            # The likelier mistake then: the node's file was never named.
            raise NodeFilesMissing(
                "no node configuration given: name it with --config FILE (or MIGREX_CONFIG); "
                f"without one, data_dir is {node.settings.data_dir}, which does not exist"
            ) from None
    configure_for(node.settings)
    _ = node.agreements  # loads and checks them now, not at the first use
    check_database(node.settings, database)
    return node
