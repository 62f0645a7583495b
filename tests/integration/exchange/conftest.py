"""Two nodes' worth of trust (demo PKI, keys, signed directory) without running servers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from migrex import migrate
from migrex.demo.workspace import Workspace
from migrex.exchange.processes import free_port
from migrex.exchange.trust import Trust, load_trust
from migrex.node import Node
from migrex.settings import load_settings

AGREEMENT_FILE = Path(__file__).parents[3] / "agreements" / "kz-am-2024.toml"


@dataclass
class Pair:
    kz: Node
    am: Node
    kz_trust: Trust
    am_trust: Trust


@pytest.fixture
def pair(tmp_path: Path, database_url: str) -> Iterator[Pair]:
    """KZ on its own SQLite file, AM (the receiver under test) on the parametrised database."""
    workspace = Workspace(tmp_path / "ws")
    workspace.create(
        {"KZ": [AGREEMENT_FILE], "AM": [AGREEMENT_FILE]},
        {"kz-am-2024": ("KZ", "AM")},
        {"KZ": free_port(), "AM": free_port()},
        {"AM": database_url},
    )
    kz = Node(load_settings(workspace.node_config("KZ")))
    am = Node(load_settings(workspace.node_config("AM")))
    migrate.upgrade(kz.engine)
    pair = Pair(
        kz, am, load_trust(kz.settings, kz.agreements), load_trust(am.settings, am.agreements)
    )
    yield pair
    kz.close()
    am.close()
