"""What this node holds of its partners' logs, and the checks a partner's checkpoint must pass
before we cosign it as the partner's witness.

Two kinds of evidence, both signed by the partner:
- the checkpoints we cosigned (`audit_witnessed`): a new one must extend the last one, by a
  consistency proof, or the partner shows two histories (a `SplitView`);
- the tree heads its receipts stated (`audit_partner_heads`): each receipt for one of our
  messages carries the size and root of the partner's log just after it logged our envelope.
  A checkpoint must extend every head it is not smaller than, and a head seen well before the
  checkpoint was signed must not be larger than it: a log that shrank was rolled back. Either
  is refused as a split view, so no rewritten tail ever gets our cosignature. The partner
  cannot know which of its receipts reached us, so we name the heads we need consistency
  proofs for (`ProofsWanted`); it sends the same checkpoint again with them, and we cosign
  it once every head it must extend is proven.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from migrex.audit.checkpoint import (
    Checkpoint,
    add_cosignature,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
)
from migrex.audit.merkle import AuditError
from migrex.audit.proofs import SplitView, verify_consistency, witness_checkpoint
from migrex.audit.store import insert_ignoring_conflict
from migrex.audit.tables import AuditPartnerHead, AuditWitnessed, partner_heads_table

# A receipt's head may be larger than a checkpoint signed a moment after it: the receipt's
# time is taken before its transaction appends, and the two transactions may commit in either
# order. Far beyond any transaction's length, a larger head means the log went back.
ROLLBACK_GRACE: Final = timedelta(seconds=60)
# Proofs asked for in one answer; the rest are asked for with the next checkpoint.
MAX_WANTED: Final = 64


class ProofsWanted(AuditError):
    """The checkpoint may well be honest, but it comes without the consistency proofs from
    the heads at `sizes`: ask for them and cosign the next one that brings them."""

    type_slug = "audit-proofs-wanted"
    title = "Consistency proofs from heads the partner's receipts stated are needed"

    def __init__(self, origin: str, sizes: list[int]) -> None:
        super().__init__(f"{origin}: consistency proofs wanted from {len(sizes)} head(s)")
        self.sizes = sizes


@dataclass(frozen=True)
class PartnerHead:
    """A partner log's head as one of its receipts stated it."""

    origin: str
    size: int
    root_hash: bytes
    message_id: str
    signed_at: datetime


def record_heads(session: Session, heads: Iterable[PartnerHead], now: datetime) -> None:
    """Keep these heads (one already kept for the same origin, size and root is left as is)."""
    for head in heads:
        insert_ignoring_conflict(
            session,
            partner_heads_table,
            {"origin": head.origin, "size": head.size, "root_hash": head.root_hash,
             "message_id": head.message_id, "signed_at": head.signed_at, "seen_at": now},
        )  # fmt: skip


def _seen(row: AuditWitnessed) -> Checkpoint:
    return Checkpoint(row.origin, row.size, bytes(row.root_hash))


def witness(
    session: Session,
    note: str,
    proof: Sequence[bytes],
    *,
    origin_verifier_key: str,
    our_key_name: str,
    our_private_key: Ed25519PrivateKey,
    now: datetime,
    head_proofs: Mapping[int, Sequence[bytes]] | None = None,
    presented_at: datetime | None = None,
) -> str:
    """`note` (a partner's signed checkpoint) with our cosignature, once it is checked.

    `origin_verifier_key` is the partner log's published verifier key; `proof` the
    consistency proof from the last checkpoint of that log we cosigned to this one (empty
    the first time); `head_proofs` consistency proofs from the sizes of heads its receipts
    stated to this checkpoint; `presented_at` when the partner sent it (its message's time,
    default `now`). The checkpoint is kept for the next comparison. Raises `SplitView`,
    storing nothing, when it contradicts one we cosigned or a head a receipt stated;
    `ProofsWanted` when a head it must extend came without its proof; `NoteRejected` for a
    bad signature or an older checkpoint than the last one cosigned.
    """
    name, public_key = parse_verifier_key(origin_verifier_key)
    log_keys = {name: public_key}
    presented = parse_checkpoint(open_note(note, log_keys).text)
    same_size = session.get(AuditWitnessed, (presented.origin, presented.size))
    if same_size is not None:
        if bytes(same_size.root_hash) != presented.root_hash:
            raise SplitView(
                f"{presented.origin} signed two roots for {presented.size} leaves: "
                f"the one cosigned on {same_size.seen_at.isoformat()} and this one"
            )
        # Seen and cosigned already: cosigning again is harmless and keeps the witness live.
        return add_cosignature(note, our_key_name, our_private_key, at=now)
    last = session.scalars(
        select(AuditWitnessed)
        .where(AuditWitnessed.origin == presented.origin)
        .order_by(AuditWitnessed.size.desc())
        .limit(1)
    ).first()
    checkpoint, cosigned = witness_checkpoint(
        note,
        log_keys,
        None if last is None else _seen(last),
        proof,
        (our_key_name, our_private_key),
        at=now,
    )
    proven, missing = _check_heads(session, checkpoint, head_proofs or {}, presented_at or now)
    heads = AuditPartnerHead
    if proven:  # kept even when we cannot cosign yet: the next try need not prove them again
        session.execute(
            update(heads)
            .where(heads.origin == checkpoint.origin, heads.size.in_(proven))
            .values(proven_size=checkpoint.size, proven_root=checkpoint.root_hash)
        )
    if missing:
        session.flush()
        raise ProofsWanted(checkpoint.origin, missing[:MAX_WANTED])
    session.add(
        AuditWitnessed(
            origin=checkpoint.origin,
            size=checkpoint.size,
            root_hash=checkpoint.root_hash,
            note=cosigned,
            seen_at=now,
        )
    )
    session.execute(
        update(heads)
        .where(
            heads.origin == checkpoint.origin,
            heads.reconciled_at.is_(None),
            heads.size <= checkpoint.size,
        )
        .values(reconciled_at=now)
    )
    session.flush()
    return cosigned


def _unreconciled(session: Session, origin: str) -> list[AuditPartnerHead]:
    return list(
        session.scalars(
            select(AuditPartnerHead)
            .where(AuditPartnerHead.origin == origin, AuditPartnerHead.reconciled_at.is_(None))
            .order_by(AuditPartnerHead.size)
        )
    )


def _check_heads(
    session: Session,
    checkpoint: Checkpoint,
    proofs: Mapping[int, Sequence[bytes]],
    presented_at: datetime,
) -> tuple[list[int], list[int]]:
    """The sizes of the heads `checkpoint` is shown to extend now, and of those it must
    extend but came without a proof for (heads proven under this same checkpoint before
    count as shown); `SplitView` when it shrank below one or does not extend one. Heads
    larger than the checkpoint, seen just before it was signed, wait."""
    reconciled: list[int] = []
    missing: list[int] = []
    for head in _unreconciled(session, checkpoint.origin):
        root = bytes(head.root_hash)
        where = f"its receipt for {head.message_id} stated {head.size} leaves"
        if head.size > checkpoint.size:
            if head.signed_at < presented_at - ROLLBACK_GRACE:
                raise SplitView(
                    f"{where} at {head.signed_at.isoformat()}; its checkpoint signed later has "
                    f"{checkpoint.size}: the log was rolled back"
                )
            continue
        shown_before = (head.proven_size, head.proven_root) == (
            checkpoint.size, checkpoint.root_hash,
        )  # fmt: skip
        if shown_before:
            continue
        if head.size != checkpoint.size and head.size not in proofs:
            missing += [] if head.size in missing else [head.size]
        else:
            proof = proofs.get(head.size, ())
            if not verify_consistency(head.size, checkpoint.size, root, checkpoint.root_hash,
                                      proof):  # fmt: skip
                raise SplitView(
                    f"{where} with another history than its checkpoint at {checkpoint.size}"
                )
            reconciled.append(head.size)
    return reconciled, missing
