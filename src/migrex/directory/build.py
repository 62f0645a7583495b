"""Building a directory: each node contributes its half, one party assembles the whole.

A node publishes the public halves of its authorities' keys (expired ones left out, keys
awaiting activation kept in, so partners learn a rotated key before it is used), its endpoint
and its state's TLS trust anchors. The assembled directory is then signed by every party
(`directory.signing`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from migrex.directory.model import (
    Directory,
    DirectoryEntry,
    DirectoryInvalid,
    DirectoryNode,
    PublishedKey,
    check_directory,
)
from migrex.identity.keys import AuthorityKey, KeyStoreError, KeyUse, utc
from migrex.identity.keystore import KeyStore


@dataclass(frozen=True)
class NodeContribution:
    """One node's half of a directory."""

    node: DirectoryNode
    entries: tuple[DirectoryEntry, ...]
    trust_anchors: tuple[str, ...]


def node_contribution(
    *,
    state: str,
    node_id: str,
    authorities: Iterable[str],
    keystore: KeyStore,
    endpoint: str,
    trust_anchor_pems: Sequence[str],
    at: datetime,
) -> NodeContribution:
    """The node's entries: one per hosted authority, with every key not yet expired at `at`.

    Pass the node settings' `state`, `node_id` and `authorities` (only those the agreement
    names), and the PEM of the CA that issued the node's TLS certificate.
    """
    node = DirectoryNode(node_id, state, endpoint)
    entries = []
    for authority_id in authorities:
        keys = [k for k in keystore.all_keys(authority_id) if k.not_after > utc(at)]
        if not keys:
            raise KeyStoreError(f"{authority_id} has no unexpired keys to publish")
        entries.append(
            DirectoryEntry(
                authority_id=authority_id,
                state=state,
                node_id=node_id,
                endpoint=endpoint,
                signing_keys=_published(keys, KeyUse.SIGNING),
                encryption_keys=_published(keys, KeyUse.ENCRYPTION),
            )
        )
    return NodeContribution(node, tuple(entries), tuple(trust_anchor_pems))


def assemble_directory(
    agreement_id: str,
    version: int,
    issued_at: datetime,
    contributions: Iterable[NodeContribution],
) -> Directory:
    """The whole directory, in a stable order so both parties produce the same bytes.

    Raises DirectoryInvalid when the halves clash (one node or authority twice) or the
    result is inconsistent.
    """
    nodes: dict[str, DirectoryNode] = {}
    entries: dict[str, DirectoryEntry] = {}
    anchors: dict[str, list[str]] = {}
    for contribution in contributions:
        node = contribution.node
        if node.node_id in nodes:
            raise DirectoryInvalid(f"node {node.node_id} contributes twice")
        nodes[node.node_id] = node
        for entry in contribution.entries:
            if entry.authority_id in entries:
                raise DirectoryInvalid(f"authority {entry.authority_id} is listed by two nodes")
            entries[entry.authority_id] = entry
        state_anchors = anchors.setdefault(node.state, [])
        state_anchors.extend(p for p in contribution.trust_anchors if p not in state_anchors)
    return check_directory(
        Directory(
            agreement_id=agreement_id,
            version=version,
            issued_at=utc(issued_at),
            entries=tuple(sorted(entries.values(), key=lambda e: (e.state, e.authority_id))),
            trust_anchors={state: tuple(anchors[state]) for state in sorted(anchors)},
            nodes={node_id: nodes[node_id] for node_id in sorted(nodes)},
        )
    )


def next_version(current: Directory | None) -> int:
    """The version a re-issued directory takes (1 for the first)."""
    return 1 if current is None else current.version + 1


def _published(keys: Iterable[AuthorityKey], use: KeyUse) -> tuple[PublishedKey, ...]:
    return tuple(
        PublishedKey(k.kid, k.public_jwk(), k.not_before, k.not_after)
        for k in sorted(keys, key=lambda k: (k.not_before, k.kid))
        if k.use is use
    )
