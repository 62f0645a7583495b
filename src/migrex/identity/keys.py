"""Authority and party keys: JWKs with a validity window, and the rules of rotation.

Pure: nothing here touches files. A key store keeps these records; the directory publishes
their public halves; the envelope signs, verifies, encrypts and decrypts with them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Any, Final, Literal, NamedTuple

from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OKPKey

from migrex.errors import MigrexError

# A year: long enough that the demo never needs attention, short enough that a forgotten key
# does not live forever. Production sets its own lifetime on the store.
DEFAULT_LIFETIME: Final = timedelta(days=365)

_AUTHORITY_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_STATE = re.compile(r"[A-Z]{2}")


class KeyUse(StrEnum):
    """What a key is for; the values are the JWK `use` parameter (RFC 7517 §4.2)."""

    SIGNING = "sig"
    ENCRYPTION = "enc"


CURVES: Final[Mapping[KeyUse, Literal["Ed25519", "X25519"]]] = {
    KeyUse.SIGNING: "Ed25519",
    KeyUse.ENCRYPTION: "X25519",
}


class KeyStoreError(MigrexError):
    type_slug = "key-store"
    title = "The key store cannot provide the key"
    status = 500


@dataclass(frozen=True)
class AuthorityKey:
    """One key of an authority (or a state's party key) and the window it may be used in.

    `owner` is an authority id, or a state code for a party key. `key` carries the private
    part when it comes from a key store; `not_after` is exclusive. A `pending` key waits for
    the partners to install a directory that lists it: it decrypts what they seal to it once
    they have, but signs and seals nothing until it is activated (`activated`).
    """

    owner: str
    use: KeyUse
    key: OKPKey
    not_before: datetime
    not_after: datetime
    pending: bool = False

    @cached_property
    def kid(self) -> str:
        """The RFC 7638 thumbprint: the same for the private and the public key."""
        return self.key.thumbprint()

    def valid_at(self, at: datetime) -> bool:
        return self.not_before <= at < self.not_after

    def public_jwk(self) -> dict[str, str]:
        """The public JWK with `kid` and `use`, as the directory publishes it."""
        jwk = self.key.as_dict(private=False)
        return {name: str(value) for name, value in jwk.items()}


class KeyPair(NamedTuple):
    signing: AuthorityKey
    encryption: AuthorityKey


def utc(at: datetime) -> datetime:
    """`at` in UTC to the second; a naive time is a programming error, not input."""
    if at.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return at.astimezone(UTC).replace(microsecond=0)


def check_owner(owner: str) -> str:
    """An authority id or a state code; anything else could escape the key folder."""
    if not (_AUTHORITY_ID.fullmatch(owner) or _STATE.fullmatch(owner)):
        raise KeyStoreError(f"{owner!r} is neither an authority id nor a state code")
    return owner


def new_key(
    owner: str, use: KeyUse, not_before: datetime, lifetime: timedelta = DEFAULT_LIFETIME
) -> AuthorityKey:
    """A fresh private key whose JWK `kid` is its thumbprint."""
    start = utc(not_before)
    key = OKPKey.generate_key(CURVES[use], {"use": use.value}, auto_kid=True)
    return AuthorityKey(check_owner(owner), use, key, start, start + lifetime)


def current_key(keys: Iterable[AuthorityKey], use: KeyUse, at: datetime) -> AuthorityKey | None:
    """The key to use now: the most recently activated one valid at `at`, or None; a pending
    key is never current, whatever its window."""
    valid = [k for k in keys if k.use is use and not k.pending and k.valid_at(at)]
    return max(valid, key=lambda k: (k.not_before, k.not_after, k.kid), default=None)


def rotated(
    keys: Iterable[AuthorityKey],
    owner: str,
    use: KeyUse,
    *,
    now: datetime,
    overlap: timedelta,
    lifetime: timedelta = DEFAULT_LIFETIME,
    activate_at: datetime | None = None,
) -> tuple[AuthorityKey, tuple[AuthorityKey, ...]]:
    """The new key and the older keys whose end moved to `activate_at + overlap`.

    The new key takes over at `activate_at` (default: now); the older keys keep verifying and
    decrypting until the overlap ends, so partners holding the previous directory are not cut
    off. Activating later than now leaves time to publish the new directory first.
    """
    if overlap < timedelta(0):
        raise ValueError("the overlap cannot be negative")
    start = utc(activate_at or now)
    if start < utc(now):
        raise ValueError("a new key cannot be activated in the past")
    pending = [k for k in keys if k.use is use and (k.pending or k.not_before > utc(now))]
    if pending:
        # Shortening a key that has not started yet would leave it an empty window.
        raise KeyStoreError(
            f"{owner} already has a {use.name.lower()} key waiting to take over at "
            f"{pending[0].not_before.isoformat()}; rotate again once it has"
        )
    fresh = new_key(owner, use, start, lifetime)
    end = start + overlap
    shortened = tuple(replace(k, not_after=end) for k in keys if k.use is use and k.not_after > end)
    return fresh, shortened


def with_pending(
    keys: Iterable[AuthorityKey],
    owner: str,
    *,
    now: datetime,
    lifetime: timedelta = DEFAULT_LIFETIME,
) -> tuple[AuthorityKey, AuthorityKey]:
    """A new signing and encryption key, pending, valid from `now`; the current keys untouched.

    The window starts now so that the directory publishing the new keys says they are good
    from the moment a partner installs it; until we activate them they only decrypt.
    """
    waiting = [k for k in keys if k.pending]
    if waiting:
        raise KeyStoreError(
            f"{owner} already has keys waiting for the partners' countersignature "
            f"({waiting[0].kid}); finish that rotation first"
        )
    return (
        replace(new_key(owner, KeyUse.SIGNING, now, lifetime), pending=True),
        replace(new_key(owner, KeyUse.ENCRYPTION, now, lifetime), pending=True),
    )


def activated(
    keys: Iterable[AuthorityKey], *, now: datetime, overlap: timedelta, kids: Iterable[str]
) -> tuple[AuthorityKey, ...]:
    """The keys that change when the pending keys `kids` take over at `now`: those keys, no
    longer pending, and each older key of the same use, ending at `now + overlap`.

    The older keys stay in the store: their public halves verify what they signed for as long
    as those records are kept (the directories keep listing them), and the overlap lets a
    message sealed to an old encryption key before the partner installed the new directory
    still open.
    """
    if overlap < timedelta(0):
        raise ValueError("the overlap cannot be negative")
    wanted = set(kids)
    keys = tuple(keys)
    taking_over = [k for k in keys if k.pending and k.kid in wanted]
    end = utc(now) + overlap
    changed: list[AuthorityKey] = [replace(k, pending=False) for k in taking_over]
    uses = {k.use for k in taking_over}
    changed.extend(
        replace(k, not_after=end)
        for k in keys
        if k.use in uses and not k.pending and k.kid not in wanted and k.not_after > end
    )
    return tuple(changed)


def key_set(keys: Iterable[AuthorityKey], use: KeyUse, at: datetime) -> KeySet:
    """Every key of this use valid at `at`, found by `kid` (decryption during an overlap)."""
    return KeySet([k.key for k in keys if k.use is use and k.valid_at(at)])


def key_to_record(key: AuthorityKey) -> dict[str, Any]:
    """The stored form, private part included."""
    record: dict[str, Any] = {
        "owner": key.owner,
        "use": key.use.value,
        "not_before": key.not_before.isoformat(),
        "not_after": key.not_after.isoformat(),
        "jwk": key.key.as_dict(private=True),
    }
    if key.pending:  # absent on every key stored before rotations waited for partners
        record["pending"] = True
    return record


def key_from_record(record: object, where: str) -> AuthorityKey:
    """Reads a stored key; raises KeyStoreError naming `where` when anything is off."""
    try:
        if not isinstance(record, dict):
            raise TypeError("not a JSON object")
        use = KeyUse(record["use"])
        jwk = record["jwk"]
        if not isinstance(jwk, dict) or jwk.get("crv") != CURVES[use] or "d" not in jwk:
            raise ValueError(f"not a private {CURVES[use]} JWK")
        key = OKPKey.import_key(jwk)
        found = AuthorityKey(
            owner=check_owner(str(record["owner"])),
            use=use,
            key=key,
            not_before=utc(datetime.fromisoformat(record["not_before"])),
            not_after=utc(datetime.fromisoformat(record["not_after"])),
            pending=_flag(record.get("pending", False)),
        )
    except (KeyError, TypeError, ValueError, JoseError) as error:
        raise KeyStoreError(f"key file {where} is damaged: {error}") from error
    if key.kid != found.kid:
        raise KeyStoreError(f"key file {where} is damaged: kid is not the key's thumbprint")
    return found


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError("pending is not true or false")
    return value


def public_key(jwk: Mapping[str, Any]) -> OKPKey:
    """An OKP public key from a JWK; a private member is dropped, never kept."""
    return OKPKey.import_key({name: value for name, value in jwk.items() if name != "d"})
