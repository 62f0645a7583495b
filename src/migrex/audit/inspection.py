"""What an auditor asks of the node's audit log, for the command line and the console alike:
its state (size, root, latest checkpoint, who cosigned it, how far the witnesses lag), a full
verification with its findings, and the proof of every entry about one message.

Audit leaves hold hashes and references, never personal data, so nothing here is ledgered.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from migrex.audit import log as audit_log
from migrex.audit.cosigners import CosignerKeys
from migrex.audit.heads_held import HeldHead
from migrex.audit.leaves import AuditLeaf, LeafKind
from migrex.audit.log_keys import LogKeys
from migrex.audit.merkle import leaf_hash
from migrex.audit.tables import AuditLeafRow
from migrex.audit.verification import VerifyReport
from migrex.errors import NotFound


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


@dataclass(frozen=True)
class Cosigned:
    witness: str
    size: int
    received_at: datetime


@dataclass(frozen=True)
class LogStatus:
    size: int
    root: str
    checkpoint_size: int | None
    checkpoint_signed_at: datetime | None
    cosignatures: tuple[Cosigned, ...]

    @property
    def unwitnessed(self) -> int | None:
        """Leaves appended since the newest size any witness cosigned (None: never cosigned)."""
        if not self.cosignatures:
            return None
        return self.size - max(c.size for c in self.cosignatures)


def log_status(session: Session) -> LogStatus:
    size, root = audit_log.tree_size(session), audit_log.current_root(session)
    signed = audit_log.latest_checkpoint(session)
    if signed is None:
        return LogStatus(size, b64(root), None, None, ())
    rows = audit_log.cosignatures_of(session, signed.checkpoint.size)
    return LogStatus(
        size, b64(root), signed.checkpoint.size, signed.created_at,
        tuple(Cosigned(r.witness, r.size, r.received_at) for r in rows),
    )  # fmt: skip


@dataclass(frozen=True)
class Recovery:
    position: int
    at: datetime
    actor: str
    reference: str | None


@dataclass(frozen=True)
class Verified:
    report: VerifyReport
    recoveries: tuple[Recovery, ...]


def verify_log(
    session: Session, keys: LogKeys, witnesses: CosignerKeys, *,
    held_heads: Sequence[HeldHead] = (),
    on_chunk: Callable[[int, int], None] | None = None, workers: int | None = None,
) -> Verified:  # fmt: skip
    """The whole log rebuilt and checked, with where it was restored or a partner's recovery
    was witnessed (declared, so a reader can tell them from tampering)."""
    report = audit_log.verify(
        session, keys.verifiers, witnesses, held_heads=held_heads, on_chunk=on_chunk,
        workers=workers,
    )  # fmt: skip
    return Verified(report, tuple(_recoveries(session)))


def _recoveries(session: Session) -> list[Recovery]:
    rows = session.execute(
        select(AuditLeafRow.position, AuditLeafRow.data)
        .where(AuditLeafRow.kind == str(LeafKind.RECOVERY))
        .order_by(AuditLeafRow.position)
    )  # fmt: skip
    found = []
    for position, data in rows:
        leaf = AuditLeaf.decode(bytes(data))
        found.append(Recovery(position, leaf.at, leaf.actor, leaf.reference))
    return found


def prove_message(
    session: Session, keys: LogKeys, message_id: str, now: datetime
) -> dict[str, Any]:
    """The inclusion proof of every entry about a message against a signed checkpoint, signing
    a new one when the latest does not cover them yet (the caller commits). NotFound when the
    log holds no entry about it."""
    positions = audit_log.position_of_message(session, message_id)
    if not positions:
        raise NotFound("the audit log has no entry about this message")
    signed = audit_log.latest_checkpoint(session)
    if signed is None or signed.checkpoint.size <= positions[-1]:
        signed = audit_log.make_checkpoint(session, keys.origin, keys.origin, keys.private_key, now)
    size = signed.checkpoint.size
    entries = []
    for position in positions:
        data = audit_log.leaf_data(session, position)
        proof = audit_log.inclusion_proof_for(session, position, size)
        entries.append({
            "leaf_index": position,
            "leaf_data": data.decode("utf-8"),
            "leaf_hash": b64(leaf_hash(data)),
            "inclusion_proof": [b64(node) for node in proof],
        })  # fmt: skip
    return {
        "message_id": message_id,
        "tree_size": size,
        "root_hash": b64(signed.checkpoint.root_hash),
        "checkpoint": signed.note,
        "verifier_key": keys.verifier_key,
        "entries": entries,
        "how_to_verify": "RFC 9162 section 2.1.3.2 with leaf_hash = "
        "SHA-256(0x00 || leaf_data); the root is the checkpoint's third line",
    }
