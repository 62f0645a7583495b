"""Keyed hashes: every bit position and every blocking token comes from HMAC-SHA256.

Without the key a party shares with its partner, nobody (the linkage unit included) can tell
which letter pair set which bits or which birth date made which token, nor compute the
encoding of a guessed name. Each distinct (salt, text) is hashed once: a register repeats its
names and dates, so the hashing cost grows with what is distinct, not with the records.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

KEY_BYTES = 32

Uint64s = npt.NDArray[np.uint64]


class Keyed:
    """HMAC-SHA256 under one run's key, for one purpose (a field's bits, a blocking pass)."""

    def __init__(self, key: bytes, purpose: str) -> None:
        if len(key) < KEY_BYTES:
            raise ValueError(f"a linkage key has at least {KEY_BYTES} bytes")
        # Derive a subkey per purpose, so the bits of one field say nothing about another's.
        subkey = hmac.new(key, b"migrex-linkage\x1f" + purpose.encode(), hashlib.sha256).digest()
        # HMAC spelt out (RFC 2104) with the padded key absorbed once: `hmac.HMAC.copy` costs
        # more in Python than the two hashes, and a register has hundreds of thousands of grams.
        padded = subkey.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def digest(self, text: str) -> bytes:
        """HMAC-SHA256 of the text under the purpose's subkey."""
        inner = self._inner.copy()
        inner.update(text.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def pairs(self, texts: Sequence[str]) -> tuple[Uint64s, Uint64s]:
        """Two 64-bit hashes of each text, the second odd: the seeds of double hashing."""
        digest = self.digest
        raw = np.frombuffer(b"".join([digest(t)[:16] for t in texts]), dtype="<u8")
        raw = raw.reshape(len(texts), 2) if texts else np.zeros((0, 2), dtype=np.uint64)
        return raw[:, 0].copy(), raw[:, 1] | np.uint64(1)

    def tokens(self, texts: Sequence[str]) -> Uint64s:
        """One 64-bit token per text."""
        return self.pairs(texts)[0]
