"""A checkpoint the witness refused, told to the log that signed it.

A witness that refuses a checkpoint (a split view, a rollback, a checkpoint for a log it no
longer holds as this one) answers it with a refusal instead of a cosignature: without it the
refused node would notice nothing. The usual cause is a node started again from its old
database after its restored copy took over; it must not go on working silently, so the
refusal goes to its security log, its log as an error, `migrex witness status` and `/ready`,
until a later checkpoint of ours is cosigned.

A refusal carries a size and a reason code, never the witness's own words: what the
refused node records is ours to phrase (G8).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from migrex.audit.merkle import AuditError
from migrex.audit.message_kinds import CHECKPOINT, COSIGNATURE
from migrex.exchange.tables import InboxMessage, OutboxMessage, SecurityEvent
from migrex.node import Node

log = structlog.get_logger(__name__)

REFUSED: Final = "checkpoint-refused"
"""Inbox status of a witness's refusal of our checkpoint, and its security event's reason."""
KEPT: Final = "cosignature-kept"
"""Inbox status of a witness's cosignature of our checkpoint, once stored."""

# Reason code → what it means for our log. A code we do not know reads as the general one.
_REASONS: Final = {
    "split-view": "it is inconsistent with what the witness cosigned of our log (a fork)",
    "refused": "the witness holds a later or another history of our log (a rollback or a fork)",
}
_WHAT_TO_DO: Final = (
    "this node may be a stale copy of a node restored from a backup: stop it, the restored "
    "node carries on; otherwise see 'Backup and recovery' in the README (`migrex witness "
    "declare-recovery`)"
)


def refusal_answer(body: Any, reason: str) -> dict[str, Any]:
    """The witness's answer to a checkpoint it refused (`reason`: its inbox status)."""
    size = _size(body) if isinstance(body, Mapping) else None
    return {"note": None, "size": size, "refused": _code(reason)}


def is_refusal(body: Any) -> bool:
    """Whether a witness's answer to our checkpoint refuses it."""
    return (
        isinstance(body, Mapping) and body.get("note") is None and body.get("refused") is not None
    )


def _size(body: Mapping[str, Any]) -> int | None:
    size = body.get("size")
    return size if isinstance(size, int) and not isinstance(size, bool) else None


def _code(reason: Any) -> str:
    return str(reason) if reason in _REASONS else "refused"


def _detail(witness: str, body: Mapping[str, Any]) -> str:
    size = _size(body)
    at = "" if size is None else f" at {size} leaves"
    meaning = _REASONS[_code(body.get("refused"))]
    return f"{witness} refused our log's checkpoint{at}: {meaning}; {_WHAT_TO_DO}"


def note_refusal(
    session: Session, row: InboxMessage, body: Mapping[str, Any], now: datetime
) -> str:
    """Record a witness's refusal of our checkpoint, loudly; returns the inbox status.

    Only an answer to a checkpoint we sent that authority counts: a partner cannot make the
    node unready with refusals of nothing. `AuditError` otherwise."""
    asked = session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.message_id == row.in_reply_to, OutboxMessage.type == CHECKPOINT,
        OutboxMessage.recipient == row.sender))  # fmt: skip
    if row.in_reply_to is None or asked is None:
        raise AuditError("a refusal that answers no checkpoint we sent its sender")
    session.add(SecurityEvent(at=now, reason=REFUSED, detail=_detail(row.sender, body),
                              peer=row.sender, size=len(row.body),
                              envelope_sha256=row.envelope_sha256))  # fmt: skip
    log.error("our log's checkpoint was refused by the partner's witness", witness=row.sender,
              size=_size(body), reason=_code(body.get("refused")),
              action=_WHAT_TO_DO)  # fmt: skip
    return REFUSED


@dataclass(frozen=True)
class Refusal:
    """The latest answer of `witness` to our checkpoints is this refusal."""

    witness: str
    size: int | None
    at: datetime
    detail: str


def _latest(session: Session, status: str, witness: str) -> int:
    found = session.scalar(select(func.max(InboxMessage.id)).where(
        InboxMessage.status == status, InboxMessage.sender == witness,
        InboxMessage.type == COSIGNATURE))  # fmt: skip
    return int(found or 0)


def refusals(session: Session) -> dict[str, Refusal]:
    """Witness → its refusal, for every witness whose latest answer refused our log (a later
    cosignature clears it)."""
    found = {}
    refusing = session.scalars(select(InboxMessage.sender).distinct().where(
        InboxMessage.status == REFUSED, InboxMessage.type == COSIGNATURE))  # fmt: skip
    for witness in refusing:
        refused = _latest(session, REFUSED, witness)
        if refused < _latest(session, KEPT, witness):
            continue
        row = session.get(InboxMessage, refused)
        if row is None:
            continue
        body = _body(row.body)
        found[witness] = Refusal(witness, _size(body), row.received_at, _detail(witness, body))
    return found


def _body(text: str) -> Mapping[str, Any]:
    try:
        body = json.loads(text)
    except ValueError:
        return {}
    return body if isinstance(body, Mapping) else {}


def readiness(node: Node) -> dict[str, Any]:
    """`/ready`'s witnessing check: not ok while a partner's witness refuses our log. A node
    whose log its partners refuse must not go on working unnoticed: it is most likely a
    stale copy of a restored node, whose messages the partner files against a log it has
    already seen fork."""
    with node.unit_of_work() as uow:
        refused = refusals(uow.session)
    if not refused:
        return {"ok": True}
    return {"ok": False, "reason": "; ".join(r.detail for _, r in sorted(refused.items()))}
