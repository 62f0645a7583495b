"""Co-signing a consultation's outcome: pure Ed25519 signatures over the outcome text bound to
its agreement and case, so a signature cannot be moved to another case or an edited text."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from joserfc.jwk import OKPKey

from migrex.casework.messages import CoSignature, outcome_signing_input
from migrex.envelope import key_id

__all__ = ["cosign", "verify_cosignature"]


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cosign(
    signing_key: OKPKey, *, authority: str, agreement_id: str, case_id: str, outcome: str,
    now: datetime,
) -> CoSignature:  # fmt: skip
    """`authority`'s co-signature of `outcome` in this agreement's case, made with its key."""
    private = signing_key.private_key if signing_key.is_private else None
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError("a co-signature needs the authority's private Ed25519 key")
    signature = private.sign(outcome_signing_input(agreement_id, case_id, outcome))
    return CoSignature(authority=authority, key_id=key_id(signing_key),
                       signature=_b64url(signature), signed_at=now)  # fmt: skip


def verify_cosignature(
    cosignature: CoSignature, public_key: OKPKey | None, *, agreement_id: str, case_id: str,
    outcome: str,
) -> bool:  # fmt: skip
    """Whether `cosignature` is a valid Ed25519 signature by `public_key` over this outcome text
    in this agreement's case, and `public_key` is the key the co-signature names. Pure."""
    if public_key is None or key_id(public_key) != cosignature.key_id:
        return False
    public = public_key.public_key
    if not isinstance(public, Ed25519PublicKey):
        return False
    try:
        public.verify(
            _unb64url(cosignature.signature),
            outcome_signing_input(agreement_id, case_id, outcome),
        )
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
