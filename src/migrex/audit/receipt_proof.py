"""The inclusion proof a receipt carries: the receiver logged the envelope, at this place.

The receiver puts its log entry for the envelope (the leaf's canonical bytes), the entry's
index, the tree size and root after the append, and the RFC 9162 inclusion proof into the
signed receipt. The sender checks that the entry names its message and envelope hash and that
the proof leads to the root, so it holds the receiver's signed word that the envelope is in
the receiver's log; a later cosigned checkpoint of that log must be consistent with the root.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from migrex.audit.leaves import AuditLeaf, LeafInvalid, LeafKind
from migrex.audit.merkle import AuditError, leaf_hash
from migrex.audit.proofs import verify_inclusion

CLAIM = "log"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def proof_claims(
    leaf: bytes, *, index: int, size: int, root: bytes, proof: Sequence[bytes]
) -> dict[str, Any]:
    """The receipt's `log` claim."""
    return {
        "leaf": _b64(leaf), "index": index, "size": size, "root": _b64(root),
        "proof": [_b64(node) for node in proof],
    }  # fmt: skip


class LoggedAt(NamedTuple):
    """Where the receiver logged our envelope: its entry's position, and the size and root
    of the receiver's log just after (a head of that log, signed by the receiver)."""

    position: int
    size: int
    root_hash: bytes


def verify_proof_claims(
    claims: Mapping[str, Any], *, message_id: str, envelope_sha256: str
) -> LoggedAt:
    """Where the receiver logged our envelope; AuditError unless the claim is well formed,
    names this message and envelope, and proves inclusion in its root."""
    try:
        leaf_bytes = base64.b64decode(claims["leaf"], validate=True)
        index, size = int(claims["index"]), int(claims["size"])
        root = base64.b64decode(claims["root"], validate=True)
        proof = [base64.b64decode(node, validate=True) for node in claims["proof"]]
        leaf = AuditLeaf.decode(leaf_bytes)
    except (KeyError, TypeError, ValueError, LeafInvalid) as error:
        raise AuditError(f"the receipt's log proof is malformed: {error}") from error
    if leaf.kind is not LeafKind.MESSAGE_RECEIVED or (leaf.message_id, leaf.envelope_sha256) != (
        message_id, envelope_sha256,
    ):  # fmt: skip
        raise AuditError("the receipt's log entry is not the receipt of this envelope")
    if not verify_inclusion(leaf_hash(leaf_bytes), index, size, proof, root):
        raise AuditError("the receipt's inclusion proof does not lead to its root")
    return LoggedAt(index, size, root)
