"""Pseudonyms of a party's records in a linkage run: what the unit sees instead of an id.

A record's pseudonym is the first 8 bytes of HMAC-SHA256 of its national id under a key only
its party holds, derived per run from a node secret: the unit cannot turn it back into an id,
the partner cannot compute it, and two runs give one person unrelated pseudonyms, so runs
cannot be joined. The party turns the pseudonyms of its candidates back into ids by computing
its register's pseudonyms again (`resolve`): nothing maps them in between, so nothing needs
keeping or erasing. Two ids of one register sharing a pseudonym (about one chance in a
million for 20 M records) resolve to the first; the officer's check against the register
catches it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from migrex.identity.node_secrets import node_secret

SECRET_FILE: Final = "linkage-pseudonyms.key"  # noqa: S105 - a file name, not a secret
_INFO: Final = b"migrex linkage pseudonyms v1|"

Pseudonyms = npt.NDArray[np.uint64]


def pseudonym_key(key_dir: Path, run_id: str) -> bytes:
    """This node's pseudonym key for the run: never sent, never shared with the partner."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO + run_id.encode("ascii")
    ).derive(node_secret(key_dir, SECRET_FILE))


def _one(key: bytes, national_id: str) -> int:
    return int.from_bytes(
        hmac.digest(key, national_id.encode("utf-8"), hashlib.sha256)[:8], "little"
    )


def pseudonyms(key: bytes, national_ids: pa.Array) -> Pseudonyms:
    """One pseudonym per id, in order (an empty id still gets one; it resolves to nothing)."""
    return np.fromiter(
        (_one(key, value or "") for value in national_ids.to_pylist()),
        dtype=np.uint64, count=len(national_ids),
    )  # fmt: skip


def resolve(
    key: bytes, national_ids: Iterable[str | None], wanted: Iterable[int]
) -> Mapping[int, str]:
    """The ids behind `wanted` pseudonyms, by pseudonym; one not of this register is absent
    (a decoy, or a register that changed since the run's encodings were made)."""
    looked_for = set(wanted)
    found: dict[int, str] = {}
    for national_id in national_ids:
        if not national_id:
            continue
        value = _one(key, national_id)
        if value in looked_for and value not in found:
            found[value] = national_id
    return found
