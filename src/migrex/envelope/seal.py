"""Sealing: sign the message as its sender, then encrypt it to its recipient. Pure, no I/O.

Sign-then-encrypt leaves the sender's signature readable only by the recipient; the signed
claims name the recipient, so a recipient cannot re-encrypt the signed message to a third
party and pass it off as addressed there (the "surreptitious forwarding" attack).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from joserfc import jwe, jws
from joserfc.jwe import JWERegistry
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry

from migrex.envelope.model import (
    CONTENT_ENCRYPTION,
    KEY_AGREEMENT_ALG,
    MESSAGE_TYP,
    SIGNATURE_ALG,
    MessageClaims,
    message_payload,
)

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


def sign_compact(payload: bytes, signing_key: OKPKey, typ: str) -> str:
    """A compact JWS over `payload` with the Ed25519 `signing_key`, its thumbprint as kid."""
    check_curve(signing_key, "Ed25519", private=True)
    header = {"alg": SIGNATURE_ALG, "kid": key_id(signing_key), "typ": typ}
    return jws.serialize_compact(header, payload, signing_key, registry=JWS_REGISTRY)


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
    check_curve(recipient_key, "X25519")
    signed = sign_compact(message_payload(claims, body), signing_key, MESSAGE_TYP)
    header = {
        "alg": KEY_AGREEMENT_ALG,
        "enc": CONTENT_ENCRYPTION,
        "kid": key_id(recipient_key),
        "cty": MESSAGE_TYP,
    }
    return jwe.encrypt_compact(header, signed, recipient_key, registry=JWE_REGISTRY)
