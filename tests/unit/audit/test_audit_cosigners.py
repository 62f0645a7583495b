"""A witness's cosignature checked against every key it ever had, each within its validity."""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from test_audit_checkpoint import AT, LOG_KEY, LOG_NAME, WITNESS_KEY, WITNESS_NAME

from migrex.audit import Checkpoint, add_cosignature, format_checkpoint, sign_note
from migrex.audit.cosigners import CosignerKey, always_valid, cosignature_problem, merged

NOTE = sign_note(format_checkpoint(Checkpoint(LOG_NAME, 5, b"\x05" * 32)), LOG_NAME, LOG_KEY)
OLD = WITNESS_KEY
NEW = Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))
ROTATED_AT = AT + timedelta(days=30)


def cosigned(key: Ed25519PrivateKey, at: datetime = AT) -> str:
    return add_cosignature(NOTE, WITNESS_NAME, key, at=at)


def history() -> list[CosignerKey]:
    """The old key until an hour after the rotation, the new one from the rotation."""
    return [
        CosignerKey(OLD.public_key(), AT - timedelta(days=1), ROTATED_AT + timedelta(hours=1)),
        CosignerKey(NEW.public_key(), ROTATED_AT, ROTATED_AT + timedelta(days=365)),
    ]


def test_a_cosignature_verifies_with_the_key_it_was_made_with() -> None:
    assert cosignature_problem(cosigned(OLD), WITNESS_NAME, history()) is None
    after = cosigned(NEW, ROTATED_AT + timedelta(days=1))
    assert cosignature_problem(after, WITNESS_NAME, history()) is None


def test_only_the_newest_key_is_not_enough_for_an_older_cosignature() -> None:
    problem = cosignature_problem(cosigned(OLD), WITNESS_NAME, history()[1:])
    assert problem == "no known key signed this note"


def test_a_key_used_outside_its_validity_does_not_count() -> None:
    late = cosigned(OLD, ROTATED_AT + timedelta(days=2))  # after the old key ended
    problem = cosignature_problem(late, WITNESS_NAME, history())
    assert problem is not None and "not valid at the cosignature's time" in problem


def test_a_cosignature_in_the_second_its_key_began_counts() -> None:
    # Cosignatures state whole seconds: this one says AT, though made 0.7 s after it.
    began = [CosignerKey(NEW.public_key(), AT + timedelta(milliseconds=500))]
    made = cosigned(NEW, AT + timedelta(milliseconds=700))
    assert cosignature_problem(made, WITNESS_NAME, began) is None


def test_a_forged_cosignature_is_named_as_such() -> None:
    forged = cosigned(OLD).replace(WITNESS_NAME + " ", WITNESS_NAME + " A", 1)
    problem = cosignature_problem(forged, WITNESS_NAME, history())
    assert problem is not None


def test_keys_from_several_sources_are_merged_once_each() -> None:
    keys = merged(always_valid({WITNESS_NAME: OLD.public_key()}), {WITNESS_NAME: history()})
    assert len(keys[WITNESS_NAME]) == 3
    assert merged({WITNESS_NAME: history()}, {WITNESS_NAME: history()}) == {WITNESS_NAME: history()}
