"""The crypto ceiling of the exchange: how many messages per second this machine could move if
it did nothing but the cryptography every message needs.

Per message, in one process: the sender seals (JWS signature, then JWE to the recipient), the
receiver opens (decrypts, verifies), signs a receipt, and the sender verifies the receipt.
The time of one round, with the real keys of the benchmark's nodes and a real inquiry body,
gives a rate for one core; times the cores, the ceiling. A node that reaches a large share of
it spends its time on cryptography, not on everything around it.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from migrex.audit.receipt_proof import CLAIM, proof_claims
from migrex.envelope import (
    MessageClaims,
    new_message_id,
    open_envelope,
    seal,
    sign_receipt,
    verify_receipt,
)
from migrex.exchange.trust import Trust


def cores() -> int:
    """The cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def ceiling_per_s(seconds_per_message: float, cores: int) -> float:
    """Messages per second when every core does only the per-message cryptography."""
    if seconds_per_message <= 0 or cores < 1:
        raise ValueError("a positive time per message and at least one core")
    return cores / seconds_per_message


def share_of_ceiling(msgs_per_s: float, ceiling: float) -> float:
    """`msgs_per_s / ceiling`: 1.0 would mean the node does nothing but cryptography."""
    if ceiling <= 0:
        raise ValueError("the ceiling must be positive")
    return msgs_per_s / ceiling


def one_round(
    sender: Trust, receiver: Trust, claims: MessageClaims, body: Mapping[str, Any], now: datetime
) -> None:
    """Seal, open, sign the receipt, verify it: what one message costs in cryptography."""
    envelope = seal(
        claims,
        body,
        signing_key=sender.signing_key(claims.sender, now),
        recipient_key=sender.recipient_key(claims.agreement, claims.recipient, now),
    )
    opened = open_envelope(
        envelope, decryption_keys=receiver.decryption_keys(now),
        resolve_signing_key=receiver.resolve_signing_key, hosted_authorities=receiver.hosted,
        agreements=(claims.agreement,), now=now, max_bytes=4 * 1024 * 1024,
        seen=lambda _message_id: False,
    )  # fmt: skip
    # A receipt as the receiver signs it: with the proof that the envelope is in its log
    # (a proof's length at a log of a million entries).
    proof = [hashlib.sha256(b"%d" % n).digest() for n in range(20)]
    leaf = opened.envelope_sha256.encode()
    receipt = sign_receipt(
        envelope_sha256=opened.envelope_sha256, message_id=claims.message_id,
        receiver=claims.recipient, received_at=now,
        signing_key=receiver.signing_key(claims.recipient, now),
        extra={CLAIM: proof_claims(leaf, index=999_999, size=1_000_000, root=proof[0],
                                   proof=proof)},
    )  # fmt: skip
    verify_receipt(
        receipt, resolve_signing_key=sender.resolve_signing_key,
        expected_envelope_sha256=opened.envelope_sha256, expected_receiver=claims.recipient,
    )  # fmt: skip


def measure(
    sender: Trust,
    receiver: Trust,
    *,
    agreement: str,
    sender_authority: str,
    recipient: str,
    body: Mapping[str, Any],
    rounds: int = 300,
) -> dict[str, Any]:
    """Times `rounds` rounds (after a few to warm up); returns the figures the benchmark
    prints: milliseconds per message, the cores, and the ceiling in messages per second."""
    now = datetime.now(UTC)

    def claims() -> MessageClaims:
        message_id = new_message_id(now)
        return MessageClaims(
            sender=sender_authority, recipient=recipient, agreement=agreement,
            message_id=message_id, type="person-inquiry", case_id=message_id, in_reply_to=None,
            issued_at=now, expires_at=now + timedelta(days=1),
        )  # fmt: skip

    for _ in range(10):
        one_round(sender, receiver, claims(), body, now)
    prepared = [claims() for _ in range(rounds)]
    started = time.perf_counter()
    for item in prepared:
        one_round(sender, receiver, item, body, now)
    per_message = (time.perf_counter() - started) / rounds
    count = cores()
    return {
        "crypto_ms_per_msg": round(per_message * 1000, 3),
        "cores": count,
        "ceiling_msgs_per_s": round(ceiling_per_s(per_message, count), 1),
    }
