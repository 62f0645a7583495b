"""Each node derives the run's key from its key store and the signed directory; a rotation
during the run changes nothing as long as the recorded keys are kept."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casework_steps import now
from migrex.errors import NotFound
from migrex.linkage.run_keys import RunKeyIds, current_key_ids, derive_run_key
from nodes import Pair

AGREEMENT = "kz-am-2024"


def both_sides(pair: Pair, kids: RunKeyIds, run_id: str = "run-1") -> tuple[bytes, bytes]:
    am = derive_run_key(pair.am_trust, AGREEMENT, "am-mcs", "kz-mia", run_id, key_ids=kids)
    kz = derive_run_key(pair.kz_trust, AGREEMENT, "kz-mia", "am-mcs", run_id, key_ids=kids)
    return am, kz


def test_both_nodes_derive_the_same_key_and_no_key_travels(pair: Pair) -> None:
    kids = current_key_ids(pair.am_trust, AGREEMENT, "am-mcs", "kz-mia", now())
    # What the proposer records is the same pair of kids whichever side reads it.
    assert kids == current_key_ids(pair.kz_trust, AGREEMENT, "kz-mia", "am-mcs", now())
    am, kz = both_sides(pair, kids)
    assert am == kz
    assert both_sides(pair, kids, "run-2")[0] != am


def test_the_recorded_keys_still_derive_after_a_rotation(pair: Pair) -> None:
    kids = current_key_ids(pair.am_trust, AGREEMENT, "am-mcs", "kz-mia", now())
    before = both_sides(pair, kids)[0]
    # The old key ends at once (no overlap): it encrypts and decrypts nothing more.
    pair.am_trust.keystore.rotate("am-mcs", now(), timedelta(0))
    pair.am_trust.refresh()
    # A run proposed from now on records the new key; this run keeps the old one.
    later = now() + timedelta(seconds=1)
    newer = pair.am_trust.current_encryption_key("am-mcs", later).kid
    assert kids.kid_of("am-mcs") not in pair.am_trust.decryption_keys(later)
    assert newer != kids.kid_of("am-mcs")
    assert both_sides(pair, kids) == (before, before)


def test_a_key_the_node_does_not_hold_cannot_derive(pair: Pair) -> None:
    kids = current_key_ids(pair.am_trust, AGREEMENT, "am-mcs", "kz-mia", now())
    unknown = RunKeyIds.of(**{"am-mcs": "not-a-kid", "kz-mia": kids.kid_of("kz-mia")})
    with pytest.raises(NotFound):
        derive_run_key(pair.am_trust, AGREEMENT, "am-mcs", "kz-mia", "run-1", key_ids=unknown)
    with pytest.raises(NotFound):
        derive_run_key(pair.kz_trust, AGREEMENT, "kz-mia", "am-mcs", "run-1", key_ids=unknown)
