"""Who takes part in witnessing: this node's log signer, its partners' witnesses, and the
keys both sides check each other with (from the signed directories)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from joserfc.jwk import OKPKey

from migrex.agreements import Agreement
from migrex.audit.origins import log_origin
from migrex.exchange.trust import Trust
from migrex.identity import FileKeyStore
from migrex.node import Node


@dataclass(frozen=True)
class LogSigner:
    """Who signs this node's log: one hosted authority's signing key, under the log's origin."""

    authority: str
    origin: str
    key: OKPKey  # private

    @property
    def kid(self) -> str:
        return str(self.key.kid)


KeyResolver = Callable[[str, str, datetime], OKPKey | None]
OwnKey = Callable[[str, datetime], OKPKey]


@dataclass(frozen=True)
class WitnessingNode:
    """What both sides need: the node's agreements and authorities, its log's signer, the
    partners' public signing keys (from the signed directories) and our private ones.

    `idle_interval`: how long a log whose only growth is the witnessing's own messages waits
    before it is sent to witness again (that traffic would otherwise never let it rest).
    """

    agreements: Mapping[str, Agreement]
    hosted: Sequence[str]
    own_state: str
    signer: LogSigner
    resolve: KeyResolver
    own: OwnKey
    idle_interval: float = field(default=300.0)


def witnesses_of(agreements: Mapping[str, Agreement], own_state: str) -> list[tuple[str, str]]:
    """(agreement, authority) per partner state: the first of the state's authorities that an
    agreement with it names. One witness per partner node is enough to detect a split view."""
    chosen: dict[str, tuple[str, str]] = {}
    for agreement in agreements.values():
        for state in sorted(agreement.partner_states(own_state)):
            first = agreement.authorities_of(state)[0]
            chosen.setdefault(state, (agreement.id, first.id))
    return [chosen[state] for state in sorted(chosen)]


def witnessing_node(node: Node, trust: Trust) -> WitnessingNode:
    """The node's witnessing setup: its log signed by its first authority's current key."""
    settings = node.settings
    authority = settings.authorities[0]
    signing = FileKeyStore(settings.resolved_key_dir).current_signing(authority)
    signer = LogSigner(authority, log_origin(settings.state, settings.node_id), signing.key)
    # Only agreements with a signed directory have partner nodes to reach, and only those
    # where the node hosts a competent authority: a linkage unit's node signs its log's
    # checkpoints but has no partner to witness them, since no message can come from it.
    hosted = set(settings.authorities)
    reachable = {k: a for k, a in node.agreements.items()
                 if k in trust.directories and hosted & set(a.authorities)}  # fmt: skip
    return WitnessingNode(reachable, settings.authorities, settings.state, signer,
                          trust.resolve_signing_key, trust.signing_key,
                          settings.witness_idle_interval_seconds)  # fmt: skip
