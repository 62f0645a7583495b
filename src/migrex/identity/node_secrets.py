"""Node secrets: random keys made on first use, readable by the node's account only.

Each has one use (hit references, subject hashes, ...), so one leaking does not expose the
others' hashes to guessing.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_BYTES = 32


def node_secret(key_dir: Path, name: str) -> bytes:
    """The secret `key_dir/name`, made (32 random bytes, mode 0600) when it does not exist."""
    path = key_dir / name
    if not path.exists():
        key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()  # another process made it first
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(SECRET_BYTES))
    return path.read_bytes()
