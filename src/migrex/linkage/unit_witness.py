"""A party witnesses the log of its agreements' linkage units (`linkage.unit_log`).

The unit's log says what it did with the parties' encodings: opened, compared, deleted. Each
party fetches the unit's latest checkpoint, checks it is signed by the unit the agreement
names, with that unit's key from the signed directory, and that it extends the last
checkpoint of the same log it cosigned (`audit.partner_logs.witness`), then cosigns it and
sends the cosignature back. A checkpoint that contradicts one cosigned before (a split view),
goes back (a rollback) or does not verify is stored nowhere, noted in the security log, and
raised.

An officer or operator runs it at will (`migrex linkage witness-unit`); a background job runs
it every idle interval of witnessing, so whatever the unit logs after a run (a result deleted
once receipted, files expired) is witnessed too.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import func, select, text

from migrex.audit import events
from migrex.audit.checkpoint import (
    NoteRejected,
    ed25519_private_key,
    ed25519_public_key,
    verifier_key,
)
from migrex.audit.merkle import AuditError
from migrex.audit.origins import log_origin
from migrex.audit.partner_logs import witness
from migrex.audit.pending import record
from migrex.audit.proofs import SplitView
from migrex.audit.tables import AuditWitnessed
from migrex.db import begin_writing
from migrex.errors import MigrexError, NotFound
from migrex.exchange.runtime import ExchangeRuntime
from migrex.exchange.tables import SecurityEvent
from migrex.exchange.trust import Trust
from migrex.jobs import start_periodic
from migrex.leases import lock_key
from migrex.linkage.unit_client import UnitClient, UnitUnreachable, unit_address
from migrex.node import Node
from migrex.uow import UnitOfWork

log = structlog.get_logger(__name__)

# A consistency proof holds at most about twice the log's height in hashes.
_MAX_PROOF = 128


@dataclass(frozen=True)
class UnitParty:
    """An agreement's linkage unit, and the authority we witness its log as."""

    agreement_id: str
    unit: str
    authority: str


@dataclass(frozen=True)
class Witnessed:
    origin: str
    size: int
    previous: int  # the size we had cosigned before (0: none; `size`: nothing new)


@dataclass(frozen=True)
class _Shown:
    """The unit's answer, read strictly: whatever it holds, nothing is believed until the
    note verifies, and a malformed answer is refused as one."""

    origin: str
    authority: str
    kid: str
    size: int
    note: str
    proof: list[bytes]

    @classmethod
    def of(cls, answer: dict[str, Any]) -> _Shown:
        try:
            proof = answer["proof"]
            if not isinstance(proof, list) or len(proof) > _MAX_PROOF:
                raise ValueError("proof")
            return cls(str(answer["origin"]), str(answer["authority"]), str(answer["kid"]),
                       int(answer["size"]), str(answer["note"]),
                       [base64.b64decode(str(node), validate=True) for node in proof])  # fmt: skip
        except (KeyError, TypeError, ValueError):
            raise NoteRejected("the unit's checkpoint is not well formed") from None


def unit_parties(node: Node, trust: Trust) -> list[UnitParty]:
    """Every agreement naming a linkage unit that this node is a party of (not the unit) and
    has a signed directory of."""
    found = []
    for agreement in node.agreements.values():
        unit = None if agreement.linkage is None else agreement.linkage.unit
        if unit is None or unit in trust.hosted or agreement.id not in trust.directories:
            continue
        ours = [a for a in trust.hosted if a in agreement.authorities]
        if ours:
            found.append(UnitParty(agreement.id, unit, ours[0]))
    return found


def _unit_origins(trust: Trust, agreement_id: str, unit: str) -> set[str]:
    directory = trust.directories[agreement_id]
    return {log_origin(e.state, e.node_id) for e in directory.entries if e.authority_id == unit}


def _latest(uow: UnitOfWork, origin: str) -> int:
    size = uow.session.scalar(select(func.max(AuditWitnessed.size))
                              .where(AuditWitnessed.origin == origin))  # fmt: skip
    return int(size or 0)


def witness_unit_log(
    uow: UnitOfWork, trust: Trust, party: UnitParty, client: UnitClient, now: datetime
) -> Witnessed:
    """Witness the unit's current checkpoint as `party.authority`: checked, cosigned, kept,
    and the cosignature sent to the unit. NoteRejected for a checkpoint not signed by the
    unit (or not of its log); SplitView, after noting it in the security log, for one that
    contradicts what we cosigned before."""
    agreement_id, unit, authority = party.agreement_id, party.unit, party.authority
    shown = _Shown.of(client.checkpoint(0))
    if shown.origin not in _unit_origins(trust, agreement_id, unit) or shown.authority != unit:
        raise NoteRejected(f"the checkpoint shown is not of the log of {unit}")
    origin, before = shown.origin, _latest(uow, shown.origin)
    if before == shown.size:
        return Witnessed(origin, before, before)  # cosigned already: nothing new to check
    if before:
        shown = _Shown.of(client.checkpoint(before))
    key = trust.resolve_signing_key(unit, shown.kid, now)
    if key is None:
        raise NoteRejected(f"{unit} has no signing key {shown.kid!r} in the directory")
    ours = trust.signing_key(authority, now)
    # The checks below read and then write. On SQLite a transaction that has read cannot wait
    # for the write lock, so it takes the lock first; on PostgreSQL witnesses of one log (the
    # job, an operator) take turns by a lock of their own. The unit was asked before, so no
    # lock is held across the network; whoever cosigned meanwhile is read again.
    begin_writing(uow.session)
    if uow.session.get_bind().dialect.name == "postgresql":
        uow.session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                            {"key": lock_key(f"witness:{origin}")})  # fmt: skip
    if _latest(uow, origin) != before:
        uow.session.rollback()
        return witness_unit_log(uow, trust, party, client, now)
    savepoint = uow.session.begin_nested()
    try:
        cosigned = witness(uow.session, shown.note, shown.proof,
                           origin_verifier_key=verifier_key(origin, ed25519_public_key(key)),
                           our_key_name=authority, our_private_key=ed25519_private_key(ours),
                           now=now)  # fmt: skip
    except AuditError as error:
        # A fork, a rollback or a checkpoint that does not verify: what a unit hiding what it
        # did would show. Nothing of it is kept but the note in the security log.
        savepoint.rollback()
        reason = "split-view" if isinstance(error, SplitView) else "audit-refused"
        uow.session.add(SecurityEvent(at=now, reason=reason, detail=f"{origin}: {error.detail}",
                                      peer=unit, size=0, envelope_sha256=None))  # fmt: skip
        uow.commit()
        log.error("linkage unit's log refused", reason=reason, origin=origin, unit=unit)
        raise
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    size = shown.size
    record(uow.session, events.checkpoint_cosigned(at=now, authority=authority, origin=origin,
                                                   size=size))  # fmt: skip
    uow.commit()
    client.cosign({"authority": authority, "kid": str(ours.kid), "size": size, "note": cosigned})
    return Witnessed(origin, size, before)


def witness_units_job(runtime: ExchangeRuntime, stop: threading.Event) -> None:
    """Every `witness_idle_interval_seconds`, witness the log of each linkage unit this node
    is a party with; a unit out of reach is tried again at the next round."""
    node, trust = runtime.node, runtime.trust
    if not unit_parties(node, trust):
        return

    unlisted: set[UnitParty] = set()

    def round_() -> int:
        done = 0
        for party in unit_parties(node, trust):
            try:
                with node.unit_of_work() as uow:
                    try:
                        address = unit_address(trust, party.agreement_id, party.unit)
                    except NotFound:
                        _unlisted(party, unlisted)
                        continue
                    unlisted.discard(party)
                    with UnitClient(address) as client:
                        witness_unit_log(uow, trust, party, client, datetime.now(UTC))
                done += 1
            except UnitUnreachable:
                log.warning("linkage unit out of reach", agreement=party.agreement_id,
                            unit=party.unit)  # fmt: skip
            except MigrexError as error:
                # One unit refused (its checkpoint, our cosignature): the others are still
                # witnessed this round. What was refused is in the security log.
                log.error("linkage unit's log not witnessed", agreement=party.agreement_id,
                          unit=party.unit, error=type(error).__name__)  # fmt: skip
        return done

    start_periodic("linkage-unit-witness", round_, stop,
                   node.settings.witness_idle_interval_seconds, drain=False,
                   exclusive=node.engine)  # fmt: skip


def _unlisted(party: UnitParty, said: set[UnitParty]) -> None:
    """An agreement names a unit its installed directory does not list (the unit not set
    up yet, or its entry not yet signed): there is nothing to witness, and an operator is
    told once, not at every round."""
    if party not in said:
        said.add(party)
        log.warning("linkage unit not in the directory: its log is not witnessed",
                    agreement=party.agreement_id, unit=party.unit,
                    hint="until its entry is in a signed directory version (README, The "
                         "linkage unit), dual-citizenship runs cannot start; nothing else "
                         "waits on it")  # fmt: skip
