"""Sealing one stored text under its own data key (AES-256-GCM), and wrapping that key under
the node's retention key, so that destroying the data key makes the text unreadable for good.

Pure functions: no database, no files. The record reference is bound in as associated data,
so a sealed text copied onto another record does not open there.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from migrex.errors import MigrexError

PREFIX = "sealed:v1:"
NONCE_BYTES = 12
KEY_BYTES = 32


class SealBroken(MigrexError):
    type_slug = "seal-broken"
    title = "A sealed record does not open with its key"
    status = 500


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=8 * KEY_BYTES)


def is_sealed(text: str) -> bool:
    return text.startswith(PREFIX)


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError) as error:
        raise SealBroken("the record was altered or belongs to another record") from error


def seal_text(key: bytes, text: str, record: str) -> str:
    sealed = _seal(key, text.encode("utf-8"), record.encode("utf-8"))
    return PREFIX + base64.b64encode(sealed).decode("ascii")


def open_text(key: bytes, sealed: str, record: str) -> str:
    if not is_sealed(sealed):
        raise SealBroken("the text is not sealed")
    raw = base64.b64decode(sealed[len(PREFIX) :], validate=True)
    return _open(key, raw, record.encode("utf-8")).decode("utf-8")


def wrap_key(node_key: bytes, data_key: bytes, record: str) -> bytes:
    """The data key sealed under the node's retention key: a database copy alone opens nothing."""
    return _seal(node_key, data_key, b"data-key:" + record.encode("utf-8"))


def unwrap_key(node_key: bytes, wrapped: bytes, record: str) -> bytes:
    return _open(node_key, wrapped, b"data-key:" + record.encode("utf-8"))
