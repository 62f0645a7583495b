"""The run's key, and keyed hashes: every bit position and every blocking token comes from
HMAC-SHA256 under it (a bit position of a salted letter pair from AES-256 of the HMACs of the
pair and of the salt, under a key derived from it).

Without the key a party shares with its partner, nobody (the linkage unit included) can tell
which letter pair set which bits or which birth date made which token, nor compute the
encoding of a guessed name. Each distinct text is hashed once and each distinct (salt, text)
is one AES block: a register repeats its names and dates, so the hashing cost grows with what
is distinct, not with the records.

The key never travels: each party derives it (`run_key`) from its own authority's private
X25519 key and the partner authority's public one, as the agreement's signed directory lists
it, bound by HKDF to the agreement, the run and both authorities. The linkage unit, which holds
neither private key, cannot derive it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
# Names the derivation below; a change to what it binds, or how, takes a new label, so two
# nodes on different versions derive different keys rather than silently the same one.
RUN_KEY_VERSION = "migrex-linkage-run-key/1"


def run_key(
    ours: X25519PrivateKey,
    theirs: X25519PublicKey,
    *,
    agreement_id: str,
    run_id: str,
    our_authority: str,
    their_authority: str,
) -> bytes:
    """The run's KEY_BYTES-byte encoding key: HKDF-SHA256 over X25519(ours, theirs).

    Both parties get the same key, each from its own private key and the other's public one:
    the authorities are bound in sorted order, so neither side's view of who is "ours" matters.
    The salt binds the agreement and the run, so no two runs (and no two agreements between the
    same authorities) share a key; the info binds the authorities and the version label.
    Raises ValueError for a run between an authority and itself, or for a low-order partner
    key (an all-zero shared secret).
    """
    if our_authority == their_authority:
        raise ValueError("a linkage run is between two different authorities")
    shared = ours.exchange(theirs)  # raises ValueError on an all-zero result
    first, second = sorted((our_authority, their_authority))
    salt = _joined("salt", agreement_id, run_id)
    info = _joined(RUN_KEY_VERSION, first, second)
    return HKDF(hashes.SHA256(), KEY_BYTES, salt, info).derive(shared)


def _joined(*parts: str) -> bytes:
    """Length-prefixed parts: no two different lists of ids give the same bytes."""
    out = bytearray()
    for part in parts:
        raw = part.encode("utf-8")
        out += len(raw).to_bytes(4, "big") + raw
    return bytes(out)


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
        # ECB on purpose: each block is one (gram, salt) pair, enciphered on its own, and the
        # same pair must give the same bits (AES as a pseudorandom permutation, not a mode of
        # encryption; no block is ever deciphered).
        # The cipher's key is the HMAC of a text no gram or token text can be (it starts with
        # a control character none of them holds).
        cipher_key = self.digest("\x1dsalted pairs")
        self._blocks = Cipher(algorithms.AES(cipher_key), modes.ECB())  # noqa: S305

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

    def salted_pairs(self, texts: Uint64s, salts: Uint64s) -> tuple[Uint64s, Uint64s]:
        """Two 64-bit hashes of each (text, salt), the second odd, from the 64-bit hashes of
        the text (`tokens`) and of the salt: AES-256 under the purpose's subkey of the block
        (text hash, salt hash). A register with millions of distinct (salt, gram) pairs pays
        one block of the cipher for each, where an HMAC would cost a Python call."""
        block = np.empty((len(texts), 2), dtype="<u8")
        block[:, 0], block[:, 1] = texts, salts
        encryptor = self._blocks.encryptor()
        raw = encryptor.update(block.tobytes()) + encryptor.finalize()
        out = np.frombuffer(raw, dtype="<u8").reshape(len(texts), 2)
        return out[:, 0].copy(), out[:, 1] | np.uint64(1)

    def tokens(self, texts: Sequence[str]) -> Uint64s:
        """One 64-bit token per text."""
        return self.pairs(texts)[0]
