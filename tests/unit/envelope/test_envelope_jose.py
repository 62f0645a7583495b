"""The envelope's own compact JOSE (`envelope.jose`) against joserfc, which the previous
version used and a partner may still run: each reads what the other writes, byte for byte
where the algorithm is deterministic, and every tampered or mis-keyed token is refused."""

from __future__ import annotations

import base64
import gc
import json
import os
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jwe, jws
from joserfc.jwk import OKPKey
from joserfc.util import json_b64encode

from migrex.envelope import (
    DecryptionKey,
    EnvelopeRejected,
    MessageClaims,
    OpenedMessage,
    ReceiptInvalid,
    jose,
    key_id,
    new_message_id,
    open_envelope,
    seal,
    sign_receipt,
    verify_receipt,
)
from migrex.envelope.model import message_payload
from migrex.envelope.seal import (
    JWE_REGISTRY,
    JWS_REGISTRY,
    decrypter,
    encrypter,
    sign_compact,
    signer,
    verifier,
)

NOW = datetime(2025, 9, 3, 10, 0, 0, tzinfo=UTC)
# Keys as the directory makes them: a "use" member and a kid (see identity.keys).
SENDER = OKPKey.generate_key("Ed25519", {"use": "sig"}, auto_kid=True)
RECIPIENT = OKPKey.generate_key("X25519", {"use": "enc"}, auto_kid=True)
OTHER_RECIPIENT = OKPKey.generate_key("X25519", {"use": "enc"}, auto_kid=True)
SENDER_NEXT = OKPKey.generate_key("Ed25519", {"use": "sig"}, auto_kid=True)
MESSAGE_HEADER = {
    "alg": "ECDH-ES+A256KW",
    "enc": "A256GCM",
    "kid": key_id(RECIPIENT),
    "cty": "migrex-message+jws",
}

kids = st.text(min_size=1, max_size=40)  # any Unicode: headers are written ASCII-escaped
payloads = st.binary(max_size=3000)
segments = st.binary(max_size=40).map(lambda data: jose.b64encode(data).decode("ascii"))


def public(key: OKPKey) -> OKPKey:
    return OKPKey.import_key(key.as_dict(private=False))


def claims(**changes: Any) -> MessageClaims:
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


def resolve(authority: str, kid: str, at: datetime) -> OKPKey | None:
    listed = {key_id(key): public(key) for key in (SENDER, SENDER_NEXT)}
    return listed.get(kid) if authority in ("kz-mia", "am-mcs") else None


def open_(token: str | bytes) -> OpenedMessage:
    return open_envelope(
        token,
        decryption_keys={
            key_id(RECIPIENT): DecryptionKey("am-mcs", RECIPIENT),
            key_id(OTHER_RECIPIENT): DecryptionKey("am-mcs", OTHER_RECIPIENT),
        },
        resolve_signing_key=resolve,
        hosted_authorities={"am-mcs"},
        agreements={"kz-am-2024"},
        now=NOW,
        max_bytes=1 << 20,
        seen=lambda _: False,
    )


def reason(token: str | bytes) -> str:
    with pytest.raises(EnvelopeRejected) as caught:
        open_(token)
    return caught.value.reason


def joserfc_envelope(payload: bytes, **jwe_header: Any) -> str:
    """An envelope as the previous version (joserfc throughout) sealed it."""
    signed = jws.serialize_compact(
        {"alg": "Ed25519", "kid": key_id(SENDER), "typ": "migrex-message+jws"},
        payload,
        SENDER,
        registry=JWS_REGISTRY,
    )
    header = {**MESSAGE_HEADER, **jwe_header}
    return jwe.encrypt_compact(header, signed, public(RECIPIENT), registry=JWE_REGISTRY)


# --- interoperability -------------------------------------------------------------------------


def test_joserfc_opens_what_we_seal() -> None:
    message, body = claims(), {"q": "Ереван", "n": [1, 2.5, None]}
    token = seal(message, body, signing_key=SENDER, recipient_key=public(RECIPIENT))
    outer = jwe.decrypt_compact(token, RECIPIENT, registry=JWE_REGISTRY)
    assert outer.protected == {**MESSAGE_HEADER, "epk": outer.protected["epk"]}
    assert outer.plaintext is not None
    inner = jws.deserialize_compact(outer.plaintext, public(SENDER), registry=JWS_REGISTRY)
    assert inner.protected == {"alg": "Ed25519", "kid": key_id(SENDER), "typ": "migrex-message+jws"}
    assert inner.payload == message_payload(message, body)


def test_our_envelope_header_is_written_as_joserfc_writes_it() -> None:
    ours = seal(claims(), {}, signing_key=SENDER, recipient_key=RECIPIENT).split(".")[0]
    theirs = joserfc_envelope(b"{}").split(".")[0]
    our_header, their_header = (json.loads(jose.b64decode(h)) for h in (ours, theirs))
    assert list(our_header) == list(their_header) == [*MESSAGE_HEADER, "epk"]
    assert list(our_header["epk"]) == list(their_header["epk"])
    their_header["epk"]["x"] = our_header["epk"]["x"]  # the one random part
    assert json_b64encode(their_header).decode("ascii") == ours


def test_we_open_what_joserfc_seals() -> None:
    message = claims()
    opened = open_(joserfc_envelope(message_payload(message, {"q": 1})))
    assert (opened.claims, opened.body) == (message, {"q": 1})


def test_we_open_what_joserfc_seals_with_party_info() -> None:
    # apu/apv enter the key derivation (RFC 7518 §4.6.2): a wrong reading would not unwrap.
    message = claims()
    token = joserfc_envelope(message_payload(message, {}), apu="QWxpY2U", apv="Qm9i")
    assert open_(token).claims == message


@settings(max_examples=60, deadline=None)
@given(payload=payloads, kid=kids, typ=kids)
def test_our_signatures_are_joserfcs_byte_for_byte(payload: bytes, kid: str, typ: str) -> None:
    header = {"alg": "Ed25519", "kid": kid, "typ": typ}
    ours = jose.sign(header, payload, signer(SENDER))
    # Ed25519 is deterministic: the same header, payload and key give the same bytes.
    assert ours == jws.serialize_compact(header, payload, SENDER, registry=JWS_REGISTRY)
    parts = jose.split_jws(ours.encode("ascii"))
    assert parts.payload == payload
    assert jose.verifies(parts, verifier(public(SENDER)))


def _openssl_verifies(token: jose.CompactJWS, key: Ed25519PublicKey) -> bool:
    try:
        key.verify(token.signature, token.signing_input)
    except InvalidSignature:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(payload=payloads, flip=st.integers(0, 64 * 8 - 1) | st.none(), where=st.sampled_from(
    ("signature", "input", "key")))  # fmt: skip
def test_signatures_verify_as_openssl_verifies_them(
    payload: bytes, flip: int | None, where: str
) -> None:
    # libsodium checks them: an honest signature verifies, and one bit changed anywhere (in
    # the signature, the signed bytes or the key) fails, as with OpenSSL.
    key = Ed25519PrivateKey.generate()
    parts = jose.split_jws(jose.sign({"alg": "Ed25519"}, payload, key).encode("ascii"))
    public_key = key.public_key()
    if flip is not None:
        if where == "signature":
            parts = parts._replace(signature=_flipped(parts.signature, flip))
        elif where == "input":
            parts = parts._replace(signing_input=_flipped(parts.signing_input, flip))
        else:
            public_key = _flipped_key(public_key, flip % 256)
    ours = jose.verifies(parts, public_key)
    assert ours is (flip is None)
    assert ours is _openssl_verifies(parts, public_key)


def _flipped(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    changed = bytearray(data)
    changed[bit // 8] ^= 1 << bit % 8
    return bytes(changed)


def _flipped_key(key: Ed25519PublicKey, bit: int) -> Ed25519PublicKey:
    changed = _flipped(key.public_bytes_raw(), bit)
    try:
        return Ed25519PublicKey.from_public_bytes(changed)
    except ValueError:  # not a point OpenSSL takes: another bit changed instead
        return _flipped_key(key, (bit + 1) % 256)


def test_a_signature_of_the_wrong_length_does_not_verify() -> None:
    key = Ed25519PrivateKey.generate()
    parts = jose.split_jws(jose.sign({"alg": "Ed25519"}, b"{}", key).encode("ascii"))
    for signature in (b"", parts.signature[:63], parts.signature + b"\0"):
        assert not jose.verifies(parts._replace(signature=signature), key.public_key())


@settings(max_examples=60, deadline=None)
@given(plaintext=payloads, kid=kids, cty=kids, apu=st.none() | segments, apv=st.none() | segments)
def test_jwe_both_ways_with_joserfc(
    plaintext: bytes, kid: str, cty: str, apu: str | None, apv: str | None
) -> None:
    header: dict[str, Any] = {**MESSAGE_HEADER, "kid": kid, "cty": cty}
    header.update({name: value for name, value in (("apu", apu), ("apv", apv)) if value})
    ours = jose.encrypt(header, plaintext, encrypter(RECIPIENT))
    assert jwe.decrypt_compact(ours, RECIPIENT, registry=JWE_REGISTRY).plaintext == plaintext
    assert jose.decrypt(ours.encode("ascii"), decrypter(RECIPIENT)) == plaintext
    theirs = jwe.encrypt_compact(header, plaintext, public(RECIPIENT), registry=JWE_REGISTRY)
    assert jose.decrypt(theirs.encode("ascii"), decrypter(RECIPIENT)) == plaintext


def test_joserfc_reads_our_receipt_and_we_read_its() -> None:
    token = sign_receipt(
        envelope_sha256="ab" * 32,
        message_id=(message_id := new_message_id()),
        receiver="am-mcs",
        received_at=NOW,
        signing_key=SENDER,
        extra={"proof": ["aa", "bb"]},
    )
    assert jws.deserialize_compact(token, public(SENDER), registry=JWS_REGISTRY).protected == {
        "alg": "Ed25519",
        "kid": key_id(SENDER),
        "typ": "migrex-receipt+jws",
    }
    payload = jws.deserialize_compact(token, public(SENDER), registry=JWS_REGISTRY).payload
    header = {"alg": "Ed25519", "kid": key_id(SENDER), "typ": "migrex-receipt+jws"}
    theirs = jws.serialize_compact(header, payload, SENDER, registry=JWS_REGISTRY)
    receipt = verify_receipt(
        theirs,
        resolve_signing_key=resolve,
        expected_envelope_sha256="ab" * 32,
        expected_receiver="am-mcs",
    )
    assert (receipt.message_id, receipt.extra) == (message_id, {"proof": ["aa", "bb"]})


def test_the_message_path_no_longer_goes_through_joserfcs_jose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def slow_path(*args: object, **kwargs: object) -> None:
        raise AssertionError("the per-message path called joserfc's JWS/JWE")

    for module, name in [
        (jwe, "encrypt_compact"),
        (jwe, "decrypt_compact"),
        (jws, "serialize_compact"),
        (jws, "extract_compact"),
        (jws, "validate_compact"),
        (jws, "deserialize_compact"),
    ]:
        monkeypatch.setattr(module, name, slow_path)
    token = seal(claims(), {}, signing_key=SENDER, recipient_key=RECIPIENT)
    opened = open_(token)
    receipt = sign_receipt(
        envelope_sha256=opened.envelope_sha256,
        message_id=opened.claims.message_id,
        receiver="am-mcs",
        received_at=NOW,
        signing_key=SENDER,
    )
    verify_receipt(
        receipt,
        resolve_signing_key=resolve,
        expected_envelope_sha256=opened.envelope_sha256,
        expected_receiver="am-mcs",
    )


# --- base64url --------------------------------------------------------------------------------


@settings(max_examples=300)
@given(st.binary(max_size=100))
def test_base64url_round_trips(data: bytes) -> None:
    assert jose.b64decode(jose.b64encode(data)) == data
    assert jose.b64encode(data) == base64.urlsafe_b64encode(data).rstrip(b"=")


@settings(max_examples=500)
@given(st.text(alphabet="ABCDEFQRSTghijwxyz01234-_+/= \n", max_size=12))
def test_only_the_one_canonical_spelling_decodes(text: str) -> None:
    # Two spellings of the same bytes would let a changed envelope open under a new hash.
    try:
        data = jose.b64decode(text)
    except ValueError:
        return
    assert jose.b64encode(data).decode("ascii") == text


@pytest.mark.parametrize("text", ["QQ==", "QR", "QUK", "QUJ", "Q", "QU+D", "QU/D", "QU D", "Q=Q"])
def test_non_canonical_base64url_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        jose.b64decode(text)


# --- tampering, wrong keys --------------------------------------------------------------------


def one_character_changes(token: str) -> Iterator[tuple[int, int, str]]:
    """(segment, position, token) for every character of every segment, changed once."""
    parts = token.split(".")
    for index, part in enumerate(parts):
        for at, character in enumerate(part):
            changed = "A" if character != "A" else "B"
            copy = list(parts)
            copy[index] = part[:at] + changed + part[at + 1 :]
            yield index, at, ".".join(copy)


def test_every_changed_character_of_an_envelope_is_refused() -> None:
    token = seal(claims(), {"q": 1}, signing_key=SENDER, recipient_key=RECIPIENT)
    seen_segments = set()
    for index, _at, changed in one_character_changes(token):
        assert reason(changed) in {"malformed", "undecryptable", "unknown-recipient-key"}
        seen_segments.add(index)
    assert seen_segments == {0, 1, 2, 3, 4}


def test_every_changed_character_of_the_signed_message_is_refused() -> None:
    # Re-encrypted after the change, so only the signature can catch it.
    signed = sign_compact(message_payload(claims(), {"q": 1}), SENDER, "migrex-message+jws")
    reasons = set()
    for _index, _at, changed in one_character_changes(signed):
        token = jose.encrypt(MESSAGE_HEADER, changed.encode("ascii"), encrypter(RECIPIENT))
        reasons.add(reason(token))
    assert reasons <= {"malformed", "bad-signature", "bad-claims", "unknown-sender-key"}
    assert "bad-signature" in reasons


def test_every_changed_character_of_a_receipt_is_refused() -> None:
    token = sign_receipt(
        envelope_sha256="ab" * 32,
        message_id=new_message_id(),
        receiver="am-mcs",
        received_at=NOW,
        signing_key=SENDER,
    )
    for _index, _at, changed in one_character_changes(token):
        with pytest.raises(ReceiptInvalid):
            verify_receipt(
                changed,
                resolve_signing_key=resolve,
                expected_envelope_sha256="ab" * 32,
                expected_receiver="am-mcs",
            )


def test_bytes_moved_between_ciphertext_and_tag_are_refused() -> None:
    # AES-GCM reads ciphertext || tag as one string; the tag's length must be checked apart.
    parts = seal(claims(), {}, signing_key=SENDER, recipient_key=RECIPIENT).encode().split(b".")
    ciphertext, tag = jose.b64decode(parts[3]), jose.b64decode(parts[4])
    for moved in (ciphertext[:-3], ciphertext + tag[:3]):
        rest = (ciphertext + tag)[len(moved) :]
        token = b".".join([*parts[:3], jose.b64encode(moved), jose.b64encode(rest)])
        assert reason(token) == "undecryptable"


def test_a_key_this_envelope_was_not_encrypted_to_cannot_open_it() -> None:
    token = seal(claims(), {}, signing_key=SENDER, recipient_key=RECIPIENT)
    with pytest.raises(Exception):  # noqa: B017 - InvalidUnwrap, whichever failure comes first
        jose.decrypt(token.encode("ascii"), decrypter(OTHER_RECIPIENT))
    assert jose.decrypt(token.encode("ascii"), decrypter(RECIPIENT))


def test_a_kid_naming_another_of_our_keys_does_not_decrypt() -> None:
    # Encrypted to one key of ours, labelled with another: refused, never tried on both.
    token = seal(claims(), {}, signing_key=SENDER, recipient_key=RECIPIENT)
    wrong = token.split(".")
    header = json.loads(jose.b64decode(wrong[0]))
    header["kid"] = key_id(OTHER_RECIPIENT)
    wrong[0] = json_b64encode(header).decode("ascii")
    assert reason(".".join(wrong)) == "undecryptable"
    assert open_(token).recipient_kid == key_id(RECIPIENT)


def test_a_signature_under_the_kid_of_another_listed_key_is_bad() -> None:
    # Signed with the sender's key but naming its next key, which the directory also lists.
    signed = jws.serialize_compact(
        {"alg": "Ed25519", "kid": key_id(SENDER_NEXT), "typ": "migrex-message+jws"},
        message_payload(claims(), {}),
        SENDER,
        registry=JWS_REGISTRY,
    )
    token = jose.encrypt(MESSAGE_HEADER, signed.encode("ascii"), encrypter(RECIPIENT))
    assert reason(token) == "bad-signature"


def test_a_receipt_under_the_kid_of_another_listed_key_is_bad() -> None:
    token = sign_receipt(
        envelope_sha256="ab" * 32,
        message_id=new_message_id(),
        receiver="am-mcs",
        received_at=NOW,
        signing_key=SENDER,
    )
    _, payload, signature = token.split(".")
    relabelled = {"alg": "Ed25519", "kid": key_id(SENDER_NEXT), "typ": "migrex-receipt+jws"}
    forged = ".".join([json_b64encode(relabelled).decode("ascii"), payload, signature])
    with pytest.raises(ReceiptInvalid) as caught:
        verify_receipt(
            forged,
            resolve_signing_key=resolve,
            expected_envelope_sha256="ab" * 32,
            expected_receiver="am-mcs",
        )
    assert caught.value.reason == "bad-signature"


def handmade(epk: object, shared: bytes) -> bytes:
    """A signed message encrypted by hand, independently of `jose`, with the given "epk" and
    ECDH shared secret: consistent in every other respect, so only the epk can be refused."""
    plaintext = sign_compact(message_payload(claims(), {}), SENDER, "migrex-message+jws")
    encoded = json_b64encode({**MESSAGE_HEADER, "epk": epk})
    alg = b"ECDH-ES+A256KW"
    other_info = struct.pack(">I", len(alg)) + alg + bytes(8) + struct.pack(">I", 256)
    kek = ConcatKDFHash(hashes.SHA256(), 32, other_info).derive(shared)
    cek, iv = os.urandom(32), os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, plaintext.encode("ascii"), encoded)
    parts = [aes_key_wrap(kek, cek), iv, sealed[:-16], sealed[-16:]]
    return b".".join([encoded, *map(jose.b64encode, parts)])


EPHEMERAL = X25519PrivateKey.generate()
EPK = {
    "crv": "X25519",
    "x": jose.b64encode(EPHEMERAL.public_key().public_bytes_raw()).decode("ascii"),
    "kty": "OKP",
}
SHARED = EPHEMERAL.exchange(encrypter(RECIPIENT))


def test_a_handmade_envelope_opens() -> None:
    # The helper below is right: with a proper epk its envelopes open.
    assert open_(handmade(EPK, SHARED)).claims.sender == "kz-mia"


@pytest.mark.parametrize(
    ("epk", "shared"),
    [
        # A small-order point: the shared secret is all zeros, known to anyone.
        ({**EPK, "x": jose.b64encode(b"\x01" + bytes(31)).decode("ascii")}, bytes(32)),
        ({**EPK, "crv": "Ed25519"}, SHARED),
        ({**EPK, "kid": "x"}, SHARED),
        ({**EPK, "d": jose.b64encode(EPHEMERAL.private_bytes_raw()).decode("ascii")}, SHARED),
        ({"crv": "X25519", "x": EPK["x"]}, SHARED),
        ({**EPK, "x": EPK["x"] + "A"}, SHARED),
        (EPK["x"], SHARED),
    ],
    ids=["small-order", "ed25519", "kid", "private", "no-kty", "long-x", "not-an-object"],
)
def test_unusable_ephemeral_keys_are_undecryptable(epk: object, shared: bytes) -> None:
    assert reason(handmade(epk, shared)) == "undecryptable"


def test_the_private_key_must_be_private() -> None:
    with pytest.raises(ValueError):
        decrypter(public(RECIPIENT))
    assert isinstance(decrypter(RECIPIENT), X25519PrivateKey)


def test_a_key_marked_for_signing_does_not_encrypt() -> None:
    marked = OKPKey.generate_key("X25519", {"use": "sig"})
    with pytest.raises(Exception):  # noqa: B017 - joserfc's UnsupportedKeyUseError, as before
        seal(claims(), {}, signing_key=SENDER, recipient_key=marked)


def test_keys_are_judged_per_key_object_even_when_remembered() -> None:
    # The same public key, once marked for signing and once for encryption: what was
    # remembered for the first must not let the second verify.
    material = public(SENDER).as_dict()
    for_signing = OKPKey.import_key({**material, "use": "sig"})
    for_encryption = OKPKey.import_key({**material, "use": "enc"})
    assert verifier(for_signing) is verifier(for_signing)
    for _ in range(2):  # a refusal is not remembered as anything else
        with pytest.raises(Exception):  # noqa: B017 - joserfc's UnsupportedKeyUseError
            verifier(for_encryption)


def test_a_dropped_key_leaves_nothing_remembered() -> None:
    # The memo must not keep the private key of a key the directory no longer holds.
    (remembered,) = [
        cell.cell_contents
        for cell in decrypter.__closure__ or ()
        if isinstance(cell.cell_contents, dict)
    ]
    key = OKPKey.generate_key("X25519")
    decrypter(key)
    assert id(key) in remembered
    slot = id(key)
    del key
    gc.collect()
    assert slot not in remembered
