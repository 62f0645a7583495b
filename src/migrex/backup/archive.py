"""A backup file: the staged folder as a tar stream, encrypted; and back, checked.

The archive is written to `<file>.partial` and renamed when complete, so a backup that was
interrupted never looks whole. Opening one decrypts it entirely (every chunk checked) before
a single member is read, then takes only regular files the manifest lists, under their own
names, each with the SHA-256 the manifest gives.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO, cast

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from migrex.backup.encryption import (
    BackupNotWritten,
    BackupRefused,
    EncryptingWriter,
    decrypted_chunks,
)
from migrex.backup.manifest import NAME, Manifest
from migrex.errors import Conflict


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def staged_files(folder: Path) -> dict[str, str]:
    """Every file under `folder` (the manifest aside) → its SHA-256."""
    return {
        path.relative_to(folder).as_posix(): file_digest(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != NAME
    }


def write_archive(
    folder: Path, manifest: Manifest, target: Path, recipient: X25519PublicKey
) -> int:
    """Write the encrypted archive of `folder` with `manifest` first; returns its size."""
    if target.exists():
        raise Conflict(f"{target} exists: a backup never overwrites a file; give a new name")
    (folder / NAME).write_bytes(manifest.encode())
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("wb") as sink:
            writer = EncryptingWriter(sink, recipient)
            with tarfile.open(
                fileobj=cast(BinaryIO, writer), mode="w|", format=tarfile.PAX_FORMAT
            ) as tar:
                for name in [NAME, *manifest.files]:
                    tar.add(folder / name, arcname=name, recursive=False)
            writer.close()
            sink.flush()
            os.fsync(sink.fileno())
        partial.rename(target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise BackupNotWritten(f"cannot write {target}: {error.strerror}") from None
    return target.stat().st_size


def open_archive(source: Path, identity: X25519PrivateKey, folder: Path) -> Manifest:
    """Decrypt `source` into `folder` and check every member against the manifest."""
    plain = folder / "backup.tar"
    try:
        with source.open("rb") as encrypted, plain.open("wb") as out:
            for chunk in decrypted_chunks(encrypted, identity):
                out.write(chunk)
    except OSError as error:
        raise BackupRefused(f"cannot read {source}: {error.strerror}") from None
    extracted = folder / "content"
    extracted.mkdir(mode=0o700)
    try:
        with tarfile.open(plain, mode="r:") as tar:
            manifest = _extract(tar, extracted)
    except tarfile.TarError as error:
        raise BackupRefused(f"the backup's archive is unreadable: {error}") from None
    finally:
        plain.unlink(missing_ok=True)
    return manifest


def _extract(tar: tarfile.TarFile, folder: Path) -> Manifest:
    members = {member.name: member for member in tar.getmembers()}
    if NAME not in members:
        raise BackupRefused("the backup has no manifest")
    manifest_file = tar.extractfile(members[NAME])
    if manifest_file is None:
        raise BackupRefused("the backup's manifest is not a file")
    manifest = Manifest.decode(manifest_file.read())
    unlisted = set(members) - set(manifest.files) - {NAME}
    missing = set(manifest.files) - set(members)
    if unlisted or missing:
        raise BackupRefused(f"the archive does not match its manifest: {len(missing)} file(s) "
                            f"missing, {len(unlisted)} not listed")  # fmt: skip
    for name, digest in manifest.files.items():
        member, path = members[name], PurePosixPath(name)
        if not member.isfile() or path.is_absolute() or ".." in path.parts:
            raise BackupRefused(f"the archive member {name!r} is not a plain file in the backup")
        target = folder.joinpath(*path.parts)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        content = tar.extractfile(member)
        if content is None:  # pragma: no cover - isfile() was checked
            raise BackupRefused(f"the archive member {name!r} cannot be read")
        with target.open("wb") as out:
            target.chmod(0o600)
            while block := content.read(1 << 20):
                out.write(block)
        if file_digest(target) != digest:
            raise BackupRefused(f"{name} in the backup differs from its manifest")
    return manifest
