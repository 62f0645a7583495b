"""Declaring a recovery of our log to the partners' witnesses.

A node restored from a backup (or moved to a fresh database) has a shorter log than the
heads its partners hold: they witnessed checkpoints of the lost branch, and its receipts
stated heads of it. Any checkpoint it shows them now is refused as a rollback. Instead of
forking silently it declares, signed, where its log was restored and what it knew the
witness held, and appends that declaration to its log as a `recovery` leaf. The declaration
rides on each checkpoint it sends the witness until the witness cosigns one that includes the
leaf; the witness checks it (`recovery_witnessed`), records it, and takes the new branch.

A declaration is a compact JWS signed with the log signer's authority key from the signed
directory, so the witness believes it no more than it believes the log's own checkpoints.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import structlog
from joserfc import jws
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from migrex.audit import events
from migrex.audit.log_keys import log_keys
from migrex.audit.merkle import AuditError
from migrex.audit.pending import append_recorded, record
from migrex.audit.store import read_head
from migrex.audit.tables import AuditCosignature, AuditRecovery
from migrex.envelope.model import canonical_json, strict_json_object
from migrex.envelope.seal import JWS_REGISTRY, sign_compact
from migrex.exchange.trust import Trust
from migrex.node import Node
from migrex.witness.node import KeyResolver, WitnessingNode, witnesses_of
from migrex.witness.tables import RecoveryDeclaration
from migrex.witness.with_partner import (
    HeadsClient,
    HttpsHeadsClient,
    PartnerUnreachable,
    heads_held_by_partners,
)

log = structlog.get_logger(__name__)

DECLARATION_TYP: Final = "migrex-audit-recovery+jws"


class RecoveryRefused(AuditError):
    type_slug = "audit-recovery-refused"
    title = "The declared recovery of a partner's log was refused"


@dataclass(frozen=True)
class Declaration:
    """What a declaration states; `held_size` None when the witness could not be asked."""

    origin: str
    authority: str
    witness: str
    restored_size: int
    restored_root: bytes
    restored_at: datetime
    leaf_position: int
    held_size: int | None


def sign_declaration(declaration: Declaration, trust_key: Any) -> str:
    payload = {
        "origin": declaration.origin, "authority": declaration.authority,
        "witness": declaration.witness, "restored_size": declaration.restored_size,
        "restored_root": base64.b64encode(declaration.restored_root).decode("ascii"),
        "restored_at": int(declaration.restored_at.timestamp()),
        "leaf_position": declaration.leaf_position, "held_size": declaration.held_size,
    }  # fmt: skip
    return sign_compact(canonical_json(payload), trust_key, DECLARATION_TYP)


def verify_declaration(token: str, resolve: KeyResolver, now: datetime) -> Declaration:
    """The declaration in `token`, once its signature verifies with a key the signed
    directory gives its authority; `RecoveryRefused` otherwise."""
    try:
        signed = jws.extract_compact(token.encode("ascii"), registry=JWS_REGISTRY)
        payload = strict_json_object(signed.payload)
        kid = str(signed.protected["kid"])
        held = payload["held_size"]
        declaration = Declaration(
            origin=str(payload["origin"]), authority=str(payload["authority"]),
            witness=str(payload["witness"]), restored_size=int(payload["restored_size"]),
            restored_root=base64.b64decode(str(payload["restored_root"]), validate=True),
            restored_at=datetime.fromtimestamp(int(payload["restored_at"]), UTC),
            leaf_position=int(payload["leaf_position"]),
            held_size=None if held is None else int(held),
        )  # fmt: skip
    except Exception:  # hostile bytes in a third-party parser: refuse, whatever failed
        raise RecoveryRefused("the recovery is not a signed declaration") from None
    if signed.protected.get("typ") != DECLARATION_TYP or declaration.restored_size < 0:
        raise RecoveryRefused("the recovery is not a signed declaration")
    key = resolve(declaration.authority, kid, now)
    try:
        valid = key is not None and jws.validate_compact(signed, key, registry=JWS_REGISTRY)
    except Exception:
        valid = False
    if not valid:
        raise RecoveryRefused(f"the recovery does not verify with a key of "
                              f"{declaration.authority}")  # fmt: skip
    return declaration


# ---------------------------------------------------------------- our side


HeldHeads = dict[str, int | None]
"""Partner witness authority → the largest head of our log it holds (None: not asked)."""


def mark_recovered(session: Session, now: datetime) -> AuditRecovery:
    """Mark the log as recovered at its current head, by hand (a node moved to a fresh
    database, or restored by other means than `migrex restore`)."""
    head = read_head(session)
    row = AuditRecovery(restored_size=head.size, restored_root=head.root_hash, restored_at=now,
                        backup_created_at=None)  # fmt: skip
    session.add(row)
    session.flush()
    return row


def undeclared(session: Session, witness: str) -> list[AuditRecovery]:
    declared = select(RecoveryDeclaration.recovery_id).where(RecoveryDeclaration.witness == witness)
    return list(session.scalars(
        select(AuditRecovery).where(AuditRecovery.id.not_in(declared)).order_by(AuditRecovery.id)
    ))  # fmt: skip


def pending_witnesses(session: Session, node: WitnessingNode) -> list[str]:
    """The witnesses some recovery was not yet declared to."""
    return [w for _, w in witnesses_of(node.agreements, node.own_state) if undeclared(session, w)]


def declare(
    session: Session, node: WitnessingNode, trust: Trust, held: HeldHeads, now: datetime
) -> list[RecoveryDeclaration]:
    """Declare every recovery not yet declared to each witness: a `recovery` leaf in our log
    and a signed declaration kept to send with our checkpoints."""
    made = []
    signer = node.signer
    for _, witness in witnesses_of(node.agreements, node.own_state):
        for recovery in undeclared(session, witness):
            held_size = held.get(witness)
            entry = events.recovery(at=now, authority=signer.authority,
                                    restored_size=recovery.restored_size,
                                    restored_root=bytes(recovery.restored_root).hex(),
                                    witness=witness, witnessed_size=held_size)  # fmt: skip
            # The declaration names the entry's place in the log, so it is appended now.
            record(session, entry)
            position = append_recorded(session, now)[-1]
            declaration = Declaration(signer.origin, signer.authority, witness,
                                      recovery.restored_size, bytes(recovery.restored_root),
                                      recovery.restored_at, position, held_size)  # fmt: skip
            row = RecoveryDeclaration(
                recovery_id=recovery.id, witness=witness, leaf_position=position,
                held_size=held_size, declared_at=now,
                declaration=sign_declaration(declaration, trust.signing_key(signer.authority,
                                                                            now)),
            )  # fmt: skip
            session.add(row)
            made.append(row)
            log.warning("audit log recovery declared", witness=witness,
                        restored_size=recovery.restored_size, witness_held=held_size)  # fmt: skip
    session.flush()
    return made


def unacknowledged(session: Session, witness: str) -> RecoveryDeclaration | None:
    """The latest declaration to `witness` it has not yet answered by cosigning a checkpoint
    that includes its leaf; None when there is none."""
    latest = session.scalars(
        select(RecoveryDeclaration)
        .where(RecoveryDeclaration.witness == witness)
        .order_by(RecoveryDeclaration.leaf_position.desc())
        .limit(1)
    ).first()
    if latest is None:
        return None
    cosigned = session.scalar(
        select(func.max(AuditCosignature.size)).where(AuditCosignature.witness == witness)
    )
    return latest if (cosigned or 0) <= latest.leaf_position else None


def declare_for(node: Node, trust: Trust, witnessing: WitnessingNode, held: HeldHeads,
                now: datetime) -> list[RecoveryDeclaration]:  # fmt: skip
    """`declare` in its own transaction."""
    with node.unit_of_work() as uow:
        made = declare(uow.session, witnessing, trust, held, now)
        uow.commit()
        return made


def held_by_witnesses(
    node: Node, trust: Trust, witnessing: WitnessingNode, now: datetime,
    client: HeadsClient | None = None,
) -> HeldHeads:  # fmt: skip
    """Ask each partner for the heads of our log it holds (signed by us, so believed only
    once checked with our keys); the largest one by witness, None for a partner that could
    not be reached: the declaration goes out all the same, and the witness records what it
    held itself."""
    own = client or HttpsHeadsClient(trust)
    try:
        held = heads_held_by_partners(trust, witnessing, log_keys(node), own, now)
    except PartnerUnreachable as error:
        log.warning("partner not reachable to ask what it holds of our log",
                    error=type(error).__name__)  # fmt: skip
        return {}
    finally:
        if client is None and isinstance(own, HttpsHeadsClient):
            own.close()
    return {partner: held.largest.get(partner, 0) for partner in held.asked}
