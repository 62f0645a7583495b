"""The file key store: round trip, file permissions, rotation on disk, the port it fits."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from migrex.identity.keys import KeyStoreError, KeyUse
from migrex.identity.keystore import FileKeyStore, KeyStore

T0 = datetime(2025, 9, 3, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_file_store_fits_the_key_store_protocol(tmp_path: Path) -> None:
    store: KeyStore = FileKeyStore(tmp_path)
    assert isinstance(store, KeyStore)


def test_generated_keys_round_trip_through_the_files(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys")
    pair = store.generate("kz-mia", T0)
    again = FileKeyStore(tmp_path / "keys")
    assert again.current_signing("kz-mia", T0).kid == pair.signing.kid
    assert again.current_encryption("kz-mia", T0).kid == pair.encryption.kid
    assert again.current_signing("kz-mia", T0).key.is_private
    assert {k.kid for k in again.all_keys("kz-mia")} == {pair.signing.kid, pair.encryption.kid}
    assert again.all_keys("kz-mlsp") == ()


def test_keys_are_private_files_in_private_folders(tmp_path: Path) -> None:
    key_dir = tmp_path / "var" / "keys"
    store = FileKeyStore(key_dir)
    pair = store.generate("kz-mia", T0)
    store.generate_party_key("KZ", T0)
    folder = key_dir / "authorities" / "kz-mia"
    assert _mode(key_dir) == _mode(key_dir / "authorities") == _mode(folder) == 0o700
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted(f"{k.use.value}-{k.kid}.json" for k in pair)
    for path in [*folder.iterdir(), *(key_dir / "party" / "KZ").iterdir()]:
        assert _mode(path) == 0o600
    record = json.loads((folder / files[0]).read_text(encoding="utf-8"))
    assert "d" in record["jwk"]


def test_a_key_file_others_may_read_is_refused(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path)
    pair = store.generate("kz-mia", T0)
    path = tmp_path / "authorities" / "kz-mia" / f"sig-{pair.signing.kid}.json"
    path.chmod(0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        store.current_signing("kz-mia", T0)


def test_a_damaged_or_misplaced_key_file_is_refused(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path)
    pair = store.generate("kz-mia", T0)
    source = tmp_path / "authorities" / "kz-mia" / f"enc-{pair.encryption.kid}.json"
    moved = tmp_path / "authorities" / "kz-mlsp" / source.name
    moved.parent.mkdir(mode=0o700)
    source.rename(moved)
    with pytest.raises(KeyStoreError, match="belongs elsewhere"):
        store.all_keys("kz-mlsp")
    moved.write_text("{", encoding="utf-8")
    with pytest.raises(KeyStoreError, match="cannot read"):
        store.all_keys("kz-mlsp")


def test_generating_twice_is_refused_and_a_missing_key_is_an_error(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path)
    store.generate("kz-mia", T0)
    with pytest.raises(KeyStoreError, match="rotate"):
        store.generate("kz-mia", T0)
    with pytest.raises(KeyStoreError, match="no valid signing key for kz-mlsp"):
        store.current_signing("kz-mlsp", T0)
    with pytest.raises(KeyStoreError, match="generate them first"):
        store.rotate("kz-mlsp", T0, DAY)
    with pytest.raises(KeyStoreError):
        store.current_signing("kz-mia", T0 + 400 * DAY)  # past the one-year lifetime


def test_rotation_makes_new_keys_current_and_keeps_old_ones_through_the_overlap(
    tmp_path: Path,
) -> None:
    store = FileKeyStore(tmp_path)
    old = store.generate("kz-mia", T0)
    now = T0 + 30 * DAY
    fresh = store.rotate("kz-mia", now, 7 * DAY)
    assert store.current_signing("kz-mia", now).kid == fresh.signing.kid
    assert store.current_encryption("kz-mia", now).kid == fresh.encryption.kid
    stored = {k.kid: k for k in FileKeyStore(tmp_path).all_keys("kz-mia")}
    assert set(stored) == {*(k.kid for k in old), *(k.kid for k in fresh)}
    for key in old:
        assert stored[key.kid].not_after == now + 7 * DAY
        assert stored[key.kid].valid_at(now + 7 * DAY - timedelta(seconds=1))
        assert not stored[key.kid].valid_at(now + 7 * DAY)
    assert {k.use for k in fresh} == {KeyUse.SIGNING, KeyUse.ENCRYPTION}


def test_the_party_key_is_one_per_state(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path)
    party = store.generate_party_key("KZ", T0)
    assert party.key.curve_name == "Ed25519"
    assert store.party_key("KZ", T0).kid == party.kid
    with pytest.raises(KeyStoreError, match="already has a party key"):
        store.generate_party_key("KZ", T0)
    with pytest.raises(KeyStoreError):
        store.party_key("AM", T0)


def test_a_pending_key_decrypts_but_signs_nothing_until_it_is_activated(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path)
    old = store.generate("kz-mia", T0)
    now = T0 + 30 * DAY
    waiting = store.add_pending("kz-mia", now)
    reread = FileKeyStore(tmp_path)
    # The old keys stay current: partners do not know the new ones yet.
    assert reread.current_signing("kz-mia", now + DAY).kid == old.signing.kid
    assert reread.current_encryption("kz-mia", now + DAY).kid == old.encryption.kid
    pending = {k.kid: k for k in reread.all_keys("kz-mia") if k.pending}
    assert set(pending) == {waiting.signing.kid, waiting.encryption.kid}
    # ... but a partner that installed the new directory may already seal to the new key.
    assert waiting.encryption.valid_at(now)
    with pytest.raises(KeyStoreError, match="waiting"):
        store.add_pending("kz-mia", now)
    with pytest.raises(KeyStoreError, match="waiting"):
        store.rotate("kz-mia", now, DAY)

    later = now + 2 * DAY
    taken = reread.activate("kz-mia", later, 7 * DAY)
    assert {k.kid for k in taken} == set(pending)
    after = FileKeyStore(tmp_path)
    assert after.current_signing("kz-mia", later).kid == waiting.signing.kid
    assert after.current_encryption("kz-mia", later).kid == waiting.encryption.kid
    stored = {k.kid: k for k in after.all_keys("kz-mia")}
    for key in old:  # kept, for verification, ending after the overlap
        assert stored[key.kid].not_after == later + 7 * DAY
    assert not any(k.pending for k in stored.values())
    assert after.activate("kz-mia", later, DAY) == ()
