"""This node as a witness of a partner's log: verify, check consistency, cosign, remember.

A witness cosigns a partner's checkpoint only if it extends every checkpoint of that log the
witness cosigned before. The partner therefore cannot show one history to us and another to
someone else without one of the two witnesses refusing: that refusal is a `SplitView`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from migrex.audit.checkpoint import (
    Checkpoint,
    add_cosignature,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
)
from migrex.audit.proofs import SplitView, witness_checkpoint
from migrex.audit.tables import AuditWitnessed


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
) -> str:
    """`note` (a partner's signed checkpoint) with our cosignature, once it is checked.

    `origin_verifier_key` is the partner log's published verifier key; `proof` the
    consistency proof from the last checkpoint of that log we cosigned to this one (empty
    the first time). The checkpoint is kept for the next comparison. Raises `SplitView`,
    storing nothing, when it contradicts one we cosigned: the same size with another root,
    or a larger size the proof does not connect; `NoteRejected` for a bad signature or an
    older checkpoint than the last one cosigned.
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
    session.add(
        AuditWitnessed(
            origin=checkpoint.origin,
            size=checkpoint.size,
            root_hash=checkpoint.root_hash,
            note=cosigned,
            seen_at=now,
        )
    )
    session.flush()
    return cosigned
