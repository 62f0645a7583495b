"""Receipts: the receiving authority's signed word that it received one exact envelope.

A receipt is a compact JWS (Ed25519, `typ` = `RECEIPT_TYP`, kid = thumbprint) over canonical
JSON: `envelope_sha256`, `message_id`, `receiver`, `received_at` (integer seconds, like `iat`)
and `extra` (an object, `{}` by default; room for the audit log's inclusion proof). The hash
binds the receipt to the bytes the sender stored, which is why a relay resends the same
envelope rather than sealing again. The distinct `typ` keeps a receipt from passing as a
message and a message from passing as a receipt, though the same authority key signs both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from joserfc.jwk import OKPKey

from migrex.envelope import jose
from migrex.envelope.ids import is_message_id
from migrex.envelope.model import (
    RECEIPT_TYP,
    SIGNATURE_ALG,
    SigningKeyResolver,
    canonical_json,
    is_authority_id,
    numeric_date,
    strict_json_object,
)
from migrex.envelope.seal import sign_compact, verifier
from migrex.errors import MigrexError

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_PAYLOAD_KEYS = frozenset({"envelope_sha256", "message_id", "receiver", "received_at", "extra"})
_HEADER_KEYS = frozenset({"alg", "kid", "typ"})
# A receipt is small; anything near this is not one, and is refused before parsing.
MAX_RECEIPT_BYTES = 64 * 1024

ReceiptReason = Literal[
    "malformed",
    "unknown-signer-key",
    "bad-signature",
    "wrong-envelope",
    "wrong-receiver",
]
RECEIPT_REASONS: frozenset[str] = frozenset(get_args(ReceiptReason))


class ReceiptInvalid(MigrexError):
    """A peer's receipt does not prove delivery of our envelope; the message stays undelivered.

    `reason` is one of `RECEIPT_REASONS`. The status is 502: the fault lies with the peer.
    """

    type_slug = "receipt-invalid"
    title = "The peer's receipt is invalid"
    status = 502

    def __init__(self, reason: ReceiptReason, detail: str) -> None:
        super().__init__(detail)
        self.reason: ReceiptReason = reason
        self.type_slug = f"receipt-{reason}"

    @classmethod
    def problem_types(cls) -> tuple[tuple[str, int, str], ...]:
        return tuple(
            (f"receipt-{reason}", cls.status, cls.title) for reason in sorted(RECEIPT_REASONS)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """A verified receipt. `received_at` is in whole seconds, UTC, as signed."""

    envelope_sha256: str
    message_id: str
    receiver: str
    received_at: datetime
    signer_kid: str
    extra: Mapping[str, Any] = field(default_factory=dict)


def sign_receipt(
    *,
    envelope_sha256: str,
    message_id: str,
    receiver: str,
    received_at: datetime,
    signing_key: OKPKey,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """The compact JWS receipt, signed by `receiver`'s private Ed25519 `signing_key`.

    Raises ValueError for a malformed hash, id, receiver or naive time, TypeError for an
    `extra` that is not JSON.
    """
    if not _SHA256_HEX.fullmatch(envelope_sha256):
        raise ValueError("envelope_sha256 must be 64 lower-case hex digits")
    if not is_message_id(message_id):
        raise ValueError(f"message_id must be a UUIDv7, got {message_id!r}")
    if not is_authority_id(receiver):
        raise ValueError(f"receiver must be an authority id, got {receiver!r}")
    if received_at.utcoffset() is None:
        raise ValueError("received_at must be an aware datetime")
    payload = canonical_json(
        {
            "envelope_sha256": envelope_sha256,
            "message_id": message_id,
            "receiver": receiver,
            "received_at": int(received_at.timestamp()),
            "extra": dict(extra or {}),
        }
    )
    return sign_compact(payload, signing_key, RECEIPT_TYP)


def _parse(raw: bytes) -> tuple[jose.CompactJWS, str, dict[str, Any]]:
    """The parsed JWS, its kid and its payload; ReceiptInvalid("malformed") otherwise."""
    try:
        signed = jose.split_jws(raw)
        header = strict_json_object(signed.header)
        payload = strict_json_object(signed.payload)
    # Hostile bytes in the parsers: any failure means a bad receipt.
    except Exception:
        raise ReceiptInvalid("malformed", "the receipt is not a compact JWS") from None
    kid = header.get("kid")
    if (
        set(header) != _HEADER_KEYS
        or header.get("alg") != SIGNATURE_ALG
        or header.get("typ") != RECEIPT_TYP
        or not isinstance(kid, str)
        or not 0 < len(kid) <= 128
    ):
        raise ReceiptInvalid(
            "malformed", f"the receipt header must be {SIGNATURE_ALG}, {RECEIPT_TYP}"
        )
    if set(payload) != _PAYLOAD_KEYS:
        raise ReceiptInvalid("malformed", "the receipt carries the wrong fields")
    return signed, kid, payload


def verify_receipt(
    token: str | bytes,
    *,
    resolve_signing_key: SigningKeyResolver,
    expected_envelope_sha256: str,
    expected_receiver: str,
) -> Receipt:
    """The receipt, once its signature and content prove `expected_receiver` received the
    envelope whose SHA-256 is `expected_envelope_sha256`; ReceiptInvalid otherwise.

    The signing key is looked up for the receiver, by kid, valid at the signed `received_at`
    (a receipt stays verifiable after the key is rotated out). Exceptions the resolver
    raises itself pass through.
    """
    if not isinstance(token, str | bytes | bytearray) or len(token) > MAX_RECEIPT_BYTES:
        raise ReceiptInvalid(
            "malformed", f"a receipt is text or bytes, at most {MAX_RECEIPT_BYTES}"
        )
    try:
        raw = token.encode("ascii") if isinstance(token, str) else bytes(token)
    except UnicodeEncodeError:
        raise ReceiptInvalid("malformed", "a receipt is ASCII text") from None
    signed, kid, payload = _parse(raw)

    receiver, message_id, digest = (
        payload["receiver"],
        payload["message_id"],
        payload["envelope_sha256"],
    )
    extra = payload["extra"]
    try:
        received_at = numeric_date("received_at", payload["received_at"])
    except ValueError as error:
        raise ReceiptInvalid("malformed", str(error)) from None
    if not (
        is_authority_id(receiver)
        and is_message_id(message_id)
        and isinstance(digest, str)
        and isinstance(extra, dict)
    ):
        raise ReceiptInvalid("malformed", "the receipt's fields have the wrong form")

    key = resolve_signing_key(receiver, kid, received_at)
    if key is None:
        raise ReceiptInvalid(
            "unknown-signer-key", f"the directory lists no key {kid!r} for {receiver!r}"
        )
    try:
        valid = jose.verifies(signed, verifier(key))
    except Exception:  # a directory key of the wrong curve or use proves nothing
        valid = False
    if not valid:
        raise ReceiptInvalid(
            "bad-signature", f"the receipt does not verify with {receiver!r} key {kid!r}"
        )
    if receiver != expected_receiver:
        raise ReceiptInvalid("wrong-receiver", f"signed by {receiver!r}, not {expected_receiver!r}")
    if digest != expected_envelope_sha256:
        raise ReceiptInvalid("wrong-envelope", "the receipt is for another envelope")
    return Receipt(
        envelope_sha256=digest,
        message_id=message_id,
        receiver=receiver,
        received_at=received_at,
        signer_kid=kid,
        extra=extra,
    )
