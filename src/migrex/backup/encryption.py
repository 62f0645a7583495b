"""Encrypting a backup to an operator's X25519 key, in chunks, so that any size streams.

The construction is age's, with the primitives `cryptography` offers: an ephemeral X25519
key agrees a secret with the operator's public key; HKDF-SHA256 turns it into one AES-256-GCM
key; the plaintext is sealed in chunks of `CHUNK` bytes whose nonce is the chunk's counter
and a flag marking the last chunk (the STREAM construction). So a chunk cannot be moved,
dropped, repeated, or the stream cut or extended without the open failing; the header (which
operator key, the ephemeral key, the salt) is every chunk's associated data, so it cannot be
changed either. Only the holder of the operator's private key can open a backup, and the
node never holds it: the private key is kept offline.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from migrex.errors import Conflict, MigrexError, NotFound

MAGIC: Final = b"migrex-backup/1\n"
CHUNK: Final = 64 * 1024
_TAG: Final = 16
_SALT: Final = 16
HEADER_SIZE: Final = len(MAGIC) + 32 + 32 + _SALT
_LAST_COUNTER: Final = 2**88 - 1


class BackupNotWritten(MigrexError):
    """The backup could not be written where it was asked for (a full disk, no permission):
    nothing of it is left there, and the node is unchanged."""

    type_slug = "backup-not-written"
    title = "The backup could not be written"
    status = 500


class BackupRefused(MigrexError):
    """The file is not a backup this operator key opens, or it was altered or damaged."""

    type_slug = "backup-refused"
    title = "The backup cannot be opened or fails its integrity check"
    status = 422


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public: X25519PublicKey) -> str:
    """The operator key's name in manifests and messages: SHA-256 of its raw bytes, hex."""
    return hashlib.sha256(_raw(public)).hexdigest()


# ---------------------------------------------------------------- operator keys


def write_key_pair(private_path: Path) -> tuple[Path, X25519PublicKey]:
    """A new operator key pair: the private key at `private_path` (PKCS#8 PEM, mode 0600)
    and the public one beside it with `.pub`, neither ever overwritten; returns the public
    path and key."""
    public_path = private_path.with_name(private_path.name + ".pub")
    if not private_path.parent.is_dir():
        raise NotFound(f"the folder {private_path.parent} does not exist: create it first")
    for path in (private_path, public_path):
        if path.exists():
            raise Conflict(f"{path} exists: an operator key is never overwritten")
    key = X25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())  # fmt: skip
    try:
        descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Conflict(f"{private_path} exists: an operator key is never overwritten") from None
    except OSError as error:
        raise BackupRefused(f"cannot write {private_path}: {error.strerror}") from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    public_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))  # fmt: skip
    return public_path, key.public_key()


def _key_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"{path} does not exist: give the {what} file") from None
    except OSError as error:
        raise BackupRefused(f"cannot read {path}: {error.strerror}") from None


def read_public_key(path: Path) -> X25519PublicKey:
    data = _key_file(path, "operator's public key")
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as error:
        raise BackupRefused(f"{path} is not an operator public key (PEM, X25519)") from error
    if not isinstance(key, X25519PublicKey):
        raise BackupRefused(f"{path} is not an X25519 public key")
    return key


def read_private_key(path: Path) -> X25519PrivateKey:
    data = _key_file(path, "operator's private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise BackupRefused(f"{path} is not an operator private key (PEM, X25519)") from error
    if not isinstance(key, X25519PrivateKey):
        raise BackupRefused(f"{path} is not an X25519 private key")
    return key


# ---------------------------------------------------------------- the stream


def _derive(shared: bytes, salt: bytes, ephemeral: bytes, recipient: bytes) -> AESGCM:
    info = MAGIC + ephemeral + recipient
    key = HKDF(hashes.SHA256(), 32, salt=salt, info=info).derive(shared)
    return AESGCM(key)


def _nonce(counter: int, last: bool) -> bytes:
    if counter > _LAST_COUNTER:
        raise BackupRefused("the backup is too large for one stream")
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """A write-only file object: what is written goes to `sink` sealed, chunk by chunk.
    `close()` seals the last chunk; without it the backup is incomplete and will not open."""

    def __init__(self, sink: BinaryIO, recipient: X25519PublicKey) -> None:
        ephemeral = X25519PrivateKey.generate()
        salt = os.urandom(_SALT)
        recipient_raw = _raw(recipient)
        ephemeral_raw = _raw(ephemeral.public_key())
        self._header = MAGIC + hashlib.sha256(recipient_raw).digest() + ephemeral_raw + salt
        self._aead = _derive(ephemeral.exchange(recipient), salt, ephemeral_raw, recipient_raw)
        self._sink, self._buffer, self._counter, self.closed = sink, bytearray(), 0, False
        sink.write(self._header)

    def write(self, data: bytes) -> int:
        self._buffer += data
        # A full chunk is sealed only once more follows: the last one carries the flag.
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        nonce = _nonce(self._counter, last)
        self._sink.write(self._aead.encrypt(nonce, chunk, self._header))
        self._counter += 1

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            self.closed = True


@dataclass(frozen=True)
class _Opened:
    aead: AESGCM
    header: bytes


def _open_header(source: BinaryIO, identity: X25519PrivateKey) -> _Opened:
    header = source.read(HEADER_SIZE)
    if len(header) != HEADER_SIZE or not header.startswith(MAGIC):
        raise BackupRefused("the file is not a migrex backup")
    recipient_raw = _raw(identity.public_key())
    named = header[len(MAGIC) : len(MAGIC) + 32]
    if named != hashlib.sha256(recipient_raw).digest():
        raise BackupRefused("the backup was made for another operator key")
    ephemeral_raw = header[len(MAGIC) + 32 : len(MAGIC) + 64]
    salt = header[len(MAGIC) + 64 :]
    try:
        shared = identity.exchange(X25519PublicKey.from_public_bytes(ephemeral_raw))
    except ValueError:
        raise BackupRefused("the backup's header is damaged") from None
    return _Opened(_derive(shared, salt, ephemeral_raw, recipient_raw), header)


def decrypted_chunks(source: BinaryIO, identity: X25519PrivateKey) -> Iterator[bytes]:
    """The plaintext of the backup read from `source`, chunk by chunk, each checked; raises
    `BackupRefused` at the first chunk that was altered, moved, or when the stream was cut or
    extended. Use what it yields only once it has run to its end."""
    opened = _open_header(source, identity)
    block = source.read(CHUNK + _TAG)
    counter = 0
    while True:
        following = source.read(CHUNK + _TAG) if len(block) == CHUNK + _TAG else b""
        last = not following
        try:
            yield opened.aead.decrypt(_nonce(counter, last), block, opened.header)
        except InvalidTag:
            raise BackupRefused(
                f"the backup was altered or damaged (chunk {counter}): it is not restored"
            ) from None
        if last:
            return
        block, counter = following, counter + 1
