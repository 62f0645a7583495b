"""A witness's cosigning keys over time, and checking a cosignature against them.

A witness rotates its key like any authority. Its older cosignatures stay valid: they were
made with the key it held then. So a cosignature is checked against every key the witness
ever published, the one whose key ID it names, and that key must have been valid at the
time the cosignature states.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from migrex.audit.checkpoint import NoteRejected, open_note

_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class CosignerKey:
    """One public key of a witness, valid from `not_before` (inclusive) to `not_after`
    (exclusive); None on either side means unbounded (a key given by hand)."""

    public_key: Ed25519PublicKey
    not_before: datetime | None = None
    not_after: datetime | None = None

    def valid_in_second(self, second: datetime) -> bool:
        """Whether the key was valid at some moment of the whole `second`: a cosignature
        states its time in whole seconds, so one made just after a key's start (a witness
        cosigns with its new key at once) states a time just before it."""
        return (self.not_before is None or self.not_before < second + _SECOND) and (
            self.not_after is None or second < self.not_after
        )


CosignerKeys = Mapping[str, Sequence[CosignerKey]]
"""Each witness's keys, by the name it cosigns under."""


def always_valid(keys: Mapping[str, Ed25519PublicKey]) -> dict[str, list[CosignerKey]]:
    """Keys given without a validity (on the command line): each one valid at any time."""
    return {name: [CosignerKey(key)] for name, key in keys.items()}


def merged(*sources: CosignerKeys) -> dict[str, list[CosignerKey]]:
    """The keys of every source, per witness, each key once."""
    keys: dict[str, list[CosignerKey]] = {}
    for source in sources:
        for name, found in source.items():
            keys.setdefault(name, [])
            keys[name] += [key for key in found if key not in keys[name]]
    return keys


def cosignature_problem(note: str, witness: str, keys: Iterable[CosignerKey]) -> str | None:
    """Why `witness`'s cosignature on `note` does not stand, or None when it does.

    Raises nothing: a note no listed key cosigned, a signature that fails, or a key used
    outside its validity are all reported as the reason.
    """
    reasons = []
    for key in keys:
        try:
            opened = open_note(note, {}, {witness: key.public_key})
        except NoteRejected as error:
            reasons.append(error.detail)
            continue
        at = opened.cosigned_at[witness]
        if key.valid_in_second(at):
            return None
        reasons.append(f"its key was not valid at the cosignature's time {at.isoformat()}")
    if not reasons:
        return "no key of this witness is known"
    # A key that signed but out of its validity says more than "no known key signed".
    specific = [r for r in reasons if r != "no known key signed this note"]
    return (specific or reasons)[0]
