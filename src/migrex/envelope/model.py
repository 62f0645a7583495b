"""What an envelope carries, how it is written as JSON, and how it can be refused.

The wire profile, in one place:
- inner: JWS compact, `alg` Ed25519 (RFC 9864's name for EdDSA over Ed25519), header
  `kid` = RFC 7638 thumbprint of the sender's signing key, `typ` = `MESSAGE_TYP`;
- outer: JWE compact, `alg` ECDH-ES+A256KW over X25519, `enc` A256GCM, header `kid` =
  thumbprint of the recipient's encryption key, `cty` = `MESSAGE_TYP`;
- payload: canonical JSON (UTF-8, sorted keys, no whitespace, no NaN) of the claims plus
  `"body"`. Times are JWT NumericDates: integer seconds since the epoch in `iat` and `exp`,
  so claims keep whole seconds only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeGuard, get_args

from joserfc.jwk import OKPKey

from migrex.envelope.ids import is_message_id
from migrex.errors import MigrexError

SIGNATURE_ALG = "Ed25519"
KEY_AGREEMENT_ALG = "ECDH-ES+A256KW"
CONTENT_ENCRYPTION = "A256GCM"
MESSAGE_TYP = "migrex-message+jws"
RECEIPT_TYP = "migrex-receipt+jws"

SigningKeyResolver = Callable[[str, str, datetime], OKPKey | None]
"""(authority id, kid, at) → the public Ed25519 key the directory lists, or None."""

# The same shape as agreement and authority ids in agreement files, within the columns'
# 64 characters.
_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CASE_ID = re.compile(r"[\x21-\x7e]{1,64}")  # visible ASCII: safe in logs, URLs and columns
_MAX_ID = 64
_MAX_NUMERIC_DATE = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second datetime holds

Reason = Literal[
    "oversized",
    "malformed",
    "undecryptable",
    "unknown-recipient-key",
    "unknown-sender-key",
    "bad-signature",
    "wrong-recipient",
    "unknown-agreement",
    "not-a-party",
    "expired",
    "not-yet-valid",
    "replayed",
    "bad-claims",
]
REJECTION_REASONS: frozenset[str] = frozenset(get_args(Reason))

_REJECTIONS: dict[str, tuple[int, str]] = {
    "oversized": (413, "The envelope is larger than this node accepts"),
    "malformed": (400, "The envelope is not a well-formed migrex envelope"),
    "undecryptable": (400, "The envelope could not be decrypted"),
    "unknown-recipient-key": (422, "The envelope is encrypted to a key this node does not hold"),
    "unknown-sender-key": (401, "The sender's signing key is not in the directory"),
    "bad-signature": (401, "The envelope's signature is not valid"),
    "wrong-recipient": (422, "The envelope is addressed to an authority this node does not host"),
    "unknown-agreement": (422, "The envelope names an agreement this node is not party to"),
    "not-a-party": (422, "The sender or recipient is not a party to the agreement named"),
    "expired": (422, "The envelope has expired"),
    "not-yet-valid": (422, "The envelope is issued in the future"),
    "replayed": (409, "The message was already received"),
    "bad-claims": (422, "The envelope's signed claims are invalid"),
}


class EnvelopeRejected(MigrexError):
    """An incoming envelope was refused; nothing of it may enter the case data.

    `reason` is one of `REJECTION_REASONS`, stable for machines (security log, metrics);
    `detail` is for people. `status`, `title` and `type_slug` follow the reason.
    `envelope_sha256` is set once the size was accepted; `message_id` only once the
    signature was verified, so it can be trusted (a "replayed" answer can look up the
    receipt already given for it).
    """

    type_slug = "envelope-rejected"
    title = "The envelope was rejected"
    status = 400

    def __init__(
        self,
        reason: Reason,
        detail: str,
        *,
        envelope_sha256: str | None = None,
        message_id: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.reason: Reason = reason
        self.status, self.title = _REJECTIONS[reason]
        self.type_slug = f"envelope-{reason}"
        self.envelope_sha256 = envelope_sha256
        self.message_id = message_id

    @classmethod
    def problem_types(cls) -> tuple[tuple[str, int, str], ...]:
        return tuple((f"envelope-{reason}", *_REJECTIONS[reason]) for reason in sorted(_REJECTIONS))


def is_authority_id(value: object) -> TypeGuard[str]:
    """Whether `value` has the shape of an authority, agreement or message-type id."""
    return isinstance(value, str) and len(value) <= _MAX_ID and _ID.fullmatch(value) is not None


def _check_id(name: str, value: object) -> None:
    if not is_authority_id(value):
        raise ValueError(f"{name} must be an id such as 'kz-mia', got {value!r}")


def _utc_seconds(name: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {value!r}")
    return value.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageClaims:
    """The signed facts about one message, which stop it being re-addressed or replayed.

    Construction validates every field and normalises the times to UTC whole seconds (what
    the wire carries), so claims compare equal after a round trip. Raises ValueError.
    """

    sender: str
    recipient: str
    agreement: str
    message_id: str
    type: str
    case_id: str | None
    in_reply_to: str | None
    issued_at: datetime
    expires_at: datetime

    def __post_init__(self) -> None:
        for name in ("sender", "recipient", "agreement", "type"):
            _check_id(name, getattr(self, name))
        if not is_message_id(self.message_id):
            raise ValueError(f"message_id must be a UUIDv7, got {self.message_id!r}")
        if self.in_reply_to is not None and not is_message_id(self.in_reply_to):
            raise ValueError(f"in_reply_to must be a UUIDv7, got {self.in_reply_to!r}")
        if self.case_id is not None and not (
            isinstance(self.case_id, str) and _CASE_ID.fullmatch(self.case_id)
        ):
            raise ValueError(f"case_id must be 1-64 visible ASCII characters: {self.case_id!r}")
        issued_at = _utc_seconds("issued_at", self.issued_at)
        expires_at = _utc_seconds("expires_at", self.expires_at)
        if expires_at <= issued_at:
            raise ValueError("expires_at must be later than issued_at (in whole seconds)")
        # Frozen, so normalise through object.__setattr__, as dataclasses do themselves.
        object.__setattr__(self, "issued_at", issued_at)
        object.__setattr__(self, "expires_at", expires_at)


@dataclass(frozen=True, slots=True)
class DecryptionKey:
    """A private X25519 key of a hosted authority: mail encrypted to it is for that authority."""

    authority_id: str
    key: OKPKey


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenedMessage:
    """An envelope that passed every check.

    `signed_message` is the sender's JWS (the decrypted inner layer): keep it, it proves
    origin to a third party without disclosing any decryption key.
    """

    claims: MessageClaims
    body: dict[str, Any]
    envelope_sha256: str
    sender_kid: str
    recipient_kid: str
    signed_message: str


def canonical_json(value: Mapping[str, Any]) -> bytes:
    """Deterministic JSON bytes: the same value always gives the same bytes.

    Sorted keys, no whitespace, UTF-8, NaN and infinities refused (TypeError/ValueError).
    Not RFC 8785: floats use Python's repr. Signatures cover the bytes, so verifiers need
    no canonicaliser; determinism only keeps hashes of equal messages equal.
    """
    text = json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    )
    return text.encode("utf-8")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two parsers may pick different values for a duplicated key; refuse the ambiguity.
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key in JSON object")
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# One decoder for every call, as json.loads keeps one for its defaults: building it costs
# more than parsing a JOSE header, and every message parses several.
_STRICT_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants
)


def strict_json_object(data: bytes) -> dict[str, Any]:
    """Parse UTF-8 JSON that must be an object, refusing duplicate keys and NaN/Infinity.

    Raises ValueError (including decode errors) or RecursionError on hostile nesting.
    """
    value = _STRICT_DECODER.decode(data.decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError("JSON value is not an object")
    return value


_PAYLOAD_KEYS = frozenset(
    {"sender", "recipient", "agreement", "message_id", "type", "case_id", "in_reply_to"}
    | {"iat", "exp", "body"}
)


def message_payload(claims: MessageClaims, body: Mapping[str, Any]) -> bytes:
    """The bytes the sender signs: canonical JSON of the claims and the body."""
    if not isinstance(body, Mapping):
        raise TypeError("a message body must be a JSON object")
    return canonical_json(
        {
            "sender": claims.sender,
            "recipient": claims.recipient,
            "agreement": claims.agreement,
            "message_id": claims.message_id,
            "type": claims.type,
            "case_id": claims.case_id,
            "in_reply_to": claims.in_reply_to,
            "iat": int(claims.issued_at.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
            "body": body,
        }
    )


def numeric_date(name: str, value: object) -> datetime:
    """A JWT NumericDate (integer seconds) as an aware UTC datetime; ValueError otherwise."""
    # bool is an int in Python; a `true` timestamp is not a time.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be integer seconds since the epoch, got {value!r}")
    if not 0 <= value <= _MAX_NUMERIC_DATE:
        raise ValueError(f"{name} is out of range: {value}")
    return datetime.fromtimestamp(value, UTC)


def claims_from_payload(payload: Mapping[str, Any]) -> tuple[MessageClaims, dict[str, Any]]:
    """The claims and body of a parsed payload; ValueError naming what is wrong."""
    keys = set(payload)
    if keys != _PAYLOAD_KEYS:
        missing, unknown = sorted(_PAYLOAD_KEYS - keys), sorted(keys - _PAYLOAD_KEYS)
        raise ValueError(f"payload keys are wrong (missing {missing}, unknown {unknown})")
    body = payload["body"]
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    claims = MessageClaims(
        sender=payload["sender"],
        recipient=payload["recipient"],
        agreement=payload["agreement"],
        message_id=payload["message_id"],
        type=payload["type"],
        case_id=payload["case_id"],
        in_reply_to=payload["in_reply_to"],
        issued_at=numeric_date("iat", payload["iat"]),
        expires_at=numeric_date("exp", payload["exp"]),
    )
    return claims, body
