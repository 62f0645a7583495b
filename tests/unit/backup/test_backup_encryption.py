"""The backup stream: it opens only with the operator's key, and any change is refused."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from migrex.backup.encryption import (
    CHUNK,
    HEADER_SIZE,
    BackupRefused,
    EncryptingWriter,
    decrypted_chunks,
    read_private_key,
    read_public_key,
    write_key_pair,
)
from migrex.errors import Conflict, NotFound


def _seal(data: bytes, key: X25519PrivateKey) -> bytes:
    sink = io.BytesIO()
    writer = EncryptingWriter(sink, key.public_key())
    for start in range(0, len(data), 7_777):
        writer.write(data[start : start + 7_777])
    writer.close()
    return sink.getvalue()


def _open(sealed: bytes, key: X25519PrivateKey) -> bytes:
    return b"".join(decrypted_chunks(io.BytesIO(sealed), key))


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK])
def test_what_is_sealed_opens_whole(size: int) -> None:
    key = X25519PrivateKey.generate()
    data = os.urandom(size)
    assert _open(_seal(data, key), key) == data


def test_one_changed_byte_anywhere_is_refused() -> None:
    key = X25519PrivateKey.generate()
    sealed = _seal(os.urandom(2 * CHUNK + 10), key)
    for position in (
        20,
        HEADER_SIZE - 1,
        HEADER_SIZE + 5,
        HEADER_SIZE + CHUNK + 40,
        len(sealed) - 1,
    ):
        tampered = bytearray(sealed)
        tampered[position] ^= 0x01
        with pytest.raises(BackupRefused):
            _open(bytes(tampered), key)


def test_a_cut_or_extended_stream_is_refused() -> None:
    key = X25519PrivateKey.generate()
    sealed = _seal(os.urandom(2 * CHUNK + 10), key)
    last_chunk_start = HEADER_SIZE + 2 * (CHUNK + 16)
    for broken in (sealed[:last_chunk_start], sealed[: HEADER_SIZE + CHUNK + 16], sealed + b"x"):
        with pytest.raises(BackupRefused):
            _open(broken, key)


def test_another_operator_key_cannot_open_it() -> None:
    sealed = _seal(b"node", X25519PrivateKey.generate())
    with pytest.raises(BackupRefused, match="another operator key"):
        _open(sealed, X25519PrivateKey.generate())


def test_keygen_writes_a_private_key_for_the_owner_only_and_never_overwrites(
    tmp_path: Path,
) -> None:
    private = tmp_path / "operator.key"
    public_path, public = write_key_pair(private)
    assert private.stat().st_mode & 0o777 == 0o600
    assert read_private_key(private).public_key().public_bytes_raw() == public.public_bytes_raw()
    assert read_public_key(public_path).public_bytes_raw() == public.public_bytes_raw()
    with pytest.raises(Conflict, match="exists: an operator key is never overwritten"):
        write_key_pair(private)


def test_keygen_refuses_where_the_public_key_exists_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "operator.key.pub").write_text("kept")
    with pytest.raises(Conflict, match=r"operator\.key\.pub exists"):
        write_key_pair(tmp_path / "operator.key")
    assert not (tmp_path / "operator.key").exists()
    assert (tmp_path / "operator.key.pub").read_text() == "kept"


def test_a_missing_key_file_is_said_to_be_missing(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"operator\.pub does not exist"):
        read_public_key(tmp_path / "operator.pub")
    with pytest.raises(NotFound, match=r"operator\.key does not exist"):
        read_private_key(tmp_path / "operator.key")
