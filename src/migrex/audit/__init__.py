"""The audit log: an RFC 9162 Merkle tree over every disclosure, with signed checkpoints.

What is exported here is pure (no database, no network): tree hashing over a node store,
inclusion and consistency proofs and their verification, checkpoints as C2SP signed notes with
witness cosignatures, split-view detection, and the canonical leaf record. The log in the
database is `audit.log` (append, prove, checkpoint, verify); what the node holds of its
partners' logs is `audit.partner_logs`. Carrying checkpoints to partners through the exchange
is the `migrex.witness` feature, above this one.
"""

from __future__ import annotations

from migrex.audit.checkpoint import (
    Checkpoint,
    NoteRejected,
    OpenedNote,
    add_cosignature,
    ed25519_private_key,
    ed25519_public_key,
    format_checkpoint,
    key_id,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    sign_note,
    verifier_key,
)
from migrex.audit.leaves import AuditLeaf, LeafInvalid, LeafKind, subject_hash
from migrex.audit.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    AuditError,
    MemoryNodeStore,
    NodeStore,
    append,
    leaf_hash,
    node_hash,
    root,
    root_at,
)
from migrex.audit.proofs import (
    SplitView,
    check_consistent_views,
    consistency_proof,
    consistency_ranges,
    inclusion_proof,
    inclusion_ranges,
    verify_consistency,
    verify_inclusion,
    witness_checkpoint,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "AuditError",
    "AuditLeaf",
    "Checkpoint",
    "LeafInvalid",
    "LeafKind",
    "MemoryNodeStore",
    "NodeStore",
    "NoteRejected",
    "OpenedNote",
    "SplitView",
    "add_cosignature",
    "append",
    "check_consistent_views",
    "consistency_proof",
    "consistency_ranges",
    "ed25519_private_key",
    "ed25519_public_key",
    "format_checkpoint",
    "inclusion_proof",
    "inclusion_ranges",
    "key_id",
    "leaf_hash",
    "node_hash",
    "open_note",
    "parse_checkpoint",
    "parse_verifier_key",
    "root",
    "root_at",
    "sign_note",
    "subject_hash",
    "verifier_key",
    "verify_consistency",
    "verify_inclusion",
    "witness_checkpoint",
]
