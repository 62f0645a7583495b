"""A party's side of a linkage run with a unit: send our encodings, collect our candidates.

Both steps act on an accepted run (its case), as a named officer, and each is an audit entry
with counts only. Sending mixes the decoys the run's hardening names into the node's own
register (`linkage.decoys`), encodes it under the run's key (derived here, never sent),
gives each record a pseudonym only this node can resolve (`linkage.pseudonyms`),
writes the transfer to disk and uploads it to the unit the agreement names; a failure leaves
the transfer on disk, and sending again carries on where the unit stands. Once the unit has
the whole transfer, our copy is deleted. Collecting opens the unit's sealed result, resolves
our pseudonyms to our own register's ids, files them as candidates for officers
(`linkage.candidates`) and sends the unit a signed receipt, upon which it deletes the result.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import numpy as np

from migrex.audit import events
from migrex.audit.pending import record
from migrex.exchange.service import NotPermitted
from migrex.linkage.candidates import ResolvedCandidate, file_candidates
from migrex.linkage.chunks import batches
from migrex.linkage.layout import DECOYS
from migrex.linkage.pseudonyms import pseudonym_key, pseudonyms, resolve
from migrex.linkage.records import Register
from migrex.linkage.results import open_result, result_digest, sign_receipt
from migrex.linkage.runs import HARDENING_VERSION, LinkageNode, Run, run_key, run_of
from migrex.linkage.transfer import (
    CHUNK_RECORDS,
    MANIFEST,
    OPENING,
    ResumePoint,
    encoding_parameters,
    resume_sending,
    send,
    start_sending,
)
from migrex.linkage.unit import KEEP, unchanged_since
from migrex.linkage.unit_client import UnitClient, upload
from migrex.uow import UnitOfWork

OUTGOING: Final = Path("linkage") / "outgoing"


@dataclass(frozen=True)
class Sent:
    run_id: str
    records: int
    complete: bool


@dataclass(frozen=True)
class Collected:
    run_id: str
    candidates: list[ResolvedCandidate]
    unresolved: int  # pseudonyms no active citizen of ours has (our decoys, departures)


def unit_name(node: LinkageNode, run: Run) -> str:
    """The unit the run's agreement names; NotPermitted when it names none."""
    agreement = node.casework.agreements[run.case.agreement_id]
    if agreement.linkage is None or agreement.linkage.unit is None:
        raise NotPermitted(f"{agreement.id} names no linkage unit")
    return agreement.linkage.unit


def decoys_of(run: Run) -> float:
    """The decoys per record of the run's hardening version, as our encoder has it: the
    version the agreement fixes is what both parties agreed to (screening checks it), and a
    proposal's parameters are only its statement of them. None for an earlier version."""
    return DECOYS if run.proposal.hardening_version == HARDENING_VERSION else 0.0


def decoy_draws(secret: bytes) -> np.random.Generator:
    """The run's draws of decoys, from our own secret for the run: sending again after a
    failure makes the same decoys in the same places, so the chunks the unit verified
    stay the chunks of this transfer, and no one else can make them."""
    seed = hmac.digest(secret, b"migrex linkage decoys", hashlib.sha256)
    return np.random.default_rng(int.from_bytes(seed, "big"))


def outgoing_dir(node: LinkageNode, run_id: str) -> Path:
    return node.trust.settings.data_dir / OUTGOING / run_id


def send_encodings(
    uow: UnitOfWork, node: LinkageNode, case_id: str, *, register: Register,
    client: UnitClient, actor: str, now: datetime, chunk_records: int = CHUNK_RECORDS,
) -> Sent:  # fmt: skip
    """Encode `register` for the accepted run `case_id` and send it to the unit (or carry on
    sending it). NotPermitted before acceptance or without a unit."""
    run = run_of(uow, node.casework, case_id)
    unit = unit_name(node, run)
    run_id, ours = run.proposal.run_id, run.case.our_authority
    directory = outgoing_dir(node, run_id)
    at_unit = client.step(run_id, ours)
    if at_unit is not None and at_unit.get("complete"):
        return Sent(run_id, int(at_unit["records"]), complete=True)
    if not (directory / MANIFEST).is_file():
        key = run_key(uow, node, case_id, actor=actor, now=now)
        secret = pseudonym_key(node.trust.settings.resolved_key_dir, run_id)
        # Encoding loads the compiled kernels (numba) and Arrow's compute: with the first
        # run a node sends, not with every node start.
        from migrex.linkage.decoys import with_decoys  # noqa: PLC0415
        from migrex.linkage.linking import encode  # noqa: PLC0415

        register, _ = with_decoys(register, decoys_of(run), decoy_draws(secret))
        encoded = encode(register, key)
        names = pseudonyms(secret, register.ids)
        trust = node.trust
        if at_unit is None:
            shutil.rmtree(directory, ignore_errors=True)  # the unit has nothing: start over
            sending = start_sending(
                directory, run_id=run_id, sender=ours, recipient=unit,
                encoding=encoding_parameters(), signing_key=trust.signing_key(ours, now),
                recipient_key=trust.recipient_key(run.case.agreement_id, unit, now),
                sender_key=trust.current_encryption_key(ours, now).key, now=now,
                chunk_records=chunk_records,
            )  # fmt: skip
        elif (directory / OPENING).is_file():
            # Killed while writing: carry on from what the unit has verified (the same key
            # and register give the same chunks again).
            point = ResumePoint(int(at_unit["next_chunk"]), bytes.fromhex(at_unit["previous"]),
                                int(at_unit["records"]))  # fmt: skip
            sending = resume_sending(
                directory, point, signing_key=trust.signing_key(ours, now),
                sender_decryption_key=trust.current_encryption_key(ours, now).key, now=now,
            )  # fmt: skip
        else:
            raise NotPermitted(f"the unit holds a transfer of run {run_id} this node has lost")
        send(sending, batches(encoded, names, sending.opening.chunk_records), now)
    step = upload(client, directory, run_id, ours)
    complete = bool(step.get("complete"))
    records = int(step.get("records", 0))
    if complete:
        shutil.rmtree(directory, ignore_errors=True)
    record(uow.session, events.linkage_step(
        at=now, actor=actor, authority=ours,
        reference=f"linkage:{run_id}:sent:records={records}:complete={complete}",
    ))  # fmt: skip
    uow.commit()
    return Sent(run_id, records, complete)


def collect_candidates(
    uow: UnitOfWork, node: LinkageNode, case_id: str, *, national_ids: Callable[[], Iterable[str]],
    client: UnitClient, actor: str, now: datetime,
) -> Collected | None:  # fmt: skip
    """Our candidates of the run, once the unit has compared it (None before): resolved,
    filed for officers (`linkage.candidates.file_candidates`) and receipted to the unit in
    that order, so a failure before the receipt leaves the result at the unit to collect
    again (filing is idempotent per pair)."""
    run = run_of(uow, node.casework, case_id)
    unit = unit_name(node, run)
    run_id, ours = run.proposal.run_id, run.case.our_authority
    sealed = client.result(run_id, ours)
    if sealed is None:
        return None
    found = open_result(
        sealed, run_id=run_id, unit=unit, party=ours,
        decryption_keys=node.trust.decryption_keys(now),
        resolve_signing_key=node.trust.resolve_signing_key, now=now,
    )  # fmt: skip
    key = pseudonym_key(node.trust.settings.resolved_key_dir, run_id)
    ids = resolve(key, national_ids(), (c.pseudonym for c in found))
    resolved = [ResolvedCandidate(c.pair_id, ids[c.pseudonym], c.band)
                for c in found if c.pseudonym in ids]  # fmt: skip
    file_candidates(uow, run_case_id=case_id, authority=ours, candidates=resolved, actor=actor,
                    now=now)  # fmt: skip
    record(uow.session, events.linkage_step(
        at=now, actor=actor, authority=ours,
        reference=f"linkage:{run_id}:collected:candidates={len(resolved)}"
                  f":unresolved={len(found) - len(resolved)}",
    ))  # fmt: skip
    uow.commit()
    receipt = sign_receipt(run_id=run_id, party=ours, result_sha256=result_digest(sealed),
                           signing_key=node.trust.signing_key(ours, now), now=now)  # fmt: skip
    client.receipt(run_id, ours, receipt)
    return Collected(run_id, resolved, len(found) - len(resolved))


def forget_stale_transfers(uow: UnitOfWork, data_dir: Path, now: datetime) -> int:
    """Deletes our copies of transfers the unit never took whole (a send that failed and was
    never run again) once nothing in them changed for `unit.KEEP`: encodings are derived
    from our citizens' register and are kept no longer than the unit keeps its own. Each is
    an erasure in the audit log; returns how many."""
    folder = data_dir / OUTGOING
    runs = sorted(folder.iterdir()) if folder.is_dir() else []
    stale = [d for d in runs if d.is_dir() and unchanged_since(d, now - KEEP)]
    for directory in stale:
        shutil.rmtree(directory, ignore_errors=True)
        record(uow.session, events.forgotten(
            at=now, actor="retention", reference=f"linkage:{directory.name}:outgoing-deleted",
        ))  # fmt: skip
    if stale:
        uow.commit()
    return len(stale)
