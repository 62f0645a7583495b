"""The witness clerk's round: file every checkpoint and cosignature the casework clerk set
aside for it.

A partner's checkpoint is verified with the sender's signing key from the signed directory,
checked for consistency with what we cosigned before and with the heads its receipts stated
(a split view or a rollback is refused, stored nowhere and reported in the security log),
cosigned under the receiving authority's key, and answered. A checkpoint that comes without
the consistency proofs from the heads we hold is answered with the sizes we need instead of
a cosignature, and a refused one with a refusal (`refusals`). A partner's cosignature of our
checkpoint is kept; its refusal of one is recorded and logged as an error.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from migrex.audit import events
from migrex.audit.checkpoint import (
    ed25519_private_key,
    ed25519_public_key,
    open_note,
    parse_checkpoint,
    verifier_key,
)
from migrex.audit.log import note_text
from migrex.audit.merkle import AuditError
from migrex.audit.message_kinds import CHECKPOINT, COSIGNATURE, FOR_AUDIT
from migrex.audit.partner_logs import MAX_WANTED, ProofsWanted, witness
from migrex.audit.pending import record
from migrex.audit.proofs import SplitView
from migrex.audit.tables import AuditPartnerHead, AuditWitnessed
from migrex.db import begin_writing
from migrex.errors import MigrexError
from migrex.exchange.service import SendMessage
from migrex.exchange.tables import InboxMessage, SecurityEvent
from migrex.uow import UnitOfWork
from migrex.witness.node import WitnessingNode
from migrex.witness.recovery_witnessed import accept_recovery
from migrex.witness.refusals import is_refusal, note_refusal, refusal_answer
from migrex.witness.sending import enqueue_audit_message, keep_cosignature, node_key

log = structlog.get_logger(__name__)

_OLDEST_CHECKPOINT = timedelta(days=1)


def file_audit_messages(
    uow: UnitOfWork, node: WitnessingNode, now: datetime, *, limit: int = 100
) -> int:
    """Witness received checkpoints and keep received cosignatures; returns how many."""
    waiting = select(InboxMessage).where(InboxMessage.status == FOR_AUDIT)
    if uow.session.scalar(waiting.with_only_columns(InboxMessage.id).limit(1)) is None:
        return 0
    # The rows are read under the write lock (SQLite), or locked with those another round
    # holds skipped (PostgreSQL): `migrex witness round` may run beside the node's clerk, and
    # rows read before another round filed them were witnessed and answered a second time.
    uow.session.rollback()
    begin_writing(uow.session)
    query = waiting.order_by(InboxMessage.id).limit(limit)
    if uow.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(uow.session.scalars(query))
    for row in rows:
        body: Any = None
        try:
            body = json.loads(row.body)
            if row.type == CHECKPOINT:
                row.status = _witness(uow, node, row, body, now)
            elif is_refusal(body):
                row.status = note_refusal(uow.session, row, body, now)
            else:
                row.status = keep_cosignature(uow.session, node, row.sender, body, now)
        except (AuditError, KeyError, TypeError, ValueError) as error:
            detail = getattr(error, "detail", str(error))
            _security(uow.session, "audit-refused", f"{row.type} {row.message_id}: {detail}",
                      row, now)  # fmt: skip
            row.status = "refused"
        if row.type == CHECKPOINT and row.status in ("refused", "split-view"):
            _refuse(uow, node, row, refusal_answer(body, row.status), now)
    uow.commit()
    return len(rows)


def _proofs(body: Mapping[str, Any]) -> dict[int, list[bytes]]:
    """The consistency proofs from heads' sizes the sender added (we asked for them)."""
    return {
        int(head["size"]): [base64.b64decode(h, validate=True) for h in head["proof"]]
        for head in body.get("heads", [])
    }


def _signed_at(body: Mapping[str, Any], issued_at: datetime) -> datetime:
    """When the log says it signed the checkpoint: heads its receipts stated before then must
    lie under it. Never after the message was issued, and never more than a day before it: a
    log cannot hide a rollback behind an ever older time (it signs a new checkpoint rather
    than show one that old again, `sending.RESHOW_WITHIN`)."""
    claimed = body.get("signed_at")
    if not isinstance(claimed, int):
        return issued_at
    signed = datetime.fromtimestamp(claimed, UTC)
    return max(min(signed, issued_at), issued_at - _OLDEST_CHECKPOINT)


def _witness(
    uow: UnitOfWork, node: WitnessingNode, row: InboxMessage, body: Mapping[str, Any],
    now: datetime,
) -> str:  # fmt: skip
    note = str(body["note"])
    origin = parse_checkpoint(note_text(note)).origin
    public = ed25519_public_key(node_key(node, row.sender, body["kid"], now))
    ours = node.own(row.recipient, now)
    proof = [base64.b64decode(node, validate=True) for node in body["proof"]]
    head_proofs = _proofs(body)
    # A recovery (or a move to a fresh database) is accepted, or the checkpoint refused, as
    # one step: nothing of it stays when the checkpoint turns out to be a split view.
    savepoint = uow.session.begin_nested()
    try:
        if body.get("recovery") is not None:
            checkpoint = parse_checkpoint(open_note(note, {origin: public}).text)
            accept_recovery(uow.session, node, token=str(body["recovery"]), sender=row.sender,
                            recipient=row.recipient, checkpoint=checkpoint,
                            proofs=head_proofs, now=now)  # fmt: skip
        proof = _proof_from_our_latest(uow.session, origin, body, proof, head_proofs)
        cosigned = witness(uow.session, note, proof,
                           origin_verifier_key=verifier_key(origin, public),
                           our_key_name=row.recipient, our_private_key=ed25519_private_key(ours),
                           now=now, head_proofs=head_proofs,
                           presented_at=_signed_at(body, row.issued_at))  # fmt: skip
    except SplitView as error:
        savepoint.rollback()
        _security(uow.session, "split-view", f"{origin}: {error.detail}", row, now)
        log.error("split view", origin=origin, sender=row.sender, detail=error.detail)
        return "split-view"
    except ProofsWanted as wanted:
        savepoint.commit()
        reply: dict[str, Any] = {"note": None, "kid": str(ours.kid), "size": int(body["size"]),
                                 "want": wanted.sizes}  # fmt: skip
        _answer(uow, node, row, reply, now)
        return "proofs-wanted"
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    size = int(body["size"])
    record(uow.session, events.checkpoint_cosigned(at=now, authority=row.recipient,
                                                   origin=origin, size=size))  # fmt: skip
    _answer(uow, node, row, {"note": cosigned, "kid": str(ours.kid), "size": size}, now)
    return "witnessed"


def _proof_from_our_latest(
    session: Session, origin: str, body: Mapping[str, Any], proof: list[bytes],
    head_proofs: Mapping[int, list[bytes]],
) -> list[bytes]:  # fmt: skip
    """The proof from the latest checkpoint of `origin` we cosigned. After a restore, of
    either node, the two may remember different last cosignatures (the answers of the lost
    branch are gone): a restored log sends proofs from every size we may hold, and a log we
    witness is asked for the proof from ours (`ProofsWanted`) rather than refused for a proof
    from another size."""
    latest = session.scalar(select(func.max(AuditWitnessed.size)).where(
        AuditWitnessed.origin == origin))  # fmt: skip
    if latest is None or latest == int(body.get("old_size") or 0):
        return proof
    size = int(body["size"])
    if int(latest) not in head_proofs and int(latest) < size:
        # Asked together with the heads its receipts stated, or the two requests would take
        # turns for ever (an answer names only what the last checkpoint lacked).
        heads = AuditPartnerHead
        open_sizes = session.scalars(
            select(heads.size).distinct().where(heads.origin == origin,
                                                heads.reconciled_at.is_(None), heads.size < size)
        )  # fmt: skip
        wanted = sorted({int(latest), *(int(s) for s in open_sizes if s not in head_proofs)})
        raise ProofsWanted(origin, wanted[:MAX_WANTED])
    return head_proofs.get(int(latest), proof)


def _answer(
    uow: UnitOfWork, node: WitnessingNode, row: InboxMessage, reply: Mapping[str, Any],
    now: datetime,
) -> None:  # fmt: skip
    command = SendMessage(row.agreement_id, row.recipient, row.sender, COSIGNATURE, reply)
    enqueue_audit_message(uow, node, command, now, in_reply_to=row.message_id)


def _refuse(
    uow: UnitOfWork, node: WitnessingNode, row: InboxMessage, reply: Mapping[str, Any],
    now: datetime,
) -> None:  # fmt: skip
    """Tell the log we refused: a node that no longer knows its log forked (a stale copy of a
    restored node) learns it from nobody else. The refusal stands if it cannot be told."""
    try:
        _answer(uow, node, row, reply, now)
    except MigrexError as error:
        log.warning("refusal of a checkpoint not answered", sender=row.sender,
                    problem=error.type_slug)  # fmt: skip


def _security(session: Session, reason: str, detail: str, row: InboxMessage, now: datetime) -> None:
    session.add(SecurityEvent(at=now, reason=reason, detail=detail, peer=row.sender,
                              size=len(row.body), envelope_sha256=row.envelope_sha256))  # fmt: skip
