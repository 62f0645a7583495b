"""Our log's side of witnessing: sign the head, send it to each partner's witness, keep the
cosignature that comes back.

A checkpoint goes to a witness only once the previous one was answered, so its consistency
proof always starts where the witness's view ends. A witness may answer without cosigning,
naming the heads of our log it holds from our receipts that the checkpoint must be shown to
extend: the next checkpoint, sent at once, carries a consistency proof from each. A witness
that refuses a checkpoint says so (`refusals`); the next one waits an hour.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import OKPKey
from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from migrex.audit.checkpoint import NoteRejected, ed25519_private_key, ed25519_public_key
from migrex.audit.leaves import LeafKind
from migrex.audit.log import (
    SignedCheckpoint,
    checkpoint_at,
    consistency_proof_between,
    latest_checkpoint,
    make_checkpoint,
    store_cosignature,
    tree_size,
)
from migrex.audit.message_kinds import AUDIT_TYPES, CHECKPOINT, COSIGNATURE
from migrex.audit.tables import AuditCosignature, AuditRecovery, leaves_table
from migrex.envelope import new_message_id
from migrex.exchange.outbox import OutgoingMessage, enqueue
from migrex.exchange.service import SendMessage, check_send
from migrex.exchange.tables import InboxMessage, OutboxMessage
from migrex.uow import UnitOfWork
from migrex.witness.node import LogSigner, WitnessingNode, witnesses_of
from migrex.witness.recovery import unacknowledged
from migrex.witness.refusals import KEPT, is_refusal
from migrex.witness.tables import RecoveryDeclaration

# Proofs sent with one checkpoint; a witness asks for at most as many.
_MAX_HEAD_PROOFS = 64
# A checkpoint is shown again with the proofs asked for only while it is this recent; after
# that a new one is signed (the witness holds a checkpoint to the heads seen before its time).
RESHOW_WITHIN = timedelta(hours=1)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class _LastExchange:
    """The last checkpoint sent to one witness and its answer, if it came."""

    size: int
    answer: Mapping[str, Any] | None
    recovery: str | None = None
    """The recovery declaration the checkpoint carried, if any."""
    answered_at: datetime | None = None

    @property
    def awaited(self) -> bool:
        return self.answer is None

    @property
    def cosigned(self) -> bool:
        return self.answer is not None and self.answer.get("note") is not None

    @property
    def refused(self) -> bool:
        return self.answer is not None and is_refusal(self.answer)

    @property
    def wanted(self) -> list[int]:
        """The sizes the witness asked consistency proofs from instead of cosigning."""
        sizes = [] if self.answer is None else self.answer.get("want") or []
        return sorted({size for size in sizes if isinstance(size, int)})[:_MAX_HEAD_PROOFS]


def answer_to(message_id: str, witness_authority: str) -> Select[str, datetime]:
    """The witness's answer to our checkpoint `message_id` and when it came: found by the
    inbox's reply index, as the round runs every few seconds and the inbox keeps every
    message received."""
    return select(InboxMessage.body, InboxMessage.received_at).where(
        InboxMessage.in_reply_to == message_id,
        InboxMessage.type == COSIGNATURE,
        InboxMessage.sender == witness_authority,
    )


def _last_exchange(
    session: Session, signer: LogSigner, witness_authority: str
) -> _LastExchange | None:
    """The last checkpoint sent to this witness and its answer (None: never sent one)."""
    sent = session.execute(
        select(OutboxMessage.message_id, OutboxMessage.body)
        .where(
            OutboxMessage.type == CHECKPOINT,
            OutboxMessage.sender == signer.authority,
            OutboxMessage.recipient == witness_authority,
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).first()
    if sent is None:
        return None
    answer = session.execute(answer_to(sent.message_id, witness_authority)).first()
    body = json.loads(sent.body)
    if answer is None:
        return _LastExchange(int(body["size"]), None, body.get("recovery"))
    return _LastExchange(int(body["size"]), json.loads(answer.body), body.get("recovery"),
                         answer.received_at)  # fmt: skip


def _refused_recently(last: _LastExchange, now: datetime) -> bool:
    """Whether the witness refused our last checkpoint less than `RESHOW_WITHIN` ago: a new
    one goes after that, so a refusal the witness no longer stands by clears itself."""
    return last.answered_at is None or now - last.answered_at < RESHOW_WITHIN


def _cosigned_size(session: Session, witness_authority: str) -> int:
    size = session.scalar(
        select(func.max(AuditCosignature.size)).where(AuditCosignature.witness == witness_authority)
    )
    return int(size or 0)


def _only_witnessing_since(session: Session, size: int) -> bool:
    """Whether every leaf from position `size` on records witnessing itself: a cosignature we
    gave, or a checkpoint or cosignature message sent, receipted or received."""
    leaf = leaves_table.c
    audit_sent = exists().where(
        OutboxMessage.message_id == leaf.message_id, OutboxMessage.type.in_(AUDIT_TYPES)
    )
    audit_received = exists().where(
        InboxMessage.message_id == leaf.message_id, InboxMessage.type.in_(AUDIT_TYPES)
    )
    other = session.scalar(
        select(leaf.position)
        .where(
            leaf.position >= size,
            leaf.kind != str(LeafKind.CHECKPOINT_COSIGNED),
            ~audit_sent,
            ~audit_received,
        )
        .limit(1)
    )
    return other is None


def _head_to_sign(session: Session, node: WitnessingNode, now: datetime) -> SignedCheckpoint | None:
    """The checkpoint to show the witnesses now: the stored one when the log has not grown,
    a new one when it has; None when there is nothing to show yet or the log should rest."""
    size = tree_size(session)
    if size == 0:
        return None
    signed = latest_checkpoint(session)
    if signed is not None and signed.checkpoint.size == size:
        return signed
    resting = signed is not None and now - signed.created_at < timedelta(seconds=node.idle_interval)
    if resting and signed is not None and _only_witnessing_since(session, signed.checkpoint.size):
        return signed
    private = ed25519_private_key(node.signer.key)
    return make_checkpoint(session, node.signer.origin, node.signer.origin, private, now)


def send_checkpoints(uow: UnitOfWork, node: WitnessingNode, now: datetime) -> list[str]:
    """Sign the log's head when it grew and send it to every partner whose answer to the
    previous one has come (the same checkpoint again, with the proofs asked for, to one that
    asked for proofs); returns the witnesses it was sent to."""
    session, signer = uow.session, node.signer
    signed = _head_to_sign(session, node, now)
    if signed is None:
        return []
    sent_to = []
    for agreement_id, witness_authority in witnesses_of(node.agreements, node.own_state):
        last = _last_exchange(session, signer, witness_authority)
        cosigned = _cosigned_size(session, witness_authority)
        declared = unacknowledged(session, witness_authority)
        if declared is not None and (last is None or last.recovery != declared.declaration):
            # Restored: the last exchange we remember belongs to the lost branch (its answer,
            # if one came, was lost with it); the declaration starts a new one.
            last = None
        if last is not None and (last.awaited or (last.cosigned and cosigned < last.size)):
            continue  # awaiting the answer, or the cosignature is not kept yet
        if last is not None and last.refused and _refused_recently(last, now):
            continue  # refused (`refusals`): pressing the same log on the witness is noise
        shown = signed
        if last is not None and last.cosigned and last.size >= signed.checkpoint.size:
            continue  # nothing new to show
        if last is not None and not last.cosigned:
            # Later heads may lie under a newer checkpoint, unproven: show the same one, unless
            # it is so old that the witness would no longer take its time (`rounds`).
            again = checkpoint_at(session, last.size)
            if again is not None and now - again.created_at < RESHOW_WITHIN:
                shown = again
        wanted = last.wanted if last else []
        if declared is not None:
            wanted = _recovery_sizes(session, signer, witness_authority, declared=declared,
                                     cosigned=cosigned, wanted=wanted)  # fmt: skip
        body = _checkpoint_body(session, shown, signer, cosigned, wanted)
        if declared is not None:
            body["recovery"] = declared.declaration
        command = SendMessage(agreement_id, signer.authority, witness_authority, CHECKPOINT, body)
        enqueue_audit_message(uow, node, command, now)
        sent_to.append(witness_authority)
    uow.commit()
    return sent_to


def _recovery_sizes(
    session: Session, signer: LogSigner, witness_authority: str, *,
    declared: RecoveryDeclaration, cosigned: int, wanted: list[int],
) -> list[int]:  # fmt: skip
    """The sizes a checkpoint carrying a recovery proves itself from: the restored head, and
    every checkpoint we sent the witness between the last cosigned one and it (the witness
    may have cosigned one of them after the backup was taken)."""
    restored = session.get(AuditRecovery, declared.recovery_id)
    top = 0 if restored is None else restored.restored_size
    sent = session.scalars(
        select(OutboxMessage.body).where(
            OutboxMessage.type == CHECKPOINT, OutboxMessage.sender == signer.authority,
            OutboxMessage.recipient == witness_authority,
        ).order_by(OutboxMessage.id.desc()).limit(_MAX_HEAD_PROOFS)
    )  # fmt: skip
    sizes = {int(json.loads(body)["size"]) for body in sent}
    candidates = {size for size in sizes if cosigned <= size <= top} | {top, *wanted}
    return sorted(size for size in candidates if size > 0)[-_MAX_HEAD_PROOFS:]


def _checkpoint_body(
    session: Session, shown: SignedCheckpoint, signer: LogSigner, cosigned: int,
    wanted: list[int],
) -> dict[str, Any]:  # fmt: skip
    """The checkpoint message: the note, the proof from the last one the witness cosigned,
    and one from each head it asked about."""
    size = shown.checkpoint.size
    proof = consistency_proof_between(session, cosigned, size) if cosigned else []
    heads = [
        {"size": w, "proof": [b64(h) for h in consistency_proof_between(session, w, size)]}
        for w in wanted
        if 0 < w <= size
    ]
    return {"note": shown.note, "kid": signer.kid, "size": size, "old_size": cosigned,
            "proof": [b64(node) for node in proof], "heads": heads,
            "signed_at": int(shown.created_at.timestamp())}  # fmt: skip


def enqueue_audit_message(
    uow: UnitOfWork, node: WitnessingNode, command: SendMessage, now: datetime,
    *, in_reply_to: str | None = None,
) -> None:  # fmt: skip
    """Put a checkpoint or a cosignature in the outbox, checked against its agreement."""
    agreement = check_send(command, node.agreements, node.hosted)
    enqueue(
        uow.session,
        OutgoingMessage(
            message_id=new_message_id(now), agreement_id=agreement.id, sender=command.sender,
            recipient=command.recipient, type=command.type, body=dict(command.body),
            issued_at=now, expires_at=now + agreement.message_lifetime, case_id=None,
            in_reply_to=in_reply_to,
        ),
        now,
    )  # fmt: skip


def keep_cosignature(
    session: Session, node: WitnessingNode, sender: str, body: Mapping[str, Any], now: datetime
) -> str:
    """Store a witness's cosignature of our checkpoint, checked with its directory key; an
    answer asking for proofs instead is left for the next checkpoint to read."""
    if body.get("note") is None:
        return "proofs-wanted"
    public = ed25519_public_key(node_key(node, sender, body["kid"], now))
    store_cosignature(session, int(body["size"]), sender, str(body["note"]), now,
                      witness_key=public)  # fmt: skip
    return KEPT


def node_key(node: WitnessingNode, authority: str, kid: str, now: datetime) -> OKPKey:
    """The partner authority's public signing key `kid` from the directory."""
    key = node.resolve(authority, kid, now)
    if key is None:
        raise NoteRejected(f"{authority} has no signing key {kid!r} in the directory")
    return key
