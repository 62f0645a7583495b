"""Sealing and opening: the round trip, and every rejection produced by a real envelope."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jwe, jws
from joserfc.jwe import JWERegistry
from joserfc.jwk import Key, OctKey, OKPKey
from joserfc.jws import JWSRegistry

from migrex.envelope import (
    REJECTION_REASONS,
    DecryptionKey,
    EnvelopeRejected,
    MessageClaims,
    OpenedMessage,
    key_id,
    new_message_id,
    open_envelope,
    seal,
)
from migrex.envelope.model import canonical_json, message_payload

NOW = datetime(2025, 9, 3, 10, 0, 0, tzinfo=UTC)


def public(key: OKPKey) -> OKPKey:
    return OKPKey.import_key(key.as_dict(private=False))


@dataclass
class Node:
    """The Armenian node hosting am-mcs and am-police, receiving from kz-mia."""

    kz_mia_sign: OKPKey = field(default_factory=lambda: OKPKey.generate_key("Ed25519"))
    am_mcs_enc: OKPKey = field(default_factory=lambda: OKPKey.generate_key("X25519"))
    am_police_enc: OKPKey = field(default_factory=lambda: OKPKey.generate_key("X25519"))
    retired_enc: OKPKey = field(default_factory=lambda: OKPKey.generate_key("X25519"))
    seen_ids: set[str] = field(default_factory=set)

    def resolve(self, authority: str, kid: str, at: datetime) -> OKPKey | None:
        if authority == "kz-mia" and kid == key_id(self.kz_mia_sign):
            return public(self.kz_mia_sign)
        return None

    def claims(self, **changes: Any) -> MessageClaims:
        values: dict[str, Any] = {
            "sender": "kz-mia",
            "recipient": "am-mcs",
            "agreement": "kz-am-2024",
            "message_id": new_message_id(NOW),
            "type": "inquiry",
            "case_id": "KZ-2025-000123",
            "in_reply_to": None,
            "issued_at": NOW,
            "expires_at": NOW + timedelta(days=30),
        }
        values.update(changes)
        return MessageClaims(**values)

    def seal(
        self, claims: MessageClaims | None = None, body: Mapping[str, Any] | None = None
    ) -> str:
        return seal(
            claims or self.claims(),
            body if body is not None else {"question": "present on the territory?"},
            signing_key=self.kz_mia_sign,
            recipient_key=public(self.am_mcs_enc),
        )

    def open(self, token: str | bytes, **changes: Any) -> OpenedMessage:
        options: dict[str, Any] = {
            "decryption_keys": {
                key_id(self.am_mcs_enc): DecryptionKey("am-mcs", self.am_mcs_enc),
                key_id(self.am_police_enc): DecryptionKey("am-police", self.am_police_enc),
                key_id(self.retired_enc): DecryptionKey("am-retired", self.retired_enc),
            },
            "resolve_signing_key": self.resolve,
            "hosted_authorities": {"am-mcs", "am-police"},
            "agreements": {"kz-am-2024"},
            "now": NOW,
            "max_bytes": 64 * 1024,
            "seen": self.seen_ids.__contains__,
        }
        options.update(changes)
        return open_envelope(token, **options)

    def reason(self, token: str | bytes, **changes: Any) -> str:
        with pytest.raises(EnvelopeRejected) as caught:
            self.open(token, **changes)
        assert caught.value.reason in REJECTION_REASONS
        return caught.value.reason


def craft(
    payload: bytes,
    *,
    signing_key: Key,
    recipient_key: OKPKey,
    jws_header: Mapping[str, Any] | None = None,
    jwe_header: Mapping[str, Any] | None = None,
) -> str:
    """An envelope built by hand, outside `seal`, so it can break any one rule."""
    inner: dict[str, Any] = {"alg": "Ed25519", "typ": "migrex-message+jws"}
    if isinstance(signing_key, OKPKey):
        inner["kid"] = key_id(signing_key)
    inner.update(jws_header or {})
    outer: dict[str, Any] = {
        "alg": "ECDH-ES+A256KW",
        "enc": "A256GCM",
        "kid": key_id(recipient_key),
        "cty": "migrex-message+jws",
    }
    outer.update(jwe_header or {})
    signed = jws.serialize_compact(
        inner, payload, signing_key, registry=JWSRegistry(algorithms=[inner["alg"]])
    )
    algorithms = [outer["alg"], outer["enc"], *([outer["zip"]] if "zip" in outer else [])]
    return jwe.encrypt_compact(
        outer, signed, public(recipient_key), registry=JWERegistry(algorithms=algorithms)
    )


def payload_of(claims: MessageClaims, **changes: Any) -> bytes:
    data: dict[str, Any] = json.loads(message_payload(claims, {"q": 1}))
    data.update(changes)
    return canonical_json({k: v for k, v in data.items() if v is not ...})


@pytest.fixture
def node() -> Node:
    return Node()


def test_round_trip(node: Node) -> None:
    claims = node.claims(in_reply_to=new_message_id())
    body = {"persons": [{"name": "Арман", "permit": None, "count": 2134}], "note": "ok"}
    token = node.seal(claims, body)
    opened = node.open(token)
    assert opened.claims == claims
    assert opened.body == body
    assert opened.envelope_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert opened.sender_kid == key_id(node.kz_mia_sign)
    assert opened.recipient_kid == key_id(node.am_mcs_enc)
    assert node.open(token.encode()).claims == claims  # bytes as well as text
    verified = jws.deserialize_compact(
        opened.signed_message, public(node.kz_mia_sign), algorithms=["Ed25519"]
    )
    assert verified.payload == message_payload(claims, body)


def test_claims_keep_whole_utc_seconds() -> None:
    astana = datetime(2025, 9, 3, 15, 0, 0, 999_999, tzinfo=UTC).astimezone(
        timezone(timedelta(hours=5))
    )
    claims = Node().claims(issued_at=astana, expires_at=astana + timedelta(hours=1))
    assert claims.issued_at == datetime(2025, 9, 3, 15, 0, 0, tzinfo=UTC)
    assert claims.issued_at.tzinfo is UTC


@pytest.mark.parametrize(
    "changes",
    [
        {"sender": "KZ MIA"},
        {"type": ""},
        {"message_id": str(uuid.uuid4())},
        {"in_reply_to": "not-an-id"},
        {"case_id": "has space"},
        {"issued_at": datetime(2025, 1, 1)},  # naive on purpose
        {"expires_at": NOW},
    ],
)
def test_invalid_claims_cannot_be_made(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Node().claims(**changes)


def test_oversized_is_refused_before_anything_else(node: Node) -> None:
    token = node.seal()
    assert node.reason(token, max_bytes=len(token) - 1) == "oversized"
    assert node.reason(token.encode(), max_bytes=len(token) - 1) == "oversized"
    assert node.reason(b"\xff" * 100, max_bytes=99) == "oversized"
    assert node.open(token, max_bytes=len(token)).claims.sender == "kz-mia"


@pytest.mark.parametrize(
    "garbage",
    [b"", b"\x00\xff garbage", "five.dots.but.not.jwe", "é.é.é.é.é", "a.b.c.d.e", b"....", 42],
)
def test_garbage_is_malformed(node: Node, garbage: Any) -> None:
    assert node.reason(garbage) == "malformed"


def test_tampered_ciphertext_does_not_decrypt(node: Node) -> None:
    segments = node.seal().split(".")
    middle = len(segments[3]) // 2
    swapped = "A" if segments[3][middle] != "A" else "B"
    segments[3] = segments[3][:middle] + swapped + segments[3][middle + 1 :]
    assert node.reason(".".join(segments)) == "undecryptable"


def test_a_key_this_node_does_not_hold(node: Node) -> None:
    stranger = OKPKey.generate_key("X25519")
    token = seal(node.claims(), {}, signing_key=node.kz_mia_sign, recipient_key=stranger)
    assert node.reason(token) == "unknown-recipient-key"


def test_a_sender_key_the_directory_does_not_list(node: Node) -> None:
    token = node.seal()
    assert node.reason(token, resolve_signing_key=lambda *_: None) == "unknown-sender-key"
    impostor = OKPKey.generate_key("Ed25519")  # a key with its own, unlisted kid
    token = seal(node.claims(), {}, signing_key=impostor, recipient_key=node.am_mcs_enc)
    assert node.reason(token) == "unknown-sender-key"


def test_the_key_must_be_valid_now_not_at_the_claimed_issue_time(node: Node) -> None:
    retired_at = NOW - timedelta(days=1)
    asked: list[datetime] = []

    def resolve(authority: str, kid: str, at: datetime) -> OKPKey | None:
        asked.append(at)
        return node.resolve(authority, kid, at) if at < retired_at else None

    backdated = node.claims(issued_at=NOW - timedelta(days=2))
    assert node.reason(node.seal(backdated), resolve_signing_key=resolve) == "unknown-sender-key"
    assert asked == [NOW]


def test_a_forged_signature_under_the_senders_kid(node: Node) -> None:
    forger = OKPKey.generate_key("Ed25519")
    token = craft(
        message_payload(node.claims(), {}),
        signing_key=forger,
        recipient_key=node.am_mcs_enc,
        jws_header={"kid": key_id(node.kz_mia_sign)},
    )
    assert node.reason(token) == "bad-signature"


def test_a_directory_key_of_the_wrong_kind_proves_nothing(node: Node) -> None:
    wrong = public(OKPKey.generate_key("X25519"))
    assert node.reason(node.seal(), resolve_signing_key=lambda *_: wrong) == "bad-signature"


def test_wrong_recipient(node: Node) -> None:
    # Signed for am-police but encrypted to am-mcs: a re-addressed envelope.
    readdressed = node.seal(node.claims(recipient="am-police"))
    assert node.reason(readdressed) == "wrong-recipient"
    # Encrypted to a key this node still holds, for an authority it no longer hosts.
    retired = node.claims(recipient="am-retired")
    token = seal(retired, {}, signing_key=node.kz_mia_sign, recipient_key=node.retired_enc)
    assert node.reason(token) == "wrong-recipient"


def test_unknown_agreement(node: Node) -> None:
    token = node.seal(node.claims(agreement="kz-uz-2019"))
    assert node.reason(token) == "unknown-agreement"


def test_expiry_and_issue_time_with_clock_skew(node: Node) -> None:
    skew = timedelta(minutes=5)
    claims = node.claims(issued_at=NOW - timedelta(hours=2), expires_at=NOW - timedelta(hours=1))
    assert node.reason(node.seal(claims)) == "expired"
    edge = node.claims(issued_at=NOW - timedelta(hours=1), expires_at=NOW - skew)
    assert node.reason(node.seal(edge)) == "expired"
    within = node.claims(issued_at=NOW - timedelta(hours=1), expires_at=NOW - skew / 2)
    assert node.open(node.seal(within)).claims == within

    future = node.claims(issued_at=NOW + skew + timedelta(seconds=1))
    assert node.reason(node.seal(future)) == "not-yet-valid"
    slightly_ahead = node.claims(issued_at=NOW + skew)
    assert node.open(node.seal(slightly_ahead)).claims == slightly_ahead


def test_replayed_names_the_message(node: Node) -> None:
    token = node.seal()
    opened = node.open(token)
    node.seen_ids.add(opened.claims.message_id)
    with pytest.raises(EnvelopeRejected) as caught:
        node.open(token)
    assert caught.value.reason == "replayed"
    assert caught.value.status == 409
    assert caught.value.message_id == opened.claims.message_id
    assert caught.value.envelope_sha256 == opened.envelope_sha256


@pytest.mark.parametrize(
    "changes",
    [
        {"message_id": str(uuid.uuid4())},
        {"message_id": new_message_id().upper()},
        {"exp": int(NOW.timestamp()) - 1},
        {"iat": float(NOW.timestamp())},
        {"exp": True},
        {"exp": 10**30},
        {"case_id": 5},
        {"body": []},
        {"recipient": ["am-mcs"]},
        {"extra": "claim"},
        {"in_reply_to": ...},
    ],
)
def test_bad_signed_claims(node: Node, changes: dict[str, Any]) -> None:
    token = craft(
        payload_of(node.claims(), **changes),
        signing_key=node.kz_mia_sign,
        recipient_key=node.am_mcs_enc,
    )
    assert node.reason(token) == "bad-claims"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "malformed"),
        (b"[1, 2]", "malformed"),
        (b'{"sender": "kz-mia", "sender": "kz-mia"}', "malformed"),
        (b'{"sender": "kz-mia", "n": NaN}', "malformed"),
        (b"[" * 100_000 + b"]" * 100_000, "malformed"),
        ("{}".encode("utf-16"), "malformed"),
        (b"{}", "bad-claims"),
        (b'{"sender": "../../etc"}', "bad-claims"),
    ],
)
def test_unusable_payloads(node: Node, payload: bytes, reason: str) -> None:
    token = craft(payload, signing_key=node.kz_mia_sign, recipient_key=node.am_mcs_enc)
    assert node.reason(token, max_bytes=1 << 20) == reason


@pytest.mark.parametrize(
    ("jws_header", "jwe_header"),
    [
        ({"typ": "migrex-receipt+jws"}, {}),  # a receipt is not a message
        ({"jku": "https://attacker.example/keys"}, {}),
        ({"kid": ""}, {}),
        ({}, {"cty": "JWT"}),
        ({}, {"alg": "ECDH-ES", "enc": "A256GCM"}),
        ({}, {"enc": "A128GCM"}),
        ({}, {"zip": "DEF"}),
        ({}, {"kid": "k" * 200}),
    ],
)
def test_other_algorithms_and_headers_are_malformed(
    node: Node, jws_header: dict[str, Any], jwe_header: dict[str, Any]
) -> None:
    token = craft(
        message_payload(node.claims(), {}),
        signing_key=node.kz_mia_sign,
        recipient_key=node.am_mcs_enc,
        jws_header=jws_header,
        jwe_header=jwe_header,
    )
    assert node.reason(token) == "malformed"


def test_a_symmetric_signature_is_malformed(node: Node) -> None:
    token = craft(
        message_payload(node.claims(), {}),
        signing_key=OctKey.import_key(b"k" * 32),
        recipient_key=node.am_mcs_enc,
        jws_header={"alg": "HS256", "kid": key_id(node.kz_mia_sign)},
    )
    assert node.reason(token) == "malformed"


def test_the_ambiguous_eddsa_name_is_malformed(node: Node) -> None:
    # Built by hand: joserfc itself warns on "EdDSA" (deprecated by RFC 9864).
    header = {"alg": "EdDSA", "kid": key_id(node.kz_mia_sign), "typ": "migrex-message+jws"}

    def segment(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    signing_input = (
        segment(canonical_json(header)) + b"." + segment(message_payload(node.claims(), {}))
    )
    signature = Ed25519PrivateKey.from_private_bytes(
        base64.urlsafe_b64decode(str(node.kz_mia_sign.as_dict(private=True)["d"]) + "=")
    ).sign(signing_input)
    signed = signing_input + b"." + segment(signature)
    outer = {
        "alg": "ECDH-ES+A256KW",
        "enc": "A256GCM",
        "kid": key_id(node.am_mcs_enc),
        "cty": "migrex-message+jws",
    }
    registry = JWERegistry(algorithms=["ECDH-ES+A256KW", "A256GCM"])
    token = jwe.encrypt_compact(outer, signed, public(node.am_mcs_enc), registry=registry)
    assert node.reason(token) == "malformed"


def test_the_directory_and_inbox_own_their_failures(node: Node) -> None:
    def broken_inbox(message_id: str) -> bool:
        raise ConnectionError("database is down")

    with pytest.raises(ConnectionError):
        node.open(node.seal(), seen=broken_inbox)


def test_rejections_are_problems_with_stable_codes(node: Node) -> None:
    with pytest.raises(EnvelopeRejected) as caught:
        node.open(node.seal(), max_bytes=10)
    problem = caught.value
    assert (problem.status, problem.type_slug) == (413, "envelope-oversized")
    assert problem.detail and problem.title
    assert problem.envelope_sha256 is None  # refused unread


def test_naive_now_is_a_programming_error(node: Node) -> None:
    with pytest.raises(ValueError, match="aware"):
        node.open(node.seal(), now=NOW.replace(tzinfo=None))


def test_a_non_object_body_cannot_be_sealed(node: Node) -> None:
    with pytest.raises(TypeError):
        node.seal(body=["not", "an", "object"])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        node.seal(body={"n": float("nan")})


def test_sealing_needs_the_right_kinds_of_key(node: Node) -> None:
    claims = node.claims()
    with pytest.raises(ValueError, match="Ed25519"):
        seal(claims, {}, signing_key=node.am_mcs_enc, recipient_key=node.am_mcs_enc)
    with pytest.raises(ValueError, match="private"):
        seal(claims, {}, signing_key=public(node.kz_mia_sign), recipient_key=node.am_mcs_enc)
    with pytest.raises(ValueError, match="X25519"):
        seal(claims, {}, signing_key=node.kz_mia_sign, recipient_key=node.kz_mia_sign)


def test_each_seal_is_fresh(node: Node) -> None:
    claims = node.claims()
    assert node.seal(claims) != node.seal(claims)
