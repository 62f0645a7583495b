"""Two nodes' worth of trust (demo PKI, keys, signed directory) without running servers,
and a transport that hands a relay's batch straight to the other node's receiver."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from migrex import migrate
from migrex.demo.workspace import Workspace
from migrex.exchange.processes import free_port
from migrex.exchange.receiver import receive_batch
from migrex.exchange.runtime import receiver_policy
from migrex.exchange.transport import TransportError
from migrex.exchange.trust import Trust, load_trust
from migrex.node import Node
from migrex.settings import load_settings

AGREEMENT_FILE = Path(__file__).parents[1] / "agreements" / "kz-am-2024.toml"


@dataclass
class Pair:
    kz: Node
    am: Node
    kz_trust: Trust
    am_trust: Trust


def make_pair(tmp_path: Path, database_url: str) -> Iterator[Pair]:
    """KZ on its own SQLite file, AM on `database_url`; closed when the generator ends."""
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


class DirectTransport:
    """Hands a relay's batch to the receiving node in-process; can be told to fail."""

    def __init__(self, receiver: Node, trust: Trust) -> None:
        self.receiver = receiver
        self.trust = trust
        self.failing = False

    def post_batch(self, endpoint: str, envelopes: Sequence[str]) -> list[dict[str, Any]]:
        if self.failing:
            raise TransportError("connection refused")
        policy = receiver_policy(self.receiver, frozenset(self.trust.directories))
        with self.receiver.unit_of_work() as uow:
            outcomes = receive_batch(
                uow, self.trust, envelopes, policy=policy, now=datetime.now(UTC), peer=None
            )
        return [o.as_json() for o in outcomes]

    def close(self) -> None:
        pass
