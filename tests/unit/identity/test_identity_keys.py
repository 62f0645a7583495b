"""Authority keys as plain records: thumbprint ids, validity windows and rotation rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from joserfc import jws

from migrex.identity.keys import (
    AuthorityKey,
    KeyStoreError,
    KeyUse,
    current_key,
    key_from_record,
    key_set,
    key_to_record,
    new_key,
    public_key,
    rotated,
)

T0 = datetime(2025, 9, 3, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_a_new_key_is_identified_by_its_thumbprint_and_has_the_right_curve() -> None:
    signing = new_key("kz-mia", KeyUse.SIGNING, T0)
    encryption = new_key("kz-mia", KeyUse.ENCRYPTION, T0)
    assert signing.key.curve_name == "Ed25519"
    assert encryption.key.curve_name == "X25519"
    for key in (signing, encryption):
        assert key.kid == key.key.thumbprint() == key.key.kid
        assert key.not_before == T0
        assert key.public_jwk()["kid"] == key.kid
        assert "d" not in key.public_jwk()


def test_times_are_kept_in_utc_to_the_second() -> None:
    key = new_key("kz-mia", KeyUse.SIGNING, T0.replace(microsecond=999) + timedelta(hours=5))
    assert key.not_before.microsecond == 0
    assert key.not_before.tzinfo is UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        new_key("kz-mia", KeyUse.SIGNING, datetime(2025, 1, 1))


def test_owner_names_cannot_leave_the_key_folder() -> None:
    for owner in ("../etc", "KZ/x", "", "Kz-mia"):
        with pytest.raises(KeyStoreError):
            new_key(owner, KeyUse.SIGNING, T0)


def test_the_current_key_is_the_most_recently_activated_valid_one() -> None:
    old = new_key("kz-mia", KeyUse.SIGNING, T0)
    newer = new_key("kz-mia", KeyUse.SIGNING, T0 + DAY)
    pending = new_key("kz-mia", KeyUse.SIGNING, T0 + 10 * DAY)
    other_use = new_key("kz-mia", KeyUse.ENCRYPTION, T0 + 2 * DAY)
    keys = [old, newer, pending, other_use]
    assert current_key(keys, KeyUse.SIGNING, T0) == old
    assert current_key(keys, KeyUse.SIGNING, T0 + 2 * DAY) == newer
    assert current_key(keys, KeyUse.SIGNING, T0 + 11 * DAY) == pending
    assert current_key(keys, KeyUse.SIGNING, T0 - DAY) is None


def test_rotation_shortens_the_old_key_to_the_overlap() -> None:
    old = new_key("kz-mia", KeyUse.SIGNING, T0)
    now = T0 + 30 * DAY
    fresh, shortened = rotated([old], "kz-mia", KeyUse.SIGNING, now=now, overlap=7 * DAY)
    assert fresh.not_before == now
    assert [k.kid for k in shortened] == [old.kid]
    assert shortened[0].not_after == now + 7 * DAY
    keys = [fresh, *shortened]
    assert current_key(keys, KeyUse.SIGNING, now) == fresh
    # The old key still verifies during the overlap and not a second after.
    assert shortened[0].valid_at(now + 7 * DAY - timedelta(seconds=1))
    assert not shortened[0].valid_at(now + 7 * DAY)


def test_a_delayed_rotation_keeps_the_old_key_current_until_activation() -> None:
    old = new_key("kz-mia", KeyUse.ENCRYPTION, T0)
    activate = T0 + 2 * DAY
    fresh, shortened = rotated(
        [old], "kz-mia", KeyUse.ENCRYPTION, now=T0, overlap=DAY, activate_at=activate
    )
    keys = [fresh, *shortened]
    assert current_key(keys, KeyUse.ENCRYPTION, T0 + DAY) == shortened[0]
    assert current_key(keys, KeyUse.ENCRYPTION, activate) == fresh
    assert shortened[0].not_after == activate + DAY
    with pytest.raises(KeyStoreError, match="waiting to take over"):
        rotated(keys, "kz-mia", KeyUse.ENCRYPTION, now=T0 + DAY, overlap=DAY)
    with pytest.raises(ValueError, match="past"):
        rotated([old], "kz-mia", KeyUse.SIGNING, now=T0, overlap=DAY, activate_at=T0 - DAY)
    with pytest.raises(ValueError, match="negative"):
        rotated([old], "kz-mia", KeyUse.SIGNING, now=T0, overlap=-DAY)


def test_a_key_set_offers_every_key_valid_at_the_time() -> None:
    old = new_key("kz-mia", KeyUse.SIGNING, T0)
    fresh, (shortened,) = rotated([old], "kz-mia", KeyUse.SIGNING, now=T0 + DAY, overlap=DAY)
    header = {"alg": "Ed25519", "kid": old.kid}
    token = jws.serialize_compact(header, b"hi", old.key, algorithms=["Ed25519"])
    during = key_set([fresh, shortened], KeyUse.SIGNING, T0 + DAY)
    assert jws.deserialize_compact(token, during, algorithms=["Ed25519"]).payload == b"hi"
    after = key_set([fresh, shortened], KeyUse.SIGNING, T0 + 2 * DAY)
    assert [k.kid for k in after.keys] == [fresh.kid]


def test_a_record_round_trips_and_damage_is_reported() -> None:
    key = new_key("KZ", KeyUse.SIGNING, T0)
    again = key_from_record(key_to_record(key), "x.json")
    assert (again.kid, again.owner, again.not_after) == (key.kid, "KZ", key.not_after)
    assert again.key.is_private
    record = key_to_record(key)
    record["jwk"]["kid"] = "someone-else"
    with pytest.raises(KeyStoreError, match="thumbprint"):
        key_from_record(record, "x.json")
    public_only = key_to_record(key) | {"jwk": key.public_jwk()}
    with pytest.raises(KeyStoreError, match="private Ed25519"):
        key_from_record(public_only, "x.json")
    broken: object
    for broken in ([], {"use": "sig"}, key_to_record(key) | {"not_before": "yesterday"}):
        with pytest.raises(KeyStoreError, match=r"x\.json is damaged"):
            key_from_record(broken, "x.json")


def test_public_key_drops_a_private_member() -> None:
    key = new_key("kz-mia", KeyUse.ENCRYPTION, T0)
    found = public_key(key.key.as_dict(private=True))
    assert not found.is_private
    assert found.thumbprint() == key.kid
    assert isinstance(key, AuthorityKey)
