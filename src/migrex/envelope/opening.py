"""Opening: the receiving node's door. Every envelope either opens fully or is refused.

The order is the defence (DESIGN §3): the size is capped before a byte is parsed; nothing
unauthenticated is believed beyond what is needed to find the keys (the JWE `kid` to pick our
decryption key, then the claimed sender and JWS `kid` to pick theirs); every other claim is
judged only after the signature holds. Whatever a hostile envelope does to the parsers, the
caller sees `EnvelopeRejected` and nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from migrex.envelope import jose
from migrex.envelope.model import (
    CONTENT_ENCRYPTION,
    KEY_AGREEMENT_ALG,
    MESSAGE_TYP,
    SIGNATURE_ALG,
    DecryptionKey,
    EnvelopeRejected,
    OpenedMessage,
    Reason,
    SigningKeyResolver,
    claims_from_payload,
    is_authority_id,
    strict_json_object,
)
from migrex.envelope.seal import decrypter, verifier

# Header members we write; anything else (zip, crit, b64, jku, x5u...) is refused outright,
# so no header can switch on a feature we never meant to support.
_JWE_HEADER = frozenset({"alg", "enc", "kid", "cty", "epk", "apu", "apv"})
_JWS_HEADER = frozenset({"alg", "kid", "typ"})
_MAX_KID = 128
_MAX_DETAIL = 300


def _reject(
    reason: Reason, detail: str, digest: str | None = None, message_id: str | None = None
) -> EnvelopeRejected:
    # Details quote hostile input; keep them short enough for a log line.
    if len(detail) > _MAX_DETAIL:
        detail = detail[: _MAX_DETAIL - 1] + "…"
    return EnvelopeRejected(reason, detail, envelope_sha256=digest, message_id=message_id)


def _capped_bytes(token: object, max_bytes: int) -> bytes:
    """The token as bytes, refused unread when over `max_bytes` (a compact JWE is ASCII)."""
    if isinstance(token, str):
        if len(token) > max_bytes:  # a str has at least as many bytes as characters
            raise _reject("oversized", f"the envelope exceeds {max_bytes} bytes")
        try:
            return token.encode("ascii")
        except UnicodeEncodeError:
            raise _reject("malformed", "an envelope is ASCII text") from None
    if isinstance(token, bytes | bytearray):
        if len(token) > max_bytes:
            raise _reject("oversized", f"the envelope exceeds {max_bytes} bytes")
        return bytes(token)
    raise _reject("malformed", "an envelope is text or bytes")


def _protected_header(
    segment: bytes, allowed: frozenset[str], what: str, digest: str
) -> dict[str, Any]:
    try:
        header = strict_json_object(jose.b64decode(segment))
    except (ValueError, RecursionError):
        raise _reject("malformed", f"the {what} header is not base64url JSON", digest) from None
    unknown = set(header) - allowed
    if unknown:
        raise _reject(
            "malformed", f"the {what} header has unsupported members {sorted(unknown)}", digest
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= _MAX_KID:
        raise _reject("malformed", f"the {what} header has no usable kid", digest)
    return header


def _recipient_key(
    raw: bytes, keys: Mapping[str, DecryptionKey], digest: str
) -> tuple[str, DecryptionKey]:
    segments = raw.split(b".")
    if len(segments) != 5:
        raise _reject("malformed", "an envelope is a JWE in compact form (five segments)", digest)
    header = _protected_header(segments[0], _JWE_HEADER, "JWE", digest)
    if header.get("alg") != KEY_AGREEMENT_ALG or header.get("enc") != CONTENT_ENCRYPTION:
        raise _reject(
            "malformed", f"only {KEY_AGREEMENT_ALG} with {CONTENT_ENCRYPTION} is accepted", digest
        )
    if header.get("cty") != MESSAGE_TYP:
        raise _reject("malformed", f"the JWE content type must be {MESSAGE_TYP}", digest)
    kid: str = header["kid"]
    entry = keys.get(kid)
    if entry is None:
        raise _reject("unknown-recipient-key", f"no decryption key with kid {kid!r} here", digest)
    return kid, entry


def _decrypt(raw: bytes, entry: DecryptionKey, digest: str) -> bytes:
    try:
        return jose.decrypt(raw, decrypter(entry.key))
    # A parser and cipher on hostile input: whatever they raise, the envelope is bad, never
    # the node. Failing closed here is the point.
    except Exception:
        raise _reject(
            "undecryptable", "the envelope does not decrypt (tampered or mis-keyed)", digest
        ) from None


def _signed_parts(plaintext: bytes, digest: str) -> tuple[jose.CompactJWS, str, dict[str, Any]]:
    """The parsed inner JWS, its kid and its (not yet trusted) payload."""
    segments = plaintext.split(b".")
    if len(segments) != 3 or not plaintext.isascii():
        raise _reject("malformed", "the content is not a JWS in compact form", digest)
    header = _protected_header(segments[0], _JWS_HEADER, "JWS", digest)
    if header.get("alg") != SIGNATURE_ALG or header.get("typ") != MESSAGE_TYP:
        raise _reject(
            "malformed", f"the JWS must be {SIGNATURE_ALG} with typ {MESSAGE_TYP}", digest
        )
    try:
        signed = jose.split_jws(plaintext)
        payload = strict_json_object(signed.payload)
    except Exception:  # hostile input to the parsers, as above
        raise _reject("malformed", "the JWS payload is not a JSON object", digest) from None
    return signed, header["kid"], payload


def _verify(
    signed: jose.CompactJWS,
    *,
    sender: str,
    kid: str,
    resolve: SigningKeyResolver,
    now: datetime,
    digest: str,
) -> None:
    # The key must be valid now, not at the claimed issue time: a revoked key must not be
    # able to admit new messages by backdating them.
    key = resolve(sender, kid, now)
    if key is None:
        raise _reject(
            "unknown-sender-key", f"the directory lists no key {kid!r} for {sender!r} now", digest
        )
    try:
        valid = jose.verifies(signed, verifier(key))
    except Exception:  # a directory key of the wrong curve or use proves nothing
        valid = False
    if not valid:
        raise _reject(
            "bad-signature", f"the signature does not verify with {sender!r} key {kid!r}", digest
        )


def open_envelope(
    token: str | bytes,
    *,
    decryption_keys: Mapping[str, DecryptionKey],
    resolve_signing_key: SigningKeyResolver,
    hosted_authorities: Collection[str],
    agreements: Collection[str],
    now: datetime,
    max_bytes: int,
    seen: Callable[[str], bool],
    max_clock_skew: timedelta = timedelta(minutes=5),
) -> OpenedMessage:
    """Decrypt, authenticate and check one envelope, or raise `EnvelopeRejected`.

    `decryption_keys` maps our JWE kids (see `key_id`) to the hosted authority each key
    belongs to. `resolve_signing_key(authority, kid, now)` and `seen(message_id)` are the
    caller's directory and inbox: their own exceptions (a database outage) pass through
    untouched, as they are not the envelope's fault. `seen` is asked last, after every other
    check, and only advises: the inbox's unique message id is still the final word.
    Raises ValueError if `now` is naive or `max_bytes` is not positive.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    if max_bytes <= 0:
        raise ValueError("max_bytes must be positive")

    raw = _capped_bytes(token, max_bytes)
    digest = hashlib.sha256(raw).hexdigest()
    recipient_kid, entry = _recipient_key(raw, decryption_keys, digest)
    plaintext = _decrypt(raw, entry, digest)
    signed, sender_kid, payload = _signed_parts(plaintext, digest)

    sender = payload.get("sender")
    # Checked before the directory sees it, so lookups only ever get well-formed ids.
    if not is_authority_id(sender):
        raise _reject("bad-claims", "the payload names no well-formed sender", digest)
    _verify(
        signed, sender=sender, kid=sender_kid, resolve=resolve_signing_key, now=now, digest=digest
    )

    # From here on the payload is the sender's own word.
    try:
        claims, body = claims_from_payload(payload)
    except (ValueError, TypeError) as error:
        raise _reject("bad-claims", str(error), digest) from None
    message_id = claims.message_id

    def refuse(reason: Reason, detail: str) -> EnvelopeRejected:
        return _reject(reason, detail, digest, message_id)

    if claims.recipient != entry.authority_id:
        raise refuse(
            "wrong-recipient",
            f"addressed to {claims.recipient!r} but encrypted to a key of {entry.authority_id!r}",
        )
    if claims.recipient not in hosted_authorities:
        raise refuse("wrong-recipient", f"{claims.recipient!r} is not hosted on this node")
    if claims.agreement not in agreements:
        raise refuse("unknown-agreement", f"this node is not party to {claims.agreement!r}")
    if claims.issued_at > now + max_clock_skew:
        raise refuse("not-yet-valid", f"issued at {claims.issued_at.isoformat()}, in the future")
    if now >= claims.expires_at + max_clock_skew:
        raise refuse("expired", f"expired at {claims.expires_at.isoformat()}")
    if seen(message_id):
        raise refuse("replayed", f"message {message_id} was already received")
    return OpenedMessage(
        claims=claims,
        body=body,
        envelope_sha256=digest,
        sender_kid=sender_kid,
        recipient_kid=recipient_kid,
        signed_message=plaintext.decode("ascii"),
    )
