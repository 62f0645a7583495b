"""Witnessing through the exchange: each node sends its signed checkpoints to its partners,
which check them against what they saw before and send back their cosignature.

A round on the log's side signs a checkpoint when the log has grown and sends it, with the
consistency proof from the last checkpoint that partner cosigned, to one authority of each
partner state — but only once the previous one was answered, so the proof always starts
where the partner's view ends. On the witness's side each checkpoint is verified with the
sender's signing key from the signed directory, checked for consistency (a split view is
refused, stored nowhere and reported in the security log), cosigned under the receiving
authority's key, and answered; the log's node keeps the cosignature.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from joserfc.jwk import OKPKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from migrex.agreements import Agreement
from migrex.audit import events
from migrex.audit.checkpoint import (
    NoteRejected,
    ed25519_private_key,
    ed25519_public_key,
    parse_checkpoint,
    verifier_key,
)
from migrex.audit.log import (
    consistency_proof_between,
    latest_checkpoint,
    make_checkpoint,
    note_text,
    store_cosignature,
    tree_size,
    witness,
)
from migrex.audit.merkle import AuditError
from migrex.audit.pending import record
from migrex.audit.proofs import SplitView
from migrex.audit.tables import AuditCosignature
from migrex.envelope import new_message_id
from migrex.exchange.outbox import OutgoingMessage, enqueue
from migrex.exchange.service import SendMessage, check_send
from migrex.exchange.tables import InboxMessage, OutboxMessage, SecurityEvent
from migrex.exchange.trust import Trust
from migrex.identity import FileKeyStore
from migrex.node import Node
from migrex.settings import Settings
from migrex.uow import UnitOfWork

log = structlog.get_logger(__name__)

CHECKPOINT = "audit-checkpoint"
COSIGNATURE = "audit-cosignature"
AUDIT_TYPES = frozenset({CHECKPOINT, COSIGNATURE})
# Inbox status the casework clerk gives these messages, so the witness clerk takes them.
FOR_AUDIT = "for-audit"


@dataclass(frozen=True)
class LogSigner:
    """Who signs this node's log: one hosted authority's signing key, under the log's origin."""

    authority: str
    origin: str
    key: OKPKey  # private

    @property
    def kid(self) -> str:
        return str(self.key.kid)


KeyResolver = Callable[[str, str, datetime], OKPKey | None]
OwnKey = Callable[[str, datetime], OKPKey]


@dataclass(frozen=True)
class WitnessingNode:
    """What both sides need: the node's agreements and authorities, its log's signer, the
    partners' public signing keys (from the signed directories) and our private ones."""

    agreements: Mapping[str, Agreement]
    hosted: Sequence[str]
    own_state: str
    signer: LogSigner
    resolve: KeyResolver
    own: OwnKey


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def witnesses_of(agreements: Mapping[str, Agreement], own_state: str) -> list[tuple[str, str]]:
    """(agreement, authority) per partner state: the first of the state's authorities that an
    agreement with it names. One witness per partner node is enough to detect a split view."""
    chosen: dict[str, tuple[str, str]] = {}
    for agreement in agreements.values():
        for state in sorted(agreement.partner_states(own_state)):
            first = agreement.authorities_of(state)[0]
            chosen.setdefault(state, (agreement.id, first.id))
    return [chosen[state] for state in sorted(chosen)]


def _last_sent_size(session: Session, signer: LogSigner, witness_authority: str) -> int | None:
    """The size of the last checkpoint sent to this witness (None: never sent one)."""
    body = session.scalars(
        select(OutboxMessage.body)
        .where(
            OutboxMessage.type == CHECKPOINT,
            OutboxMessage.sender == signer.authority,
            OutboxMessage.recipient == witness_authority,
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).first()
    return None if body is None else int(json.loads(body)["size"])


def _cosigned_size(session: Session, witness_authority: str) -> int:
    size = session.scalar(
        select(func.max(AuditCosignature.size)).where(AuditCosignature.witness == witness_authority)
    )
    return int(size or 0)


def send_checkpoints(uow: UnitOfWork, node: WitnessingNode, now: datetime) -> list[str]:
    """Sign the log's head when it grew and send it to every partner whose answer to the
    previous one has come; returns the witnesses it was sent to."""
    session, signer = uow.session, node.signer
    size = tree_size(session)
    if size == 0:
        return []
    signed = latest_checkpoint(session)
    if signed is None or signed.checkpoint.size < size:
        private = ed25519_private_key(signer.key)
        signed = make_checkpoint(session, signer.origin, signer.origin, private, now)
    sent_to = []
    for agreement_id, witness_authority in witnesses_of(node.agreements, node.own_state):
        last_sent = _last_sent_size(session, signer, witness_authority)
        cosigned = _cosigned_size(session, witness_authority)
        if last_sent is not None and (last_sent != cosigned or last_sent >= signed.checkpoint.size):
            continue  # awaiting the answer, or nothing new to show
        proof = (
            consistency_proof_between(session, cosigned, signed.checkpoint.size) if cosigned else []
        )
        body = {"note": signed.note, "kid": signer.kid, "size": signed.checkpoint.size,
                "old_size": cosigned, "proof": [_b64(node) for node in proof]}  # fmt: skip
        command = SendMessage(agreement_id, signer.authority, witness_authority, CHECKPOINT, body)
        _enqueue(uow, node, command, now)
        sent_to.append(witness_authority)
    uow.commit()
    return sent_to


def _enqueue(
    uow: UnitOfWork, node: WitnessingNode, command: SendMessage, now: datetime,
    *, in_reply_to: str | None = None,
) -> None:  # fmt: skip
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


def file_audit_messages(
    uow: UnitOfWork, node: WitnessingNode, now: datetime, *, limit: int = 100
) -> int:
    """Witness received checkpoints and keep received cosignatures; returns how many."""
    rows = list(uow.session.scalars(
        select(InboxMessage).where(InboxMessage.status == FOR_AUDIT).order_by(InboxMessage.id)
        .limit(limit)
    ))  # fmt: skip
    for row in rows:
        try:
            body = json.loads(row.body)
            if row.type == CHECKPOINT:
                row.status = _witness(uow, node, row, body, now)
            else:
                row.status = _keep_cosignature(uow.session, node, row, body, now)
        except (AuditError, KeyError, TypeError, ValueError) as error:
            detail = getattr(error, "detail", str(error))
            _security(uow.session, "audit-refused", f"{row.type} {row.message_id}: {detail}",
                      row, now)  # fmt: skip
            row.status = "refused"
    uow.commit()
    return len(rows)


def _public(node: WitnessingNode, authority: str, kid: str, now: datetime) -> OKPKey:
    key = node.resolve(authority, kid, now)
    if key is None:
        raise NoteRejected(f"{authority} has no signing key {kid!r} in the directory")
    return key


def _witness(
    uow: UnitOfWork, node: WitnessingNode, row: InboxMessage, body: Mapping[str, Any],
    now: datetime,
) -> str:  # fmt: skip
    note = str(body["note"])
    origin = parse_checkpoint(note_text(note)).origin
    verifier = verifier_key(origin, ed25519_public_key(_public(node, row.sender, body["kid"], now)))
    ours = node.own(row.recipient, now)
    proof = [base64.b64decode(node, validate=True) for node in body["proof"]]
    try:
        cosigned = witness(uow.session, note, proof, origin_verifier_key=verifier,
                           our_key_name=row.recipient, our_private_key=ed25519_private_key(ours),
                           now=now)  # fmt: skip
    except SplitView as error:
        _security(uow.session, "split-view", f"{origin}: {error.detail}", row, now)
        log.error("split view", origin=origin, sender=row.sender, detail=error.detail)
        return "split-view"
    size = int(body["size"])
    record(uow.session, events.checkpoint_cosigned(at=now, authority=row.recipient,
                                                   origin=origin, size=size))  # fmt: skip
    reply = {"note": cosigned, "kid": str(ours.kid), "size": size}
    command = SendMessage(row.agreement_id, row.recipient, row.sender, COSIGNATURE, reply)
    _enqueue(uow, node, command, now, in_reply_to=row.message_id)
    return "witnessed"


def _keep_cosignature(
    session: Session, node: WitnessingNode, row: InboxMessage, body: Mapping[str, Any],
    now: datetime,
) -> str:  # fmt: skip
    public = ed25519_public_key(_public(node, row.sender, body["kid"], now))
    store_cosignature(session, int(body["size"]), row.sender, str(body["note"]), now,
                      witness_key=public)  # fmt: skip
    return "cosignature-kept"


def _security(session: Session, reason: str, detail: str, row: InboxMessage, now: datetime) -> None:
    session.add(SecurityEvent(at=now, reason=reason, detail=detail, peer=row.sender,
                              size=len(row.body), envelope_sha256=row.envelope_sha256))  # fmt: skip


def witnessing_node(node: Node, trust: Trust) -> WitnessingNode:
    """The node's witnessing setup: its log signed by its first authority's current key."""
    authority = node.settings.authorities[0]
    signing = FileKeyStore(node.settings.resolved_key_dir).current_signing(authority)
    signer = LogSigner(authority, log_origin(node.settings), signing.key)
    # Only agreements with a signed directory have partner nodes to reach.
    reachable = {k: a for k, a in node.agreements.items() if k in trust.directories}
    return WitnessingNode(reachable, node.settings.authorities, node.settings.state,
                          signer, trust.resolve_signing_key, trust.signing_key)  # fmt: skip


def log_origin(settings: Settings) -> str:
    """The log's origin line: unique per node, stable for the log's whole life."""
    return f"migrex.{settings.state.lower()}/{settings.node_id}/audit"


def witness_keys(trust: Trust, at: datetime) -> dict[str, Ed25519PublicKey]:
    """Each partner authority's signing key valid at `at`, by authority id: the names its
    cosignatures are made under, for `verify` to check them."""
    keys = {}
    for directory in trust.directories.values():
        for entry in directory.entries:
            if entry.authority_id in trust.hosted:
                continue
            valid = [k for k in entry.signing_keys if k.valid_at(at)]
            if valid:
                newest = max(valid, key=lambda k: k.not_before)
                keys[entry.authority_id] = ed25519_public_key(newest.key)
    return keys
