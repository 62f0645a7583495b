"""The keys this node's log signs with: the current signing key of the node's first hosted
authority, under a key name equal to the log's origin (as C2SP logs usually do). Every
earlier signing key of that authority stays a verifier, so checkpoints signed before a key
rotation still verify."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from migrex.audit.checkpoint import ed25519_private_key, ed25519_public_key, verifier_key
from migrex.audit.origins import log_origin
from migrex.identity import FileKeyStore, KeyUse
from migrex.node import Node


@dataclass(frozen=True)
class LogKeys:
    """The key the log signs with now, and every key it may have signed with."""

    origin: str
    private_key: Ed25519PrivateKey
    verifiers: list[tuple[str, Ed25519PublicKey]]

    @property
    def verifier_key(self) -> str:
        """The published form of the current key, for anyone checking a proof."""
        return verifier_key(self.origin, self.private_key.public_key())


def log_keys(node: Node) -> LogKeys:
    authority = node.settings.authorities[0]
    store = FileKeyStore(node.settings.resolved_key_dir)
    signing = [key for key in store.all_keys(authority) if key.use is KeyUse.SIGNING]
    origin = log_origin(node.settings.state, node.settings.node_id)
    return LogKeys(
        origin,
        ed25519_private_key(store.current_signing(authority).key),
        [(origin, ed25519_public_key(key.key)) for key in signing],
    )
