"""Two real nodes (KZ and AM) on loopback, each in its own process, for benchmarks and tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from migrex import migrate
from migrex.demo.workspace import Workspace
from migrex.exchange.processes import NodeProcess, free_port
from migrex.node import Node
from migrex.settings import load_settings

STATES = ("KZ", "AM")
AGREEMENT = "kz-am-2024"


@dataclass
class TwoNodes:
    workspace: Workspace
    nodes: dict[str, Node]
    processes: dict[str, NodeProcess]

    def restart(self, state: str) -> None:
        self.processes[state].start()


@contextmanager
def postgres_databases(admin_url: str, count: int) -> Iterator[list[str]]:
    """Fresh PostgreSQL databases, dropped afterwards."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    names = [f"migrex_bench_{uuid.uuid4().hex[:10]}" for _ in range(count)]
    with admin.connect() as connection:
        for name in names:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(admin_url)
    try:
        yield [url.set(database=n).render_as_string(hide_password=False) for n in names]
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# What the node processes call themselves to a PostgreSQL server (libpq reads it from the
# environment), so that their backends can be told from those of the process that runs them.
NODE_APPLICATION = "migrex-bench-node"


@contextmanager
def two_nodes(
    root: Path,
    agreement_file: Path,
    database_urls: dict[str, str] | None = None,
    *,
    start: bool = True,
) -> Iterator[TwoNodes]:
    """A KZ and an AM node with demo trust, migrated databases, and (if `start`) running."""
    workspace = Workspace(root)
    ports = {state: free_port() for state in STATES}
    workspace.create(
        {state: [agreement_file] for state in STATES},
        {AGREEMENT: STATES},
        ports,
        database_urls,
        operator_ports={state: free_port() for state in STATES},
    )
    nodes = {state: Node(load_settings(workspace.node_config(state))) for state in STATES}
    for node in nodes.values():
        migrate.upgrade(node.engine)
    processes = {
        state: NodeProcess(
            workspace.node_config(state),
            ports[state],
            workspace.node_dir(state) / "serve.log",
            env={"PGAPPNAME": NODE_APPLICATION},
        )
        for state in STATES
    }
    try:
        if start:
            for process in processes.values():
                process.start()
        yield TwoNodes(workspace, nodes, processes)
    finally:
        for process in processes.values():
            process.stop()
        for node in nodes.values():
            node.close()
