"""Nodes' worth of trust (demo PKI, keys, signed directories) for tests.

A pair: KZ and AM under kz-am-2024, without running servers, and a transport that hands a
relay's batch straight to the other node's receiver. A world: the pair plus a third state, KG,
under the hypothetical kz-kg-example agreement, with KZ serving both agreements; in-process
(a switchboard routes each batch to the node behind its endpoint, as the network would) or as
three real processes talking HTTPS with mutual TLS.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import migrated
from migrex.demo.workspace import Workspace
from migrex.envelope import MessageClaims, new_message_id, seal
from migrex.exchange.processes import NodeProcess, free_port
from migrex.exchange.receiver import ReceiverPolicy, receive_batch
from migrex.exchange.relay import Relay
from migrex.exchange.runtime import ExchangeRuntime
from migrex.exchange.transport import TransportError
from migrex.exchange.trust import Trust, load_trust
from migrex.node import Node
from migrex.settings import load_settings

AGREEMENT_FILE = Path(__file__).parents[1] / "agreements" / "kz-am-2024.toml"
KZ_KG_FILE = Path(__file__).parents[1] / "agreements" / "kz-kg-example.toml"


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
    migrated.upgrade(kz.engine)
    pair = Pair(
        kz, am, load_trust(kz.settings, kz.agreements), load_trust(am.settings, am.agreements)
    )
    yield pair
    kz.close()
    am.close()


class DirectTransport:
    """Hands a relay's batch to the receiving node in-process, whatever the endpoint, with the
    policy of the receiver's own door (unless given one); can be told to fail."""

    def __init__(self, receiver: Node, trust: Trust, policy: ReceiverPolicy | None = None) -> None:
        self.receiver = receiver
        self.trust = trust
        self.failing = False
        self.policy = policy or receiver_policy(receiver, trust)

    def post_batch(self, endpoint: str, envelopes: Sequence[str]) -> list[dict[str, Any]]:
        if self.failing:
            raise TransportError("connection refused")
        with self.receiver.unit_of_work() as uow:
            outcomes = receive_batch(
                uow, self.trust, envelopes, policy=self.policy, now=datetime.now(UTC), peer=None
            )
        return [o.as_json() for o in outcomes]

    def close(self) -> None:
        pass


def receiver_policy(node: Node, trust: Trust) -> ReceiverPolicy:
    """The policy the node's own server applies at its door (every agreement it has a
    directory for, each agreement's size and lifetime limits)."""
    return ExchangeRuntime(node, trust).receiver_policy


# The world: which agreement files each state's node serves, and which agreements get a
# signed directory between which states.
WORLD_AGREEMENTS: Mapping[str, Sequence[Path]] = {
    "KZ": (AGREEMENT_FILE, KZ_KG_FILE),
    "AM": (AGREEMENT_FILE,),
    "KG": (KZ_KG_FILE,),
}
WORLD_DIRECTORIES: Mapping[str, tuple[str, ...]] = {
    "kz-am-2024": ("KZ", "AM"),
    "kz-kg-example": ("KZ", "KG"),
}


@dataclass
class World:
    """KZ (kz-am-2024 and kz-kg-example), AM (kz-am-2024) and KG (kz-kg-example) nodes."""

    workspace: Workspace
    nodes: dict[str, Node]
    trusts: dict[str, Trust]
    processes: dict[str, NodeProcess] = field(default_factory=dict)

    @property
    def kz(self) -> Node:
        return self.nodes["KZ"]

    @property
    def am(self) -> Node:
        return self.nodes["AM"]

    @property
    def kg(self) -> Node:
        return self.nodes["KG"]

    def endpoint(self, state: str) -> str:
        settings = self.nodes[state].settings
        return f"https://{settings.listen_host}:{settings.listen_port}"

    def relay(self, state: str) -> set[str]:
        """In-process: relays everything due from `state`'s outbox to the nodes its messages
        are addressed to; returns the states that were posted to (their inboxes are not filed)."""
        switchboard = Switchboard(self)
        relay = Relay("test", self.nodes[state].unit_of_work, self.trusts[state], switchboard)
        while relay.run_once():
            pass
        return switchboard.reached

    def envelope(
        self,
        state: str,
        sender: str,
        recipient: str,
        agreement: str,
        *,
        sealed_under: str | None = None,
        type_: str = "legal-information",
        body: Mapping[str, Any] | None = None,
        case_id: str | None = None,
    ) -> str:
        """An envelope `sender` (hosted by `state`) signs with its own key, sealed to
        `recipient`'s key from the directory of `sealed_under` (default: `agreement`), naming
        `agreement`: how a party of one agreement would post under another one."""
        trust, at = self.trusts[state], datetime.now(UTC)
        claims = MessageClaims(
            sender=sender, recipient=recipient, agreement=agreement,
            message_id=new_message_id(at), type=type_, case_id=case_id, in_reply_to=None,
            issued_at=at, expires_at=at + timedelta(days=1),
        )  # fmt: skip
        return seal(
            claims,
            dict(body or {"subject": "test", "summary": "test"}),
            signing_key=trust.signing_key(sender, at),
            recipient_key=trust.recipient_key(sealed_under or agreement, recipient, at),
        )

    def receive(self, state: str, envelopes: Sequence[str]) -> list[dict[str, Any]]:
        """In-process: `state`'s receiver takes `envelopes` with the policy of its own door."""
        node, trust = self.nodes[state], self.trusts[state]
        with node.unit_of_work() as uow:
            outcomes = receive_batch(
                uow, trust, envelopes, policy=receiver_policy(node, trust),
                now=datetime.now(UTC), peer="test",
            )  # fmt: skip
        return [o.as_json() for o in outcomes]


class Switchboard:
    """Routes a relay's batch to the node behind its endpoint, in-process, as the network
    would; remembers which states it reached."""

    def __init__(self, world: World) -> None:
        self.lines = {
            world.endpoint(state): (state, DirectTransport(node, world.trusts[state]))
            for state, node in world.nodes.items()
        }
        self.reached: set[str] = set()

    def post_batch(self, endpoint: str, envelopes: Sequence[str]) -> list[dict[str, Any]]:
        state, line = self.lines[endpoint.rstrip("/")]
        self.reached.add(state)
        return line.post_batch(endpoint, envelopes)

    def close(self) -> None:
        pass


@contextmanager
def world_nodes(
    root: Path, database_urls: Mapping[str, str] | None = None, *, start: bool = False
) -> Iterator[World]:
    """Three nodes with demo trust and migrated databases (SQLite in each node's folder unless
    `database_urls` names one); with `start`, each also runs as `migrex serve` on loopback."""
    workspace = Workspace(root)
    ports = {state: free_port() for state in WORLD_AGREEMENTS}
    operator_ports = {state: free_port() for state in WORLD_AGREEMENTS}
    workspace.create(
        WORLD_AGREEMENTS, WORLD_DIRECTORIES, ports, database_urls, operator_ports=operator_ports
    )
    nodes = {state: Node(load_settings(workspace.node_config(state))) for state in ports}
    world = World(
        workspace,
        nodes,
        {state: load_trust(node.settings, node.agreements) for state, node in nodes.items()},
    )
    try:
        for node in nodes.values():
            migrated.upgrade(node.engine)
        if start:
            for state, port in ports.items():
                log = workspace.node_dir(state) / "serve.log"
                world.processes[state] = NodeProcess(workspace.node_config(state), port, log)
                world.processes[state].start()
        yield world
    finally:
        for process in world.processes.values():
            process.stop()
        for node in nodes.values():
            node.close()
