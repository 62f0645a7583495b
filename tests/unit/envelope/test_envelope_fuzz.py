"""Hostile input: any change to a valid envelope is refused with EnvelopeRejected, never
accepted, and nothing else ever escapes `open_envelope`."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from joserfc.jwk import OKPKey

from migrex.envelope import (
    REJECTION_REASONS,
    DecryptionKey,
    EnvelopeRejected,
    MessageClaims,
    key_id,
    new_message_id,
    open_envelope,
    seal,
)

NOW = datetime(2025, 9, 3, 10, 0, 0, tzinfo=UTC)
SENDER = OKPKey.generate_key("Ed25519")
RECIPIENT = OKPKey.generate_key("X25519")
SENDER_PUBLIC = OKPKey.import_key(SENDER.as_dict(private=False))


def _seal(body: dict[str, Any]) -> bytes:
    claims = MessageClaims(
        sender="kz-mia",
        recipient="am-mcs",
        agreement="kz-am-2024",
        message_id=new_message_id(),
        type="notice",
        case_id=None,
        in_reply_to=None,
        issued_at=NOW,
        expires_at=NOW + timedelta(days=1),
    )
    return seal(claims, body, signing_key=SENDER, recipient_key=RECIPIENT).encode()


VALID = _seal({"violations": 3})
OTHER = _seal({"violations": 4})


def _open(token: str | bytes) -> None:
    open_envelope(
        token,
        decryption_keys={key_id(RECIPIENT): DecryptionKey("am-mcs", RECIPIENT)},
        resolve_signing_key=lambda authority, kid, at: (
            SENDER_PUBLIC if (authority, kid) == ("kz-mia", key_id(SENDER)) else None
        ),
        hosted_authorities={"am-mcs"},
        agreements={"kz-am-2024"},
        now=NOW,
        max_bytes=len(VALID) + 64,
        seen=lambda message_id: False,
    )


def _refused(token: str | bytes) -> None:
    with pytest.raises(EnvelopeRejected) as caught:
        _open(token)
    assert caught.value.reason in REJECTION_REASONS
    assert caught.value.detail


def test_the_originals_open() -> None:
    _open(VALID)
    _open(OTHER)


@st.composite
def mutations(draw: st.DrawFn) -> bytes:
    token = bytearray(VALID)
    kind = draw(st.sampled_from(["flip", "insert", "delete", "swap", "truncate", "splice"]))
    if kind == "flip":
        at = draw(st.integers(0, len(token) - 1))
        token[at] ^= draw(st.integers(1, 255))
    elif kind == "insert":
        at = draw(st.integers(0, len(token)))
        token[at:at] = draw(st.binary(min_size=1, max_size=8))
    elif kind == "delete":
        start = draw(st.integers(0, len(token) - 1))
        del token[start : start + draw(st.integers(1, 16))]
    elif kind == "swap":
        segments = bytes(token).split(b".")
        i, j = draw(st.integers(0, 4)), draw(st.integers(0, 4))
        segments[i], segments[j] = segments[j], segments[i]
        token = bytearray(b".".join(segments))
    elif kind == "truncate":
        token = token[: draw(st.integers(0, len(token) - 1))]
    else:  # splice: some segments from another valid envelope to the same recipient
        mine, theirs = bytes(token).split(b"."), OTHER.split(b".")
        taken = draw(st.sets(st.integers(0, 4), min_size=1, max_size=4))
        token = bytearray(b".".join(theirs[i] if i in taken else mine[i] for i in range(5)))
    return bytes(token)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_mutated_envelopes_are_refused(token: bytes) -> None:
    assume(token not in (VALID, OTHER))
    _refused(token)
    _refused(token.decode("latin-1"))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=2048), st.text(max_size=2048)))
def test_arbitrary_input_is_refused(token: bytes | str) -> None:
    _refused(token)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        min_size=5,
        max_size=5,
    )
)
def test_five_base64url_segments_are_refused(segments: list[str]) -> None:
    _refused(".".join(segments))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 4), st.binary(max_size=200))
def test_replaced_segment_content_is_refused(index: int, content: bytes) -> None:
    segments = VALID.split(b".")
    segments[index] = base64.urlsafe_b64encode(content).rstrip(b"=")
    token = b".".join(segments)
    assume(token != VALID)
    _refused(token)
