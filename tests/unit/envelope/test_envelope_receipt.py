"""Receipts: signed proof that one exact envelope reached its receiver."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry

from migrex.envelope import (
    RECEIPT_REASONS,
    Receipt,
    ReceiptInvalid,
    key_id,
    new_message_id,
    sign_receipt,
    verify_receipt,
)
from migrex.envelope.model import canonical_json

RECEIVED = datetime(2025, 9, 3, 10, 0, 0, 250_000, tzinfo=UTC)
ENVELOPE = hashlib.sha256(b"the envelope as sent").hexdigest()
AM_MCS = OKPKey.generate_key("Ed25519")
MESSAGE_ID = new_message_id()


def resolve(authority: str, kid: str, at: datetime) -> OKPKey | None:
    if authority == "am-mcs" and kid == key_id(AM_MCS):
        return OKPKey.import_key(AM_MCS.as_dict(private=False))
    return None


def receipt(**changes: Any) -> str:
    values: dict[str, Any] = {
        "envelope_sha256": ENVELOPE,
        "message_id": MESSAGE_ID,
        "receiver": "am-mcs",
        "received_at": RECEIVED,
        "signing_key": AM_MCS,
    }
    values.update(changes)
    return sign_receipt(**values)


def verify(token: str | bytes, **changes: Any) -> Receipt:
    values: dict[str, Any] = {
        "resolve_signing_key": resolve,
        "expected_envelope_sha256": ENVELOPE,
        "expected_receiver": "am-mcs",
    }
    values.update(changes)
    return verify_receipt(token, **values)


def reason(token: str | bytes, **changes: Any) -> str:
    with pytest.raises(ReceiptInvalid) as caught:
        verify(token, **changes)
    assert caught.value.reason in RECEIPT_REASONS
    assert caught.value.status == 502
    return caught.value.reason


def test_round_trip() -> None:
    proof = {"leaf_index": 7, "tree_size": 8, "path": ["aa", "bb"]}
    verified = verify(receipt(extra={"inclusion_proof": proof}))
    assert verified == Receipt(
        envelope_sha256=ENVELOPE,
        message_id=MESSAGE_ID,
        receiver="am-mcs",
        received_at=RECEIVED.replace(microsecond=0),
        signer_kid=key_id(AM_MCS),
        extra={"inclusion_proof": proof},
    )
    assert verify(receipt().encode()).extra == {}


def test_the_key_is_looked_up_at_the_signed_time() -> None:
    asked: list[datetime] = []

    def recording(authority: str, kid: str, at: datetime) -> OKPKey | None:
        asked.append(at)
        return resolve(authority, kid, at)

    verify(receipt(), resolve_signing_key=recording)
    assert asked == [RECEIVED.replace(microsecond=0)]


def test_a_receipt_for_another_envelope() -> None:
    other = hashlib.sha256(b"another envelope").hexdigest()
    assert reason(receipt(envelope_sha256=other)) == "wrong-envelope"


def test_a_receipt_from_another_receiver() -> None:
    assert reason(receipt(), expected_receiver="am-police") == "wrong-receiver"


def test_a_forged_receipt_under_the_receivers_kid() -> None:
    forger = OKPKey.generate_key("Ed25519")
    payload = canonical_json(
        {
            "envelope_sha256": ENVELOPE,
            "message_id": MESSAGE_ID,
            "receiver": "am-mcs",
            "received_at": int(RECEIVED.timestamp()),
            "extra": {},
        }
    )
    header = {"alg": "Ed25519", "kid": key_id(AM_MCS), "typ": "migrex-receipt+jws"}
    forged = jws.serialize_compact(
        header, payload, forger, registry=JWSRegistry(algorithms=["Ed25519"])
    )
    assert reason(forged) == "bad-signature"


def test_an_unlisted_signer() -> None:
    assert reason(receipt(signing_key=OKPKey.generate_key("Ed25519"))) == "unknown-signer-key"
    assert reason(receipt(), resolve_signing_key=lambda *_: None) == "unknown-signer-key"


def test_a_message_is_not_a_receipt() -> None:
    header = {"alg": "Ed25519", "kid": key_id(AM_MCS), "typ": "migrex-message+jws"}
    token = jws.serialize_compact(
        header, b"{}", AM_MCS, registry=JWSRegistry(algorithms=["Ed25519"])
    )
    assert reason(token) == "malformed"


@pytest.mark.parametrize(
    "token", ["", "garbage", "a.b.c", "é.é.é", b"\xff.\xfe.\xfd", "x" * 70_000, 12]
)
def test_garbage_is_malformed(token: Any) -> None:
    assert reason(token) == "malformed"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_change_is_refused(data: st.DataObject) -> None:
    token = bytearray(receipt().encode())
    at = data.draw(st.integers(0, len(token) - 1))
    token[at] ^= data.draw(st.integers(1, 255))
    with pytest.raises(ReceiptInvalid):
        verify(bytes(token))


@pytest.mark.parametrize(
    "changes",
    [
        {"envelope_sha256": "ABC"},
        {"message_id": "not-a-uuid"},
        {"receiver": "AM MCS"},
        {"received_at": datetime(2025, 1, 1)},  # naive on purpose
    ],
)
def test_signing_refuses_bad_fields(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        receipt(**changes)


def test_receipt_times_are_whole_seconds() -> None:
    later = RECEIVED + timedelta(milliseconds=900)
    assert verify(receipt(received_at=later)).received_at == later.replace(microsecond=0)
