"""Keys, encodings and a sender/receiver pair for the transfer tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.jwk import OKPKey

from migrex.envelope import DecryptionKey, key_id
from migrex.linkage.blocking import PASSES
from migrex.linkage.chunks import Uint64s, batches
from migrex.linkage.layout import LAYOUT, Encoded, Tokens
from migrex.linkage.reception import Received, load, receive
from migrex.linkage.transfer import (
    Manifest,
    Progress,
    Sending,
    encoding_parameters,
    send,
    start_sending,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SENDER, RECIPIENT = "kz-mia", "am-mia"


def encodings(records: int, seed: int = 7) -> tuple[Encoded, Uint64s]:
    """Random filters of the layout's width, 0-3 tokens a record in each pass, pseudonyms."""
    rng = np.random.default_rng(seed)
    filters = rng.integers(0, 2**64, size=(records, LAYOUT.words), dtype=np.uint64)
    blocks = {}
    for name in PASSES:
        rows = np.repeat(np.arange(records, dtype=np.int64), rng.integers(0, 4, size=records))
        rng.shuffle(rows)
        blocks[name] = Tokens(rng.integers(0, 2**64, size=len(rows), dtype=np.uint64), rows)
    pseudonyms = rng.integers(0, 2**64, size=records, dtype=np.uint64)
    return Encoded(filters, blocks), pseudonyms


def by_row(tokens: Tokens) -> tuple[Any, Any]:
    order = np.argsort(tokens.rows, kind="stable")
    return tokens.rows[order], tokens.tokens[order]


@dataclass
class Parties:
    """The sender's keys and the receiver's, as their key stores and directories give them."""

    signing: OKPKey = field(default_factory=lambda: OKPKey.generate_key("Ed25519"))
    own: OKPKey = field(default_factory=lambda: OKPKey.generate_key("X25519"))
    recipient: OKPKey = field(default_factory=lambda: OKPKey.generate_key("X25519"))

    def resolve(self, authority: str, kid: str, at: datetime) -> OKPKey | None:
        if authority == SENDER and kid == key_id(self.signing):
            return self.signing
        return None

    @property
    def chunk_key(self) -> Ed25519PrivateKey:
        key = self.signing.private_key
        assert isinstance(key, Ed25519PrivateKey)
        return key

    @property
    def receiver(self) -> dict[str, Any]:
        keys = {key_id(self.recipient): DecryptionKey(RECIPIENT, self.recipient)}
        return {"decryption_keys": keys, "resolve_signing_key": self.resolve, "now": NOW}

    def start(self, directory: Path, *, chunk_records: int, run_id: str = "run-1") -> Sending:
        return start_sending(
            directory, run_id=run_id, sender=SENDER, recipient=RECIPIENT,
            encoding=encoding_parameters(), signing_key=self.signing,
            recipient_key=self.recipient, sender_key=self.own, now=NOW,
            chunk_records=chunk_records,
        )  # fmt: skip

    def send_all(
        self, directory: Path, encoded: Encoded, pseudonyms: Uint64s, *, chunk_records: int,
        run_id: str = "run-1",
    ) -> Manifest:  # fmt: skip
        sending = self.start(directory, chunk_records=chunk_records, run_id=run_id)
        return send(sending, batches(encoded, pseudonyms, chunk_records), NOW)

    def receive(self, directory: Path) -> Progress:
        return receive(directory, **self.receiver)

    def load(self, directory: Path) -> Received:
        return load(directory, **self.receiver)


def assert_same(received: Received, encoded: Encoded, pseudonyms: Uint64s) -> None:
    assert np.array_equal(received.encoded.filters, encoded.filters)
    assert received.encoded.filters.dtype == np.uint64
    assert np.array_equal(received.pseudonyms, pseudonyms)
    assert set(received.encoded.blocks) == set(encoded.blocks)
    for name, tokens in encoded.blocks.items():
        got, want = received.encoded.blocks[name], by_row(tokens)
        assert np.array_equal(got.rows, want[0]) and np.array_equal(got.tokens, want[1])
