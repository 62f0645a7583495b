"""The audit leaf: canonical bytes, strict decoding, and no personal data."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrex.audit import AuditLeaf, LeafInvalid, LeafKind, leaf_hash, subject_hash
from migrex.envelope import new_message_id

SUBJECT_KEY = bytes(range(32))
AT = datetime(2025, 9, 3, 10, 0, 0, 123_456, tzinfo=UTC)
MESSAGE_ID = new_message_id(now=AT, rand=bytes(10))
ENVELOPE = hashlib.sha256(b"sealed envelope").hexdigest()

# A person as a registry holds them: none of this may reach the log.
PERSON = {
    "surname": "Петросян",
    "given_name": "Анна",
    "latin_name": "PETROSYAN ANNA",
    "birth_date": "1990-04-15",
    "passport": "AN1234567",
    "address": "Almaty, Abai Ave 10",
}


def leaf(**changes: Any) -> AuditLeaf:
    values: dict[str, Any] = {
        "kind": LeafKind.MESSAGE_SENT,
        "at": AT,
        "actor": "officer:kz-mvd:0042",
        "authority": "kz-mvd",
        "message_id": MESSAGE_ID,
        "envelope_sha256": ENVELOPE,
        "purpose": "verify-citizenship",
        "subject_hash": subject_hash(SUBJECT_KEY, f"AM:passport:{PERSON['passport']}"),
        "reference": "case:2025-000123",
    }
    values.update(changes)
    return AuditLeaf(**values)


def test_the_encoding_is_canonical_json() -> None:
    encoded = leaf().encode()
    record = json.loads(encoded)
    assert encoded == json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    assert record["v"] == 1
    assert record["at"] == "2025-09-03T10:00:00.123456Z"
    assert record["kind"] == "message-sent"
    assert leaf().leaf_hash() == leaf_hash(encoded)


def test_absent_fields_are_encoded_as_null() -> None:
    record = json.loads(AuditLeaf(LeafKind.ERASURE, AT, "system:retention", "kz-mvd").encode())
    assert record["message_id"] is None and record["subject_hash"] is None
    assert len(record) == 10


def test_times_are_stored_in_utc_and_equal_instants_encode_alike() -> None:
    almaty = AT.astimezone(timezone(timedelta(hours=5)))
    assert leaf(at=almaty).encode() == leaf().encode()
    with pytest.raises(LeafInvalid):
        leaf(at=datetime(2025, 9, 3, 10, 0))  # naive


tokens = st.from_regex(r"[a-z0-9][a-z0-9:._-]{0,30}", fullmatch=True)


@settings(max_examples=100)
@given(
    kind=st.sampled_from(list(LeafKind)),
    at=st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
    ),
    actor=tokens,
    purpose=st.none() | tokens,
    reference=st.none() | tokens,
    with_message=st.booleans(),
    identifier=st.none() | st.text(min_size=1),
)
def test_leaves_round_trip_through_their_bytes(
    *,
    kind: LeafKind,
    at: datetime,
    actor: str,
    purpose: str | None,
    reference: str | None,
    with_message: bool,
    identifier: str | None,
) -> None:
    original = AuditLeaf(
        kind,
        at,
        actor,
        "am-mcs",
        message_id=MESSAGE_ID if with_message else None,
        envelope_sha256=ENVELOPE if with_message else None,
        purpose=purpose,
        subject_hash=subject_hash(SUBJECT_KEY, identifier) if identifier else None,
        reference=reference,
    )
    encoded = original.encode()
    assert AuditLeaf.decode(encoded) == original
    assert AuditLeaf.decode(encoded).encode() == encoded


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b"\xff",
        b'{"v":2}',
        # Whitespace, key order and time spelling each make a second encoding: refused.
        leaf().encode().replace(b",", b", "),
        json.dumps(json.loads(leaf().encode())).encode(),
        leaf().encode().replace(b"10:00:00.123456Z", b"10:00:00.123456+00:00"),
        leaf().encode().replace(b'"v":1', b'"v":1,"extra":null'),
        leaf().encode().replace(b'"reference":"case:2025-000123",', b""),
        leaf().encode().replace(b"message-sent", b"message-lost"),
        leaf().encode().replace(b'"v":1', b'"v":1,"v":1'),
    ],
)
def test_anything_but_the_canonical_bytes_is_refused(data: bytes) -> None:
    with pytest.raises(LeafInvalid):
        AuditLeaf.decode(data)


def test_a_leaf_never_carries_personal_data() -> None:
    encoded = leaf().encode()
    text = encoded.decode()
    for value in PERSON.values():
        assert value not in text
        assert value.upper() not in text.upper()
    # Every value is a hash, a message id, a time, a kind or an identifier-shaped reference.
    allowed = re.compile(r"[0-9a-f]{64}|[0-9a-f-]{36}|[A-Za-z0-9][A-Za-z0-9._:/+=#-]*")
    for name, value in json.loads(encoded).items():
        assert value is None or isinstance(value, int) or allowed.fullmatch(value), name


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("actor", "Анна Петросян"),
        ("actor", "anna.petrosyan@mvd.kz"),
        ("purpose", "verify citizenship of PETROSYAN ANNA"),
        ("reference", "Almaty, Abai Ave 10"),
        ("reference", "AN1234567 1990-04-15"),
        ("subject_hash", "AN1234567"),
        ("subject_hash", hashlib.sha256(b"x").hexdigest().upper()),
        ("envelope_sha256", "not a hash"),
        ("message_id", "AN1234567"),
        ("message_id", "00000000-0000-4000-8000-000000000000"),  # a UUID, but not v7
        ("authority", ""),
        ("actor", "x" * 201),
        ("kind", "gossip"),
    ],
)
def test_fields_that_could_hold_personal_data_or_garbage_are_refused(
    field: str, value: str
) -> None:
    with pytest.raises(LeafInvalid, match=field):
        leaf(**{field: value})


def test_subject_hashes_are_keyed_and_normalised() -> None:
    identifier = "AM:passport:AN1234567"
    value = subject_hash(SUBJECT_KEY, identifier)
    assert re.fullmatch(r"[0-9a-f]{64}", value)
    assert value == subject_hash(SUBJECT_KEY, identifier)
    assert value != subject_hash(bytes(32), identifier)
    assert value != hashlib.sha256(identifier.encode()).hexdigest()
    # NFC: a precomposed and a decomposed "é" are the same identifier.
    assert subject_hash(SUBJECT_KEY, "caf\u00e9") == subject_hash(SUBJECT_KEY, "cafe\u0301")
    with pytest.raises(LeafInvalid):
        subject_hash(b"short key", identifier)
    with pytest.raises(LeafInvalid):
        subject_hash(SUBJECT_KEY, "")
