"""Everything the node needs to seal, open and authenticate: keys, directories, TLS.

Built once when the node starts. Keys come from the node's key store, partners' public keys
and endpoints from the signed directory of each agreement, TLS from the node's certificate
and the partners' trust anchors.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import structlog
from joserfc.jwk import OKPKey

from migrex.agreements import Agreement
from migrex.directory import (
    Directory,
    DirectoryFiles,
    DirectoryInvalid,
    load_directory,
    load_trusted_party_keys,
)
from migrex.directory.model import check_update
from migrex.envelope import DecryptionKey
from migrex.errors import ConfigurationError, NotFound
from migrex.identity.keys import AuthorityKey, KeyUse, current_key
from migrex.identity.keystore import FileKeyStore, KeyStore
from migrex.identity.tls import client_ssl_context, server_ssl_context
from migrex.settings import Settings

log = structlog.get_logger(__name__)

# Our own keys and the signed directories are re-read at most this often in any case, and
# at once when their files change: each use looks at the files' stamps (a few `stat` calls) at
# most every CHANGE_CHECK_SECONDS, so a directory installed or a key activated by another
# process of the node (the clerk of directory updates, `migrex directory install`) reaches
# every process within about a second, without a restart.
KEY_REFRESH_SECONDS = 30.0
CHANGE_CHECK_SECONDS = 1.0


@dataclass
class Trust:
    settings: Settings
    keystore: KeyStore
    directories: dict[str, Directory]  # by agreement id
    directory_files: dict[str, Path] = field(default_factory=dict)
    trusted_parties: Mapping[str, OKPKey] = field(default_factory=dict)
    required_states: Mapping[str, frozenset[str]] = field(default_factory=dict)
    files: DirectoryFiles | None = None
    # Every version installed before, by agreement, oldest first: keys the current version
    # no longer lists still verify what they signed while they were listed.
    history: dict[str, tuple[Directory, ...]] = field(default_factory=dict)
    _own: dict[str, tuple[AuthorityKey, ...]] = field(default_factory=dict)
    _read_at: float = -KEY_REFRESH_SECONDS
    _checked_at: float = -CHANGE_CHECK_SECONDS
    _stamp: tuple[object, ...] = ()
    _kept: dict[Path, tuple[object, Directory | None]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def hosted(self) -> tuple[str, ...]:
        return self.settings.authorities

    def _own_keys(self, authority: str) -> tuple[AuthorityKey, ...]:
        self._fresh()
        return self._own.get(authority, ())

    def _fresh(self, *, now_please: bool = False) -> None:
        """Reloads when the interval has passed or the files changed since the last read."""
        with self._lock:
            clock = time.monotonic()
            if not now_please and clock - self._checked_at < CHANGE_CHECK_SECONDS:
                return
            self._checked_at = clock
            stamp = self._files_stamp()
            if stamp != self._stamp or clock - self._read_at > KEY_REFRESH_SECONDS:
                self._reload()
                self._stamp = stamp

    def refresh(self) -> None:
        """Re-reads our keys and any re-issued directory now rather than at the next interval."""
        with self._lock:
            self._reload()
            self._stamp = self._files_stamp()

    def _files_stamp(self) -> tuple[object, ...]:
        paths = [*self.directory_files.values()]
        paths += [self.settings.resolved_key_dir / "authorities" / a for a in self.hosted]
        if self.files is not None:
            paths += [self.files.root / "history" / a for a in self.directory_files]
        return tuple(_stamp(path) for path in paths)

    def _reload(self) -> None:
        self._own = {a: self.keystore.all_keys(a) for a in self.hosted}
        for agreement_id, path in self.directory_files.items():
            try:
                candidate = load_directory(
                    path, self.trusted_parties, self.required_states[agreement_id],
                    known_agreements={agreement_id},
                )  # fmt: skip
                if candidate.version != self.directories[agreement_id].version:
                    self.directories[agreement_id] = check_update(
                        self.directories[agreement_id], candidate
                    )
                    log.info("directory updated", agreement=agreement_id, version=candidate.version)
            except DirectoryInvalid as error:
                # Keep serving with the directory we have; an operator must look at the file.
                log.error("directory not reloaded", agreement=agreement_id, error=error.detail)
            self.history[agreement_id] = self._history(agreement_id)
        self._read_at = time.monotonic()

    def _history(self, agreement_id: str) -> tuple[Directory, ...]:
        """The kept versions, each verified once (a file altered later is verified again)."""
        if self.files is None:
            return ()
        found = []
        for path in self.files.history(agreement_id):
            stamp = _stamp(path)
            kept = self._kept.get(path)
            if kept is None or kept[0] != stamp:
                try:
                    directory: Directory | None = load_directory(
                        path, self.trusted_parties, self.required_states[agreement_id],
                        known_agreements={agreement_id},
                    )  # fmt: skip
                except DirectoryInvalid as error:
                    log.error("directory history file ignored", agreement=agreement_id,
                              error=error.detail)  # fmt: skip
                    directory = None
                kept = self._kept[path] = (stamp, directory)
            if kept[1] is not None:
                found.append(kept[1])
        return tuple(sorted(found, key=lambda d: d.version))

    def all_versions(self) -> list[Directory]:
        """Every directory version this node installed and still keeps, the current ones too."""
        self._fresh()
        return [*(d for kept in self.history.values() for d in kept), *self.directories.values()]

    def decryption_keys(self, at: datetime) -> Mapping[str, DecryptionKey]:
        """Our private X25519 keys valid at `at`, by key id (more than one during a rotation).

        A kid not among them makes the key files be read once more at once: a partner seals
        to a new key as soon as it has installed the directory listing it, which may be less
        than the re-read interval after another process (`migrex pki rotate`) wrote it here;
        refusing such an envelope would refuse it for good."""
        return _FreshOnMiss(self, at, self._decryption_keys(at))

    def _decryption_keys(self, at: datetime) -> dict[str, DecryptionKey]:
        return {
            key.kid: DecryptionKey(authority, key.key)
            for authority in self.hosted
            for key in self._own_keys(authority)
            if key.use is KeyUse.ENCRYPTION and key.valid_at(at)
        }

    def signing_key(self, authority: str, at: datetime) -> OKPKey:
        """The authority's current private signing key (the newest one valid at `at`)."""
        current = current_key(self._own_keys(authority), KeyUse.SIGNING, at)
        if current is None:
            raise ConfigurationError(f"no valid signing key for {authority} in the key store")
        return current.key

    def resolve_signing_key(self, authority: str, kid: str, at: datetime) -> OKPKey | None:
        """The partner's public key the directories list for this authority and kid at `at`.

        A kid the installed directories no longer list is looked up in the versions installed
        before, so a receipt or a cosignature made with a key since dropped still verifies
        (`_listed_signing_key` says until when). A kid found nowhere makes
        the files be looked at once more at once: a partner that has just activated the key
        of a directory installed a moment ago in another process is not refused for it."""
        self._fresh()
        key = self._listed_signing_key(authority, kid, at)
        if key is None:
            self._fresh(now_please=True)
            key = self._listed_signing_key(authority, kid, at)
        return key

    def _listed_signing_key(self, authority: str, kid: str, at: datetime) -> OKPKey | None:
        """The key as the newest version listing it gives it. A key a later version no longer
        lists ended when that version was issued: a retired (or leaked) key verifies what it
        signed before, never a signature dated after it was dropped."""
        for agreement_id, current in self.directories.items():
            versions = [*self.history.get(agreement_id, ()), current]
            versions = sorted({d.version: d for d in versions}.values(), key=lambda d: d.version)
            for index in range(len(versions) - 1, -1, -1):
                published = versions[index].listed_signing_key(authority, kid)
                if published is None:
                    continue
                end = published.not_after
                if index + 1 < len(versions):
                    end = min(end, versions[index + 1].issued_at)
                if published.not_before <= at < end:
                    return published.key
                break
        return None

    def own_encryption_key(self, authority: str, kid: str) -> AuthorityKey | None:
        """Our authority's stored X25519 key `kid`, whatever its window: a key kept after a
        rotation still derives what was agreed under it (a linkage run's key)."""
        for attempt in (False, True):
            self._fresh(now_please=attempt)
            for key in self._own_keys(authority):
                if key.use is KeyUse.ENCRYPTION and key.kid == kid:
                    return key
        return None

    def current_encryption_key(self, authority: str, at: datetime) -> AuthorityKey:
        """Our authority's current X25519 key (the newest one valid at `at`)."""
        current = current_key(self._own_keys(authority), KeyUse.ENCRYPTION, at)
        if current is None:
            raise ConfigurationError(f"no valid encryption key for {authority} in the key store")
        return current

    def listed_encryption_key(self, agreement_id: str, authority: str, kid: str) -> OKPKey | None:
        """The partner's public X25519 key `kid` as the agreement's directory lists it, in the
        installed version or, once dropped from it, in a version installed before."""
        self._directory(agreement_id)
        versions = [*self.history.get(agreement_id, ()), self.directories[agreement_id]]
        for directory in reversed(versions):
            entry = next((e for e in directory.entries if e.authority_id == authority), None)
            for published in () if entry is None else entry.encryption_keys:
                if published.kid == kid:
                    return published.key
        return None

    def recipient_key_id(self, agreement_id: str, recipient: str, at: datetime) -> str:
        """The kid of the key `recipient_key` gives."""
        found = self._directory(agreement_id).encryption_key(recipient, at)
        if found is None:
            raise NotFound(f"no valid encryption key for {recipient} in {agreement_id}'s directory")
        return found[0]

    def recipient_key(self, agreement_id: str, recipient: str, at: datetime) -> OKPKey:
        found = self._directory(agreement_id).encryption_key(recipient, at)
        if found is None:
            raise NotFound(f"no valid encryption key for {recipient} in {agreement_id}'s directory")
        return found[1]

    def endpoint_of(self, agreement_id: str, recipient: str) -> str:
        return self._directory(agreement_id).endpoint_of(recipient)

    def _directory(self, agreement_id: str) -> Directory:
        self._fresh()
        try:
            return self.directories[agreement_id]
        except KeyError:
            raise NotFound(f"this node has no directory for agreement {agreement_id}") from None

    def server_context(self) -> ssl.SSLContext:
        cert, key = _tls_files(self.settings)
        return server_ssl_context(cert, key, self.settings.tls_trust_anchors)

    def client_context(self) -> ssl.SSLContext:
        cert, key = _tls_files(self.settings)
        return client_ssl_context(cert, key, self.settings.tls_trust_anchors)


def _tls_files(settings: Settings) -> tuple[Path, Path]:
    if settings.tls_cert is None or settings.tls_key is None:
        raise ConfigurationError("the node needs tls_cert and tls_key to talk to its partners")
    return settings.tls_cert, settings.tls_key


class _FreshOnMiss(Mapping[str, DecryptionKey]):
    """Our decryption keys, the files read again (once) when asked for a kid not among them."""

    def __init__(self, trust: Trust, at: datetime, keys: dict[str, DecryptionKey]) -> None:
        self._trust, self._at, self._keys, self._reread = trust, at, keys, False

    def __getitem__(self, kid: str) -> DecryptionKey:
        if kid not in self._keys and not self._reread:
            self._reread = True
            self._trust._fresh(now_please=True)
            self._keys = self._trust._decryption_keys(self._at)
        return self._keys[kid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def load_trust(settings: Settings, agreements: Mapping[str, Agreement]) -> Trust:
    """Loads and verifies every agreement's signed directory; raises when one is missing."""
    if settings.trusted_parties is None or settings.directory_dir is None:
        raise ConfigurationError("the node needs trusted_parties and directory_dir to exchange")
    trusted = load_trusted_party_keys(settings.trusted_parties)
    kept = DirectoryFiles(settings.directory_dir)
    files = {
        agreement.id: kept.current(agreement.id)
        for agreement in agreements.values()
        if kept.current(agreement.id).exists()
    }
    if not files:
        raise ConfigurationError(f"no signed directory found in {settings.directory_dir}")
    required = {
        agreement_id: frozenset(party.state for party in agreements[agreement_id].parties)
        for agreement_id in files
    }
    directories = {
        agreement_id: load_directory(
            path, trusted, required[agreement_id], known_agreements={agreement_id}
        )
        for agreement_id, path in files.items()
    }
    trust = Trust(
        settings, FileKeyStore(settings.resolved_key_dir), directories, files, trusted, required,
        kept,
    )  # fmt: skip
    trust.refresh()
    return trust


def _stamp(path: Path) -> object:
    """What changes when a file (or a folder's list of files) is written or replaced."""
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_mtime_ns, found.st_size, found.st_ino)
