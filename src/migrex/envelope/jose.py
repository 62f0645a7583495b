"""Compact JOSE for the one profile envelopes use, written out here, with libsodium (through
PyNaCl) for the curve operations and `cryptography` for AES. Pure, no I/O.

- JWS compact serialisation (RFC 7515 §7.1) signed with Ed25519 (RFC 8037 §3.1; the
  algorithm name "Ed25519" is RFC 9864's);
- JWE compact serialisation (RFC 7516 §7.1) with ECDH-ES+A256KW over X25519 (RFC 7518 §4.6,
  RFC 8037 §3.2) and A256GCM (RFC 7518 §5.3).

A generic JOSE library spends more time choosing among algorithms than computing the one it
was given; here each step is written out once. The keys are `cryptography`'s objects, as
everywhere in the node; libsodium signs, verifies and agrees keys in a half to two thirds of
the time OpenSSL takes, and the same inputs give the same bytes (Ed25519 and X25519 are
deterministic). The output is the same standard serialisation
joserfc writes (headers as compact JSON in the caller's member order, then "epk"), so a peer
running any JOSE library reads it, and we read theirs. Callers check header members and
algorithm names before calling; these functions check what the cryptography needs.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import json
import os
import struct
from collections.abc import Mapping
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap
from nacl.bindings import (
    crypto_scalarmult,
    crypto_scalarmult_base,
    crypto_sign,
    crypto_sign_open,
    crypto_sign_seed_keypair,
)

from migrex.envelope.model import strict_json_object

KEY_AGREEMENT = "ECDH-ES+A256KW"
CONTENT_ENCRYPTION = "A256GCM"
_CEK_BYTES = 32  # A256GCM's key
_IV_BYTES = 12  # RFC 7518 §5.3: a 96-bit IV
_TAG_BYTES = 16  # ... and a 128-bit tag
_WRAPPED_CEK_BYTES = _CEK_BYTES + 8  # RFC 3394: the wrapped key is one 64-bit block longer
_SIGNATURE_BYTES = 64  # RFC 8032 §5.1.6: R and S, 32 bytes each
_X25519_BYTES = 32  # RFC 7748 §5: scalars and u-coordinates
_EPK_MEMBERS = frozenset({"kty", "crv", "x"})

_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64encode(data: bytes) -> bytes:
    """base64url without padding (RFC 7515 §2)."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


# base64url to base64; "+", "/" and "=" become "!", which the strict decoder refuses.
_FROM_URLSAFE = bytes.maketrans(b"-_+/=", b"+/!!!")
# With 2 or 1 bytes in the last group, its last character carries 2 or 4 unused bits: zero.
_LAST_CHARACTERS = {1: frozenset(b"AEIMQUYcgkosw048"), 2: frozenset(b"AQgw")}


def b64decode(segment: bytes | str) -> bytes:
    """The bytes of a base64url segment; ValueError unless it is the one canonical encoding.

    Only one spelling is accepted (no padding, no other alphabet, no stray low bits in the
    last character): otherwise changed envelope bytes could decode to the same content, and a
    tampered envelope would open with a new hash.
    """
    text = segment.encode("ascii") if isinstance(segment, str) else segment
    padding = -len(text) % 4
    if padding == 3 or (padding and text[-1] not in _LAST_CHARACTERS[padding]):
        raise ValueError("not canonical base64url")
    try:
        return binascii.a2b_base64(text.translate(_FROM_URLSAFE) + b"=" * padding, strict_mode=True)
    except binascii.Error:
        raise ValueError("not base64url") from None


def encode_header(header: Mapping[str, Any]) -> bytes:
    """BASE64URL(UTF8(header)) as joserfc writes it: compact, ASCII-escaped, members in order."""
    return b64encode(json.dumps(header, ensure_ascii=True, separators=(",", ":")).encode("ascii"))


# --- JWS, RFC 7515 ---------------------------------------------------------------------------


def sign(header: Mapping[str, Any], payload: bytes, key: Ed25519PrivateKey) -> str:
    """The compact JWS of `payload` under `header` (whose "alg" the caller set to Ed25519)."""
    # §5.1: the signature covers ASCII(BASE64URL(header) || '.' || BASE64URL(payload)).
    signing_input = encode_header(header) + b"." + b64encode(payload)
    signature = crypto_sign(signing_input, _sodium_signing_key(key))[:_SIGNATURE_BYTES]
    return (signing_input + b"." + b64encode(signature)).decode("ascii")


@functools.lru_cache(maxsize=16)
def _sodium_signing_key(key: Ed25519PrivateKey) -> bytes:
    """The key as libsodium takes it (seed, then public key): derived once per key, as that
    costs as much as a signature. A node signs with one key per authority."""
    return crypto_sign_seed_keypair(key.private_bytes_raw())[1]


class CompactJWS(NamedTuple):
    """A compact JWS taken apart, not yet verified."""

    header: bytes  # JSON, not parsed here: the caller judges its members
    payload: bytes
    signature: bytes
    signing_input: bytes  # the first two segments, as signed


def split_jws(token: bytes) -> CompactJWS:
    """The parts of a compact JWS; ValueError if it is not one."""
    segments = token.split(b".")
    if len(segments) != 3:
        raise ValueError("a compact JWS has three segments")
    header, payload, signature = map(b64decode, segments)
    return CompactJWS(header, payload, signature, token[: token.rindex(b".")])


def verifies(token: CompactJWS, key: Ed25519PublicKey) -> bool:
    """Whether the token carries `key`'s Ed25519 signature of its signing input (RFC 8037 §3.1).

    Checked by libsodium, which does it in half the time OpenSSL takes, and is the stricter of
    the two: it also refuses a signature with a non-canonical point or one of small order,
    which no honest signer makes.
    """
    if len(token.signature) != _SIGNATURE_BYTES:
        return False
    try:
        crypto_sign_open(token.signature + token.signing_input, key.public_bytes_raw())
    except Exception:  # BadSignatureError; any other failure proves nothing either
        return False
    return True


# --- JWE, RFC 7516 with ECDH-ES+A256KW and A256GCM --------------------------------------------


def _key_encryption_key(shared: bytes, header: Mapping[str, Any]) -> bytes:
    """The AES key-wrapping key: RFC 7518 §4.6.2, the Concat KDF of NIST SP 800-56A §5.8.1.

    For ECDH-ES+A256KW the AlgorithmID is the "alg" value and keydatalen is 256 bits, so one
    SHA-256 round gives the key: SHA-256(counter 1 || Z || OtherInfo).
    """

    def length_prefixed(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    party_infos = b""
    for member in ("apu", "apv"):  # absent is the empty string: a zero length, no data
        value = header.get(member, "")
        if not isinstance(value, str):
            raise ValueError(f"{member} must be a base64url string")
        party_infos += length_prefixed(b64decode(value) if value else b"")
    other_info = (
        length_prefixed(KEY_AGREEMENT.encode("ascii"))
        + party_infos
        + struct.pack(">I", _CEK_BYTES * 8)  # SuppPubInfo: keydatalen; SuppPrivInfo is empty
    )
    return hashlib.sha256(b"\x00\x00\x00\x01" + shared + other_info).digest()


def encrypt(header: Mapping[str, Any], plaintext: bytes, recipient: X25519PublicKey) -> str:
    """The compact JWE of `plaintext` for `recipient`, under `header` plus a fresh "epk".

    `header` must name ECDH-ES+A256KW and A256GCM (ValueError otherwise).
    """
    if header.get("alg") != KEY_AGREEMENT or header.get("enc") != CONTENT_ENCRYPTION:
        raise ValueError(f"only {KEY_AGREEMENT} with {CONTENT_ENCRYPTION} is written here")
    # RFC 7518 §4.6: a fresh ephemeral key per message, its public half in the header.
    ephemeral = os.urandom(_X25519_BYTES)
    epk = b64encode(crypto_scalarmult_base(ephemeral))
    protected = {**header, "epk": {"crv": "X25519", "x": epk.decode("ascii"), "kty": "OKP"}}
    encoded = encode_header(protected)
    kek = _key_encryption_key(_shared(ephemeral, recipient.public_bytes_raw()), protected)
    # RFC 7516 §5.1: a random CEK, wrapped (RFC 3394); the encoded header is the AAD.
    cek, iv = AESGCM.generate_key(bit_length=_CEK_BYTES * 8), os.urandom(_IV_BYTES)
    sealed = AESGCM(cek).encrypt(iv, plaintext, encoded)  # ciphertext || 16-byte tag
    segments = (
        encoded,
        b64encode(aes_key_wrap(kek, cek)),
        b64encode(iv),
        b64encode(sealed[:-_TAG_BYTES]),
        b64encode(sealed[-_TAG_BYTES:]),
    )
    return b".".join(segments).decode("ascii")


def _shared(secret: bytes, public: bytes) -> bytes:
    """X25519 (RFC 7748 §6.1); ValueError for an all-zero result (a public key of small order),
    as `cryptography` raises."""
    try:
        return crypto_scalarmult(secret, public)
    except Exception:  # libsodium refuses the all-zero secret
        raise ValueError("the key agreement gave no shared secret") from None


def _ephemeral_key(epk: object) -> bytes:
    # Only the members an OKP public key has (RFC 8037 §2): nothing else rides along.
    if (
        not isinstance(epk, dict)
        or set(epk) != _EPK_MEMBERS
        or epk["kty"] != "OKP"
        or epk["crv"] != "X25519"
        or not isinstance(epk["x"], str)
    ):
        raise ValueError("epk must be an X25519 public key")
    raw = b64decode(epk["x"])
    if len(raw) != _X25519_BYTES:
        raise ValueError("epk must be an X25519 public key")
    return raw


def decrypt(token: bytes, key: X25519PrivateKey) -> bytes:
    """The plaintext of a compact JWE made with ECDH-ES+A256KW and A256GCM for `key`.

    Raises ValueError for anything malformed and cryptography's InvalidUnwrap/InvalidTag for
    anything tampered with or encrypted to another key. The caller has already judged the
    header's members and algorithm names; they are checked again here so this function is
    never the one to trust them.
    """
    segments = token.split(b".")
    if len(segments) != 5:
        raise ValueError("a compact JWE has five segments")
    encoded, wrapped_segment, iv_segment, ciphertext_segment, tag_segment = segments
    header = strict_json_object(b64decode(encoded))
    if header.get("alg") != KEY_AGREEMENT or header.get("enc") != CONTENT_ENCRYPTION:
        raise ValueError(f"only {KEY_AGREEMENT} with {CONTENT_ENCRYPTION} is read here")
    wrapped, iv, tag = b64decode(wrapped_segment), b64decode(iv_segment), b64decode(tag_segment)
    # Exact lengths: AESGCM takes ciphertext || tag as one string, so a tag segment of another
    # length would let bytes move between the two segments and still decrypt.
    if (len(wrapped), len(iv), len(tag)) != (_WRAPPED_CEK_BYTES, _IV_BYTES, _TAG_BYTES):
        raise ValueError("the encrypted key, IV or tag has the wrong length")
    # X25519 refuses an all-zero shared secret (a small-order epk) with ValueError.
    shared = _shared(key.private_bytes_raw(), _ephemeral_key(header.get("epk")))
    cek = aes_key_unwrap(_key_encryption_key(shared, header), wrapped)
    return AESGCM(cek).decrypt(iv, b64decode(ciphertext_segment) + tag, encoded)
