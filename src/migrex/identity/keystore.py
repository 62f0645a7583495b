"""Where a node keeps its private keys: the `KeyStore` port and its file implementation.

The file store is the demo's and a small deployment's; a ministry with an HSM writes another
class with the same methods (the test suite checks that `FileKeyStore` fits the protocol).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from migrex.identity.keys import (
    DEFAULT_LIFETIME,
    AuthorityKey,
    KeyPair,
    KeyStoreError,
    KeyUse,
    activated,
    check_owner,
    current_key,
    key_from_record,
    key_to_record,
    new_key,
    rotated,
    with_pending,
)


@runtime_checkable
class KeyStore(Protocol):
    """Private keys of the authorities a node hosts, and its state's party key.

    `current_*` raise KeyStoreError when no key is valid at `at` (default: now).
    """

    def generate(self, authority_id: str, now: datetime | None = None) -> KeyPair: ...

    def current_signing(self, authority_id: str, at: datetime | None = None) -> AuthorityKey: ...

    def current_encryption(self, authority_id: str, at: datetime | None = None) -> AuthorityKey: ...

    def all_keys(self, authority_id: str) -> tuple[AuthorityKey, ...]: ...

    def rotate(
        self,
        authority_id: str,
        now: datetime,
        overlap: timedelta,
        *,
        activate_at: datetime | None = None,
    ) -> KeyPair: ...

    def add_pending(self, authority_id: str, now: datetime) -> KeyPair: ...

    def activate(
        self,
        authority_id: str,
        now: datetime,
        overlap: timedelta,
        kids: Iterable[str] | None = None,
    ) -> tuple[AuthorityKey, ...]: ...

    def generate_party_key(self, state: str, now: datetime | None = None) -> AuthorityKey: ...

    def party_key(self, state: str, at: datetime | None = None) -> AuthorityKey: ...


class FileKeyStore:
    """Private JWKs as JSON files, one per key, readable by the node's user only.

    Layout: `<key_dir>/authorities/<authority id>/<sig|enc>-<kid>.json` and
    `<key_dir>/party/<STATE>/sig-<kid>.json`; folders 0700, files 0600. Like ssh, the store
    refuses a key file that others may read, because such a key must be taken as leaked.
    """

    def __init__(self, key_dir: Path, lifetime: timedelta = DEFAULT_LIFETIME) -> None:
        self.key_dir = key_dir
        self.lifetime = lifetime

    # ---------------------------------------------------------------- authority keys

    def generate(self, authority_id: str, now: datetime | None = None) -> KeyPair:
        """A signing and an encryption key for an authority that has none yet."""
        folder = self._folder("authorities", authority_id)
        if self._read(folder):
            raise KeyStoreError(f"{authority_id} already has keys; rotate them instead")
        start = now or datetime.now(UTC)
        pair = KeyPair(
            new_key(authority_id, KeyUse.SIGNING, start, self.lifetime),
            new_key(authority_id, KeyUse.ENCRYPTION, start, self.lifetime),
        )
        for key in pair:
            self._write(folder, key)
        return pair

    def current_signing(self, authority_id: str, at: datetime | None = None) -> AuthorityKey:
        return self._current(self._folder("authorities", authority_id), KeyUse.SIGNING, at)

    def current_encryption(self, authority_id: str, at: datetime | None = None) -> AuthorityKey:
        return self._current(self._folder("authorities", authority_id), KeyUse.ENCRYPTION, at)

    def all_keys(self, authority_id: str) -> tuple[AuthorityKey, ...]:
        """Every stored key, expired and not yet active ones included, oldest first."""
        return self._read(self._folder("authorities", authority_id))

    def rotate(
        self,
        authority_id: str,
        now: datetime,
        overlap: timedelta,
        *,
        activate_at: datetime | None = None,
    ) -> KeyPair:
        """New signing and encryption keys; the previous ones stay valid for `overlap`.

        The new keys are written before the old ones are shortened, so a crash in between
        leaves both usable rather than none.
        """
        folder = self._folder("authorities", authority_id)
        existing = self._read(folder)
        if not existing:
            raise KeyStoreError(f"{authority_id} has no keys to rotate; generate them first")
        fresh: list[AuthorityKey] = []
        shortened: list[AuthorityKey] = []
        for use in (KeyUse.SIGNING, KeyUse.ENCRYPTION):
            key, older = rotated(
                existing,
                authority_id,
                use,
                now=now,
                overlap=overlap,
                lifetime=self.lifetime,
                activate_at=activate_at,
            )
            fresh.append(key)
            shortened.extend(older)
        for key in (*fresh, *shortened):
            self._write(folder, key)
        return KeyPair(*fresh)

    def add_pending(self, authority_id: str, now: datetime) -> KeyPair:
        """New signing and encryption keys that wait, pending, for the partners to install a
        directory listing them; the current keys go on signing and sealing meanwhile."""
        folder = self._folder("authorities", authority_id)
        existing = self._read(folder)
        if not existing:
            raise KeyStoreError(f"{authority_id} has no keys to rotate; generate them first")
        pair = KeyPair(*with_pending(existing, authority_id, now=now, lifetime=self.lifetime))
        for key in pair:
            self._write(folder, key)
        return pair

    def activate(
        self,
        authority_id: str,
        now: datetime,
        overlap: timedelta,
        kids: Iterable[str] | None = None,
    ) -> tuple[AuthorityKey, ...]:
        """The pending keys `kids` (default: every pending key) take over now; returns the
        keys activated. The older keys end after `overlap`, and are kept.

        The activated keys are written first: a crash in between leaves the new keys current
        and the old ones still valid, never no key."""
        folder = self._folder("authorities", authority_id)
        existing = self._read(folder)
        wanted = [k.kid for k in existing if k.pending] if kids is None else list(kids)
        changed = activated(existing, now=now, overlap=overlap, kids=wanted)
        for key in sorted(changed, key=lambda k: k.kid not in wanted):
            self._write(folder, key)
        return tuple(k for k in changed if k.kid in wanted)

    # ---------------------------------------------------------------- party key

    def generate_party_key(self, state: str, now: datetime | None = None) -> AuthorityKey:
        """The state's key for signing directories; refused when one already exists."""
        folder = self._folder("party", state)
        if self._read(folder):
            raise KeyStoreError(f"state {state} already has a party key")
        key = new_key(state, KeyUse.SIGNING, now or datetime.now(UTC), self.lifetime)
        self._write(folder, key)
        return key

    def party_key(self, state: str, at: datetime | None = None) -> AuthorityKey:
        return self._current(self._folder("party", state), KeyUse.SIGNING, at)

    # ---------------------------------------------------------------- files

    def _folder(self, kind: str, owner: str) -> Path:
        return self.key_dir / kind / check_owner(owner)

    def _current(self, folder: Path, use: KeyUse, at: datetime | None) -> AuthorityKey:
        found = current_key(self._read(folder), use, at or datetime.now(UTC))
        if found is None:
            raise KeyStoreError(
                f"no valid {use.name.lower()} key for {folder.name} in {self.key_dir}"
            )
        return found

    def _read(self, folder: Path) -> tuple[AuthorityKey, ...]:
        if not folder.is_dir():
            return ()
        keys: list[AuthorityKey] = []
        for path in sorted(folder.glob("*.json")):
            if path.stat().st_mode & 0o077:
                raise KeyStoreError(f"key file {path} may be read by others; chmod 600 it")
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
                raise KeyStoreError(f"cannot read key file {path}: {error}") from error
            key = key_from_record(record, str(path))
            if key.owner != folder.name or path.name != _file_name(key):
                raise KeyStoreError(f"key file {path} belongs elsewhere ({key.owner})")
            keys.append(key)
        return tuple(sorted(keys, key=lambda k: (k.not_before, k.use.value, k.kid)))

    def _write(self, folder: Path, key: AuthorityKey) -> None:
        for level in (self.key_dir, folder.parent, folder):
            _private_dir(level)
        target = folder / _file_name(key)
        temporary = folder / f".{target.name}.tmp"
        temporary.unlink(missing_ok=True)  # left over by a crash mid-write
        # O_EXCL with mode 0600: the private key is never readable by others, not even
        # for the moment between writing and a later chmod.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(key_to_record(key), handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(target)


def _file_name(key: AuthorityKey) -> str:
    return f"{key.use.value}-{key.kid}.json"


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != 0o700:
        path.chmod(0o700)
