"""Interoperability: an independent JOSE implementation (jwcrypto) reads what migrex writes,
and migrex opens what jwcrypto writes, so a peer need not run migrex's own stack."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from joserfc.jwk import OKPKey
from jwcrypto import jwe as jc_jwe
from jwcrypto import jwk as jc_jwk
from jwcrypto import jws as jc_jws

from migrex.envelope import (
    DecryptionKey,
    MessageClaims,
    key_id,
    new_message_id,
    open_envelope,
    seal,
    sign_receipt,
)
from migrex.envelope.model import message_payload

NOW = datetime(2025, 9, 3, 10, 0, 0, tzinfo=UTC)


def as_jwcrypto(key: OKPKey, *, private: bool) -> jc_jwk.JWK:
    return jc_jwk.JWK(**key.as_dict(private=private))


def claims() -> MessageClaims:
    return MessageClaims(
        sender="kz-mia",
        recipient="am-mcs",
        agreement="kz-am-2024",
        message_id=new_message_id(),
        type="statistical-release",
        case_id=None,
        in_reply_to=None,
        issued_at=NOW,
        expires_at=NOW + timedelta(days=7),
    )


def test_jwcrypto_decrypts_and_verifies_a_migrex_envelope() -> None:
    signing, encryption = OKPKey.generate_key("Ed25519"), OKPKey.generate_key("X25519")
    message, body = claims(), {"workers": {"2024": 2623, "2025": 2134}, "unit": "persons"}
    token = seal(message, body, signing_key=signing, recipient_key=encryption)

    outer = jc_jwe.JWE()
    outer.allowed_algs = ["ECDH-ES+A256KW", "A256GCM"]
    outer.deserialize(token, key=as_jwcrypto(encryption, private=True))
    header = json.loads(outer.objects["protected"])
    assert header["kid"] == as_jwcrypto(encryption, private=False).thumbprint()
    assert header["cty"] == "migrex-message+jws"

    inner = jc_jws.JWS()
    inner.allowed_algs = ["Ed25519"]
    inner.deserialize(outer.payload.decode("ascii"))
    inner.verify(as_jwcrypto(signing, private=False))
    assert inner.jose_header["kid"] == as_jwcrypto(signing, private=False).thumbprint()
    assert inner.payload == message_payload(message, body)
    decoded = json.loads(inner.payload)
    assert decoded["body"] == body
    assert decoded["message_id"] == message.message_id
    assert decoded["iat"] == int(NOW.timestamp())


def test_migrex_opens_an_envelope_made_by_jwcrypto() -> None:
    signing, encryption = OKPKey.generate_key("Ed25519"), OKPKey.generate_key("X25519")
    message = claims()
    signer = jc_jws.JWS(message_payload(message, {"q": "Ереван"}))
    signer.allowed_algs = ["Ed25519"]
    signer.add_signature(
        as_jwcrypto(signing, private=True),
        protected={"alg": "Ed25519", "kid": key_id(signing), "typ": "migrex-message+jws"},
    )
    outer = jc_jwe.JWE(
        signer.serialize(compact=True).encode(),
        protected={
            "alg": "ECDH-ES+A256KW",
            "enc": "A256GCM",
            "kid": key_id(encryption),
            "cty": "migrex-message+jws",
        },
    )
    outer.add_recipient(as_jwcrypto(encryption, private=False))
    opened = open_envelope(
        outer.serialize(compact=True),
        decryption_keys={key_id(encryption): DecryptionKey("am-mcs", encryption)},
        resolve_signing_key=lambda *_: OKPKey.import_key(signing.as_dict(private=False)),
        hosted_authorities={"am-mcs"},
        agreements={"kz-am-2024"},
        now=NOW,
        max_bytes=64 * 1024,
        seen=lambda _: False,
    )
    assert opened.claims == message
    assert opened.body == {"q": "Ереван"}


def test_jwcrypto_verifies_a_receipt() -> None:
    signing = OKPKey.generate_key("Ed25519")
    token = sign_receipt(
        envelope_sha256="ab" * 32,
        message_id=new_message_id(),
        receiver="am-mcs",
        received_at=NOW,
        signing_key=signing,
        extra={"inclusion_proof": {"leaf_index": 41, "tree_size": 42, "path": []}},
    )
    receipt = jc_jws.JWS()
    receipt.allowed_algs = ["Ed25519"]
    receipt.deserialize(token)
    receipt.verify(as_jwcrypto(signing, private=False))
    assert receipt.jose_header == {
        "alg": "Ed25519",
        "kid": key_id(signing),
        "typ": "migrex-receipt+jws",
    }
    content = json.loads(receipt.payload)
    assert content["envelope_sha256"] == "ab" * 32
    assert content["received_at"] == int(NOW.timestamp())
    assert content["extra"]["inclusion_proof"]["tree_size"] == 42
