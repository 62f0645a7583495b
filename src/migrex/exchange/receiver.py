"""Receiving a batch of envelopes: open, authenticate, de-duplicate, store, receipt.

Accepted messages and the receipts for them are stored in one transaction per batch; a
rejected envelope leaves only a security event. A message received again with the same bytes
(the sender did not get our receipt) is answered with the receipt stored the first time and is
not stored twice, even once its lifetime has passed; so is the same message re-issued by its
sender in a new envelope (same id, agreement, parties, type, case and reply). A different
message reusing a stored message id is refused as a replay.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, String, Text, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from migrex.audit import events
from migrex.audit.log import current_root, inclusion_proofs_for
from migrex.audit.pending import append_recorded, record
from migrex.audit.receipt_proof import CLAIM, proof_claims
from migrex.db import bulk_insert, in_list
from migrex.envelope import (
    EnvelopeRejected,
    MessageClaims,
    OpenedMessage,
    open_envelope,
    sign_receipt,
)
from migrex.exchange.metrics import ExchangeMetrics
from migrex.exchange.outbox import canonical_json
from migrex.exchange.tables import inbox_table
from migrex.exchange.trust import Trust
from migrex.retention.service import INBOX_BODY, SIGNED_MESSAGE, sealed_copies
from migrex.retention.tables import retention_table
from migrex.security.model import Refusal
from migrex.security.service import note
from migrex.uow import UnitOfWork


@dataclass(frozen=True)
class Outcome:
    status: Literal["accepted", "duplicate", "rejected"]
    message_id: str | None = None
    receipt: str | None = None
    problem: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class DoorSealing:
    """How what arrives is sealed before it is stored: each message under its own data key,
    wrapped by the node's retention key and destroyed when the agreement's retention ends, so
    no plaintext of a received body ever reaches a table, its journal or a backup."""

    node_key: bytes = field(repr=False)
    retention: Mapping[str, timedelta]
    # Messages the node's own machinery reads at once and that carry no person (checkpoints
    # and cosignatures between witnesses) stay in clear.
    clear_types: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ReceiverPolicy:
    agreements: Collection[str]
    max_envelope_bytes: int
    # Longest lifetime (expiry minus issue) a message may claim, per agreement: the inbox
    # must remember a message id for that long to recognise a replay.
    max_lifetime: Mapping[str, timedelta] = field(default_factory=dict)
    # The authorities of each agreement: a sender or recipient outside the agreement its
    # message names is refused, even when its key is in another agreement's directory.
    parties: Mapping[str, frozenset[str]] = field(default_factory=dict)
    sealing: DoorSealing | None = None


def problem_of(error: EnvelopeRejected) -> dict[str, Any]:
    return {
        "type": f"urn:migrex:problem:{error.type_slug}",
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "reason": error.reason,
    }


def receive_batch(
    uow: UnitOfWork,
    trust: Trust,
    tokens: Sequence[str],
    *,
    policy: ReceiverPolicy,
    now: datetime,
    peer: str | None,
    metrics: ExchangeMetrics | None = None,
) -> list[Outcome]:
    """One outcome per token, in order. Commits once; tries again on a concurrent duplicate."""
    opened: list[OpenedMessage | EnvelopeRejected] = []
    keys = trust.decryption_keys(now)
    for token in tokens:
        try:
            opened.append(
                open_envelope(
                    token,
                    decryption_keys=keys,
                    resolve_signing_key=trust.resolve_signing_key,
                    hosted_authorities=trust.hosted,
                    agreements=policy.agreements,
                    now=now,
                    max_bytes=policy.max_envelope_bytes,
                    seen=lambda _message_id: False,  # the inbox decides, below
                )
            )
        except EnvelopeRejected as rejected:
            opened.append(rejected)
    # Each pass but the last meets a message another request stored meanwhile, which the next
    # pass finds stored: a batch of n messages needs at most n + 1 (it met one after another
    # of its messages, each stored by another relay that sent it again after a timeout).
    attempts = len(tokens) + 1
    for attempt in range(1, attempts + 1):
        try:
            outcomes = _store(uow, trust, opened, tokens, policy=policy, now=now, peer=peer)
            uow.commit()
            break
        except IntegrityError:
            # Another request stored one of these message ids between our read and our write;
            # the next pass finds it and answers with its receipt.
            uow.session.rollback()
            if attempt == attempts:
                raise
    if metrics:
        for outcome in outcomes:
            if outcome.status == "accepted":
                metrics.received.inc()
            elif outcome.status == "duplicate":
                metrics.duplicates.inc()
            else:
                metrics.rejected.labels((outcome.problem or {}).get("reason", "unknown")).inc()
    return outcomes


def _store(
    uow: UnitOfWork,
    trust: Trust,
    opened: Sequence[OpenedMessage | EnvelopeRejected],
    tokens: Sequence[str],
    *,
    policy: ReceiverPolicy,
    now: datetime,
    peer: str | None,
) -> list[Outcome]:
    session = uow.session
    ids = [o.claims.message_id for o in opened if isinstance(o, OpenedMessage)]
    ids += [o.message_id for o in opened if not isinstance(o, OpenedMessage)
            and o.reason in _UNTIMELY and o.message_id]  # fmt: skip
    # Only what answers a redelivery is read back, not whole messages.
    query = _stored_query(session.get_bind().dialect.name)
    stored: dict[str, tuple[str, str, tuple[str | None, ...]]] = {
        message_id: (digest, receipt, tuple(addressing))
        for message_id, digest, receipt, *addressing in session.execute(query, {"message_ids": ids})
    }
    new_rows: list[dict[str, Any]] = []
    outcomes: list[Outcome] = []
    # Noted once for the batch: a thousand garbage envelopes are one counted entry.
    refusals: list[Refusal] = []
    for token, item in zip(tokens, opened, strict=True):
        if isinstance(item, EnvelopeRejected):
            kept = stored.get(item.message_id or "")
            if item.reason in _UNTIMELY and kept is not None and kept[0] == item.envelope_sha256:
                # These very bytes are here already: the sender lost our receipt and tries
                # again after the lifetime. It needs the receipt, not a refusal that no
                # retry can change.
                outcomes.append(Outcome("duplicate", item.message_id, kept[1]))
                continue
            outcomes.append(_refuse(refusals, item, token, peer))
            continue
        lifetime = item.claims.expires_at - item.claims.issued_at
        longest = policy.max_lifetime.get(item.claims.agreement)
        if longest is not None and lifetime > longest:
            too_long = EnvelopeRejected(
                "bad-claims",
                f"the message claims a lifetime of {lifetime}; {item.claims.agreement} allows "
                f"at most {longest}",
                envelope_sha256=item.envelope_sha256,
                message_id=item.claims.message_id,
            )
            outcomes.append(_refuse(refusals, too_long, token, peer))
            continue
        parties = policy.parties.get(item.claims.agreement)
        if parties is not None and not {item.claims.sender, item.claims.recipient} <= parties:
            outsider = EnvelopeRejected(
                "not-a-party",
                f"{item.claims.agreement} is between {', '.join(sorted(parties))}; the message "
                f"is from {item.claims.sender} to {item.claims.recipient}",
                envelope_sha256=item.envelope_sha256,
                message_id=item.claims.message_id,
            )
            outcomes.append(_refuse(refusals, outsider, token, peer))
            continue
        message_id = item.claims.message_id
        previous = stored.get(message_id)
        if previous is None:
            row = _inbox_row(item, token, now)
            new_rows.append(row)
            stored[message_id] = (item.envelope_sha256, "", _addressing(item.claims))
            outcomes.append(Outcome("accepted", message_id))
        elif previous[0] == item.envelope_sha256:
            outcomes.append(Outcome("duplicate", message_id, previous[1]))
        elif previous[2] == _addressing(item.claims):
            # The sender re-issued a message we hold (sealed anew, with new times, when it
            # had no receipt for it): it is not filed twice, and the receipt we signed for
            # the envelope we hold answers it. The sender checks that receipt against the
            # envelopes it sealed this message in, so it proves nothing for any other.
            outcomes.append(Outcome("duplicate", message_id, previous[1]))
        else:
            replay = EnvelopeRejected(
                "replayed",
                f"message {item.claims.message_id} was already received in another envelope",
                envelope_sha256=item.envelope_sha256,
                message_id=item.claims.message_id,
            )
            outcomes.append(_refuse(refusals, replay, token, peer))
    if refusals:
        note(session, refusals, now)
    if new_rows:
        # Sealed and stored before the log's head is locked: every other writer of the log
        # waits from the append to the commit, so only the receipts are left for that time.
        if policy.sealing is not None:
            bulk_insert(session, retention_table, seal_rows(new_rows, policy.sealing, now))
        bulk_insert(session, inbox_table, new_rows)
        receipts = _log_and_receipt(session, trust, new_rows, now)
        _store_receipts(session, receipts)
        # Accepted now, or repeated later in this same batch: both answer with the new receipt.
        outcomes = [
            Outcome(o.status, o.message_id, receipts[o.message_id])
            if not o.receipt and o.message_id in receipts
            else o
            for o in outcomes
        ]
    return outcomes


# Refusals for the time an envelope claims, which a redelivery of stored bytes can meet.
_UNTIMELY = frozenset({"expired", "not-yet-valid"})


def _addressing(claims: MessageClaims) -> tuple[str | None, ...]:
    """What a re-issue of a message keeps (its envelope and times change): the same order
    as the columns `_stored_query` reads after the receipt."""
    return (claims.agreement, claims.sender, claims.recipient, claims.type, claims.case_id,
            claims.in_reply_to)  # fmt: skip


def _store_receipts(session: Session, receipts: Mapping[str, str]) -> None:
    """Puts each receipt on its message's row: on PostgreSQL in one statement for the batch,
    its rows as arrays (a statement per row cost more than signing the receipt did)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_STORE_RECEIPTS, {"receipt_for": list(receipts),
                                          "receipts": list(receipts.values())})  # fmt: skip
        return
    session.execute(
        _STORE_RECEIPT, [{"receipt_for": m, "receipt": receipt} for m, receipt in receipts.items()]
    )


_STORE_RECEIPT = (
    update(inbox_table)
    .where(inbox_table.c.message_id == bindparam("receipt_for"))
    .values(receipt=bindparam("receipt"))
)
_SIGNED = (
    func.unnest(
        bindparam("receipt_for", type_=ARRAY(String)), bindparam("receipts", type_=ARRAY(Text))
    )
    .table_valued("message_id", "receipt")
    .render_derived(name="signed")
)
_STORE_RECEIPTS = (
    update(inbox_table)
    .where(inbox_table.c.message_id == _SIGNED.c.message_id)
    .values(receipt=_SIGNED.c.receipt)
)


@functools.cache
def _stored_query(dialect: str) -> Select[Any]:
    inbox = inbox_table.c
    return select(
        inbox.message_id, inbox.envelope_sha256, inbox.receipt, inbox.agreement_id,
        inbox.sender, inbox.recipient, inbox.type, inbox.case_id, inbox.in_reply_to,
    ).where(in_list(inbox.message_id, "message_ids", dialect))  # fmt: skip


def _log_and_receipt(
    session: Session, trust: Trust, rows: list[dict[str, Any]], now: datetime
) -> dict[str, str]:
    """Log every accepted envelope (one append), then sign each receipt with the proof that
    its envelope is in the log: the receipts by message id, to store in the rows."""
    leaves = [
        events.message_received(at=now, recipient=row["recipient"], sender=row["sender"],
                                message_id=row["message_id"],
                                envelope_sha256=row["envelope_sha256"])
        for row in rows
    ]  # fmt: skip
    for leaf in leaves:
        record(session, leaf)
    positions = append_recorded(session, now)[-len(leaves) :]
    size, root = positions[-1] + 1, current_root(session)
    proofs = inclusion_proofs_for(session, positions, size)
    receipts = {}
    for row, leaf, index, proof in zip(rows, leaves, positions, proofs, strict=True):
        receipts[row["message_id"]] = sign_receipt(
            envelope_sha256=row["envelope_sha256"],
            message_id=row["message_id"],
            receiver=row["recipient"],
            received_at=now,
            signing_key=trust.signing_key(row["recipient"], now),
            extra={CLAIM: proof_claims(leaf.encode(), index=index, size=size, root=root,
                                       proof=proof)},
        )  # fmt: skip
    return receipts


def _refuse(
    refusals: list[Refusal], rejection: EnvelopeRejected, token: str, peer: str | None
) -> Outcome:
    """Notes the refusal (never the content) and answers with its problem document."""
    refusals.append(
        Refusal(rejection.reason, rejection.detail, peer, len(token), rejection.envelope_sha256)
    )
    return Outcome("rejected", rejection.message_id, problem=problem_of(rejection))


def _inbox_row(message: OpenedMessage, token: str, now: datetime) -> dict[str, Any]:
    claims = message.claims
    return {
        "message_id": claims.message_id,
        "agreement_id": claims.agreement,
        "sender": claims.sender,
        "recipient": claims.recipient,
        "type": claims.type,
        "case_id": claims.case_id,
        "in_reply_to": claims.in_reply_to,
        "body": canonical_json(message.body),
        "issued_at": claims.issued_at,
        "expires_at": claims.expires_at,
        "received_at": now,
        "sender_kid": message.sender_kid,
        "signed_message": message.signed_message,
        "envelope_sha256": message.envelope_sha256,
        "receipt": "",  # signed once the envelope is logged
        "status": "new",
    }


def seal_rows(
    rows: list[dict[str, Any]], sealing: DoorSealing, now: datetime
) -> list[dict[str, Any]]:
    """Seals the body and signed message of each row in place (but for `clear_types`);
    returns the retention keys to store with them, in the same transaction."""
    keys = []
    for row in rows:
        if row["type"] in sealing.clear_types:
            continue
        retention = sealing.retention.get(row["agreement_id"])
        if retention is None:
            retention = max(sealing.retention.values(), default=timedelta(days=365))
        key_row, sealed = sealed_copies(
            sealing.node_key, record=row["message_id"], agreement_id=row["agreement_id"],
            our_authority=row["recipient"], expires_at=now + retention, now=now,
            texts={INBOX_BODY: row["body"], SIGNED_MESSAGE: row["signed_message"]},
        )  # fmt: skip
        row["body"], row["signed_message"] = sealed[INBOX_BODY], sealed[SIGNED_MESSAGE]
        keys.append(key_row)
    return keys
