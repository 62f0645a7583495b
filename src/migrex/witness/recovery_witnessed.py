"""The witness's side of a declared recovery: check it, record it, take the new branch.

A declaration comes with a checkpoint of the new branch. It is accepted only when it is
signed by the log's authority, names this witness and the checkpoint's log, and the
checkpoint is shown (by consistency proofs) to extend both the restored head and the last
checkpoint we cosigned at or below it: the restored log is the history we witnessed up to
there, and only what we saw beyond it is abandoned. Accepting it keeps the abandoned branch's
largest cosigned checkpoint as evidence, drops our cosigned checkpoints beyond the base (the
new branch will have other roots at those sizes), sets aside the heads the lost branch's
receipts stated, and is a security event and a leaf in our log: visible, never a silent fork.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime

import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from migrex.audit import events
from migrex.audit.checkpoint import Checkpoint
from migrex.audit.partner_logs import ProofsWanted
from migrex.audit.pending import record
from migrex.audit.proofs import SplitView, verify_consistency
from migrex.audit.tables import AuditPartnerHead, AuditWitnessed
from migrex.exchange.tables import SecurityEvent
from migrex.witness.node import WitnessingNode
from migrex.witness.recovery import Declaration, RecoveryRefused, verify_declaration
from migrex.witness.tables import PartnerRecovery

log = structlog.get_logger(__name__)


def _base(session: Session, origin: str, size: int) -> AuditWitnessed | None:
    """Our latest cosigned checkpoint of `origin` at or below `size`."""
    return session.scalars(
        select(AuditWitnessed)
        .where(AuditWitnessed.origin == origin, AuditWitnessed.size <= size)
        .order_by(AuditWitnessed.size.desc())
        .limit(1)
    ).first()


def _proven(
    old_size: int, old_root: bytes, checkpoint: Checkpoint, proofs: Mapping[int, Sequence[bytes]]
) -> None:
    if old_size == checkpoint.size:
        if old_root != checkpoint.root_hash:
            raise SplitView(f"{checkpoint.origin} declared a recovery whose checkpoint has "
                            f"another root at {old_size} leaves than it had")  # fmt: skip
        return
    if old_size == 0:
        return
    if old_size not in proofs:
        raise ProofsWanted(checkpoint.origin, [old_size])
    if not verify_consistency(old_size, checkpoint.size, old_root, checkpoint.root_hash,
                              proofs[old_size]):  # fmt: skip
        raise SplitView(f"{checkpoint.origin}'s recovered log does not extend its head at "
                        f"{old_size} leaves")  # fmt: skip


def accept_recovery(
    session: Session, node: WitnessingNode, *, token: str, sender: str, recipient: str,
    checkpoint: Checkpoint, proofs: Mapping[int, Sequence[bytes]], now: datetime,
) -> PartnerRecovery | None:  # fmt: skip
    """Record the declared recovery riding on `checkpoint` (None: recorded before). Raises
    `RecoveryRefused` or `SplitView` when it does not hold, `ProofsWanted` when a proof it
    needs is missing; nothing is changed then."""
    digest = hashlib.sha256(token.encode("ascii")).hexdigest()
    if session.get(PartnerRecovery, (checkpoint.origin, digest)) is not None:
        return None
    declared = verify_declaration(token, node.resolve, now)
    if (declared.authority, declared.witness, declared.origin) != (
        sender, recipient, checkpoint.origin,
    ):  # fmt: skip
        raise RecoveryRefused(f"{sender}'s recovery names another log, sender or witness")
    if checkpoint.size <= declared.leaf_position:
        raise RecoveryRefused(f"{checkpoint.origin}'s recovery comes with a checkpoint that "
                              "does not include its recovery entry")  # fmt: skip
    _proven(declared.restored_size, declared.restored_root, checkpoint, proofs)
    base = _base(session, checkpoint.origin, declared.restored_size)
    if base is not None:
        _proven(base.size, bytes(base.root_hash), checkpoint, proofs)
    return _record(session, declared, digest=digest, token=token, base=base,
                   recipient=recipient, now=now)  # fmt: skip


def _record(
    session: Session, declared: Declaration, *, digest: str, token: str,
    base: AuditWitnessed | None, recipient: str, now: datetime,
) -> PartnerRecovery:  # fmt: skip
    origin, base_size = declared.origin, 0 if base is None else base.size
    abandoned = session.scalars(
        select(AuditWitnessed)
        .where(AuditWitnessed.origin == origin, AuditWitnessed.size > base_size)
        .order_by(AuditWitnessed.size.desc())
        .limit(1)
    ).first()
    heads = AuditPartnerHead
    # Heads beyond the restored one that its receipts stated before the restore: the lost
    # branch's (a receipt's time has whole seconds, so one in the restore's second counts).
    lost_heads = (
        heads.origin == origin, heads.reconciled_at.is_(None),
        heads.size > declared.restored_size, heads.signed_at <= declared.restored_at,
    )  # fmt: skip
    set_aside = session.scalar(select(func.count()).select_from(heads).where(*lost_heads)) or 0
    session.execute(update(heads).where(*lost_heads).values(reconciled_at=now))
    session.execute(delete(AuditWitnessed).where(AuditWitnessed.origin == origin,
                                                 AuditWitnessed.size > base_size))  # fmt: skip
    recovery = PartnerRecovery(
        origin=origin, declaration_sha256=digest, authority=declared.authority,
        restored_size=declared.restored_size, restored_root=declared.restored_root,
        restored_at=declared.restored_at,
        abandoned_size=None if abandoned is None else abandoned.size,
        abandoned_note=None if abandoned is None else abandoned.note,
        heads_set_aside=set_aside, declaration=token, recorded_at=now,
    )  # fmt: skip
    session.add(recovery)
    lost = "nothing" if abandoned is None else f"{abandoned.size} leaves"
    detail = (
        f"{origin} declared a recovery: restored at {declared.restored_size} leaves; we "
        f"had witnessed {lost}; {set_aside} receipt head(s) of the lost branch set aside"
    )
    session.add(SecurityEvent(
        at=now, reason="recovery-declared", detail=detail, peer=declared.authority,
        size=len(token), envelope_sha256=None,
    ))  # fmt: skip
    record(session, events.recovery_witnessed(at=now, authority=recipient, origin=origin,
                                              restored_size=declared.restored_size,
                                              abandoned_size=recovery.abandoned_size))  # fmt: skip
    log.warning(
        "partner declared a recovery of its log", origin=origin,
        restored_size=declared.restored_size, abandoned_size=recovery.abandoned_size,
    )  # fmt: skip
    session.flush()
    return recovery
