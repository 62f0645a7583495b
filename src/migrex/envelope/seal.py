"""Sealing: sign the message as its sender, then encrypt it to its recipient. Pure, no I/O.

Sign-then-encrypt leaves the sender's signature readable only by the recipient; the signed
claims name the recipient, so a recipient cannot re-encrypt the signed message to a third
party and pass it off as addressed there (the "surreptitious forwarding" attack).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from joserfc.jwe import JWERegistry
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry

from migrex.envelope import jose
from migrex.envelope.model import (
    CONTENT_ENCRYPTION,
    KEY_AGREEMENT_ALG,
    MESSAGE_TYP,
    SIGNATURE_ALG,
    MessageClaims,
    message_payload,
)

# The per-message path (`seal`, `open_envelope`, receipts) runs on `jose`; these registries are
# for the rarer tokens other packages still make and read with joserfc.
# joserfc's defaults (64 KiB ciphertext, 128 kB JWS payload) would cut statistical releases
# short. The receiver's own `max_bytes` cap, checked before any parsing, is the real limit;
# this ceiling only keeps joserfc from being the one to refuse.
SIZE_CEILING = 256 * 1024 * 1024


def _jws_registry() -> JWSRegistry:
    # Only the one algorithm we use is allowed: never "none", never the ambiguous "EdDSA".
    registry = JWSRegistry(algorithms=[SIGNATURE_ALG])
    registry.max_payload_length = SIZE_CEILING
    return registry


def _jwe_registry() -> JWERegistry:
    registry = JWERegistry(algorithms=[KEY_AGREEMENT_ALG, CONTENT_ENCRYPTION])
    registry.max_ciphertext_length = SIZE_CEILING
    return registry


JWS_REGISTRY = _jws_registry()
JWE_REGISTRY = _jwe_registry()


# Thumbprints by public key: hashing a JWK on every seal cost about a tenth of sealing.
_KIDS: dict[tuple[str, str], str] = {}
_MAX_KIDS = 4096


def key_id(key: OKPKey) -> str:
    """The key's id: its RFC 7638 SHA-256 thumbprint (same for the private and public half)."""
    members = key.dict_value  # joserfc caches this on the key
    public = (str(members["crv"]), str(members["x"]))
    kid = _KIDS.get(public)
    if kid is None:
        if len(_KIDS) >= _MAX_KIDS:  # a directory holds far fewer keys; never grow unbounded
            _KIDS.clear()
        kid = _KIDS[public] = key.thumbprint()
    return kid


def check_curve(key: object, curve: str, *, private: bool = False) -> OKPKey:
    """`key` if it is an OKP key on `curve` (and private, when asked); ValueError otherwise."""
    if not isinstance(key, OKPKey) or key.curve_name != curve:
        raise ValueError(f"expected an OKP {curve} key, got {key!r}")
    if private and not key.is_private:
        raise ValueError(f"expected a private {curve} key")
    return key


# The `cryptography` key inside a joserfc key, after the checks joserfc makes before using it:
# the JWK's "use", "alg" and "key_ops" members, where present, must allow the operation.

_OpKey = TypeVar("_OpKey")


def _per_key(check: Callable[[object], _OpKey]) -> Callable[[object], _OpKey]:
    """`check`, remembered per key object: the checks cost more than an AES-GCM pass over a
    message, and the same few directory keys serve every message. An entry goes when its key
    object does, so a key dropped from the directory leaves nothing of itself here."""
    remembered: dict[int, tuple[weakref.ref[Any], _OpKey]] = {}

    @functools.wraps(check)
    def checked(key: object) -> _OpKey:
        slot = id(key)
        entry = remembered.get(slot)
        if entry is not None and entry[0]() is key:
            return entry[1]
        op_key = check(key)  # raises for a key that does not fit: nothing is remembered

        def forget(gone: weakref.ref[Any]) -> None:
            if remembered.get(slot, (None,))[0] is gone:
                remembered.pop(slot, None)

        remembered[slot] = (weakref.ref(key, forget), op_key)
        return op_key

    return checked


@_per_key
def signer(key: object) -> Ed25519PrivateKey:
    """The Ed25519 private key of `key` for signing; ValueError (or joserfc's error) otherwise."""
    okp = check_curve(key, "Ed25519", private=True)
    okp.check_use("sig")
    okp.check_alg(SIGNATURE_ALG)
    op_key = okp.get_op_key("sign")
    if not isinstance(op_key, Ed25519PrivateKey):  # pragma: no cover - check_curve saw to it
        raise ValueError("expected a private Ed25519 key")
    return op_key


@_per_key
def verifier(key: object) -> Ed25519PublicKey:
    """The Ed25519 public key of `key` for verifying; ValueError (or joserfc's error) otherwise."""
    okp = check_curve(key, "Ed25519")
    okp.check_use("sig")
    okp.check_alg(SIGNATURE_ALG)
    op_key = okp.get_op_key("verify")
    if not isinstance(op_key, Ed25519PublicKey):  # pragma: no cover - check_curve saw to it
        raise ValueError("expected an Ed25519 key")
    return op_key


@_per_key
def encrypter(key: object) -> X25519PublicKey:
    """The X25519 public key of `key` to encrypt to; ValueError (or joserfc's error) otherwise."""
    okp = check_curve(key, "X25519")
    okp.check_use("enc")
    op_key = okp.get_op_key("deriveKey")
    if not isinstance(op_key, X25519PublicKey):  # pragma: no cover - check_curve saw to it
        raise ValueError("expected an X25519 key")
    return op_key


@_per_key
def decrypter(key: object) -> X25519PrivateKey:
    """The X25519 private key of `key` to decrypt with; ValueError (or joserfc's) otherwise."""
    okp = check_curve(key, "X25519", private=True)
    okp.check_use("enc")
    op_key = okp.private_key
    if not isinstance(op_key, X25519PrivateKey):  # pragma: no cover - check_curve saw to it
        raise ValueError("expected a private X25519 key")
    return op_key


def sign_compact(payload: bytes, signing_key: OKPKey, typ: str) -> str:
    """A compact JWS over `payload` with the Ed25519 `signing_key`, its thumbprint as kid."""
    header = {"alg": SIGNATURE_ALG, "kid": key_id(signing_key), "typ": typ}
    return jose.sign(header, payload, signer(signing_key))


def seal(
    claims: MessageClaims,
    body: Mapping[str, Any],
    *,
    signing_key: OKPKey,
    recipient_key: OKPKey,
) -> str:
    """The envelope for one message: JWE compact (ASCII) wrapping the sender's JWS.

    `signing_key` is the sender authority's private Ed25519 key, `recipient_key` the
    recipient authority's X25519 key (public is enough). Every call draws a fresh ephemeral
    key, so sealing twice gives different envelopes: seal once and resend the same bytes.
    Raises ValueError/TypeError for a body that is not a JSON object or wrong keys.
    """
    to = encrypter(recipient_key)
    signed = sign_compact(message_payload(claims, body), signing_key, MESSAGE_TYP)
    header = {
        "alg": KEY_AGREEMENT_ALG,
        "enc": CONTENT_ENCRYPTION,
        "kid": key_id(recipient_key),
        "cty": MESSAGE_TYP,
    }
    return jose.encrypt(header, signed.encode("ascii"), to)
