"""Envelopes: sealing and opening messages between authorities, and receipts for them.

Pure functions, no network and no database: the exchange feature stores and sends what
these produce. See `model` for the wire profile.
"""

from __future__ import annotations

from migrex.envelope.ids import is_message_id, message_id_time, new_message_id
from migrex.envelope.model import (
    REJECTION_REASONS,
    DecryptionKey,
    EnvelopeRejected,
    MessageClaims,
    OpenedMessage,
    SigningKeyResolver,
    canonical_json,
)
from migrex.envelope.opening import open_envelope
from migrex.envelope.receipt import (
    RECEIPT_REASONS,
    Receipt,
    ReceiptInvalid,
    sign_receipt,
    verify_receipt,
)
from migrex.envelope.seal import key_id, seal

__all__ = [
    "RECEIPT_REASONS",
    "REJECTION_REASONS",
    "DecryptionKey",
    "EnvelopeRejected",
    "MessageClaims",
    "OpenedMessage",
    "Receipt",
    "ReceiptInvalid",
    "SigningKeyResolver",
    "canonical_json",
    "is_message_id",
    "key_id",
    "message_id_time",
    "new_message_id",
    "open_envelope",
    "seal",
    "sign_receipt",
    "verify_receipt",
]
