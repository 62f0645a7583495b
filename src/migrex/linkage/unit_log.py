"""The linkage unit's log, witnessed by the parties it serves.

No message ever leaves a unit, so its log cannot go to a witness the way a party's does
(`migrex.witness.sending`). The parties ask instead: each fetches the unit's latest checkpoint
with a consistency proof from the last one it cosigned, checks it (`linkage.unit_witness`)
and sends its cosignature back. A unit that rewrote its log — to hide that it kept a run's
encodings, say — would have to show a party a checkpoint that does not extend the one the
party holds, and the party refuses it as a split view.

Checkpoints hold a size and a root, nothing of a run: the unit hands them to any node the
door lets in. A cosignature is kept only when it verifies with the key the agreement's
directory lists for a party of that agreement.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from migrex.audit.checkpoint import NoteRejected, ed25519_private_key, ed25519_public_key
from migrex.audit.log import (
    consistency_proof_between,
    make_checkpoint,
    store_cosignature,
    tree_size,
)
from migrex.errors import Conflict, NotFound
from migrex.linkage.unit import LinkageUnit
from migrex.witness.node import witnessing_node


class UnitLogEmpty(NotFound):
    type_slug = "linkage-unit-log-empty"
    title = "The linkage unit's log holds no entry yet"


class CosignatureRefused(Conflict):
    type_slug = "linkage-unit-cosignature-refused"
    title = "The cosignature of the unit's checkpoint was refused"
    status = 422


@dataclass(frozen=True)
class UnitLog:
    """The unit's side: sign and show its head, keep the parties' cosignatures."""

    unit: LinkageUnit

    def checkpoint(self, agreement_id: str, since: int, now: datetime) -> dict[str, Any]:
        """The unit's checkpoint of its current head (signed now if the log grew) and the
        consistency proof from size `since` (none for 0: the asker holds nothing yet, and
        none when the log holds fewer entries than that)."""
        self.unit.unit_of(agreement_id)
        signer = witnessing_node(self.unit.node, self.unit.trust).signer
        with self.unit.node.unit_of_work() as uow:
            if tree_size(uow.session) == 0:
                raise UnitLogEmpty("the unit's log holds no entry yet")
            signed = make_checkpoint(uow.session, signer.origin, signer.origin,
                                     ed25519_private_key(signer.key), now)  # fmt: skip
            size = signed.checkpoint.size
            # A log shorter than what the asker holds has no proof to give: the checkpoint
            # alone tells the asker the log went back (a restore), and it refuses it.
            proof = consistency_proof_between(uow.session, since, size) if 0 < since < size else []
            uow.commit()
        return {
            "origin": signer.origin,
            "authority": signer.authority,
            "kid": signer.kid,
            "size": size,
            "note": signed.note,
            "proof": [base64.b64encode(node).decode("ascii") for node in proof],
        }

    def keep_cosignature(self, agreement_id: str, body: dict[str, Any], now: datetime) -> None:
        """Keep a party's cosignature of one of our checkpoints, once it verifies with that
        party's key in the directory."""
        agreement = self.unit.unit_of(agreement_id).agreement
        try:
            authority, kid = str(body["authority"]), str(body["kid"])
            size, note = int(body["size"]), str(body["note"])
        except (KeyError, TypeError, ValueError):
            raise CosignatureRefused("a cosignature names authority, kid, size and note") from None
        if authority not in agreement.authorities:
            raise CosignatureRefused(f"{authority!r} is no party of {agreement_id}")
        key = self.unit.trust.resolve_signing_key(authority, kid, now)
        if key is None:
            raise CosignatureRefused(f"{authority} has no signing key {kid!r} in the directory")
        with self.unit.node.unit_of_work() as uow:
            try:
                store_cosignature(uow.session, size, authority, note, now,
                                  witness_key=ed25519_public_key(key))  # fmt: skip
            except NoteRejected as refused:
                raise CosignatureRefused(refused.detail) from None
            uow.commit()
