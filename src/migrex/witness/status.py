"""What `migrex witness status` shows: per witness of our log, how far it cosigned, what
recovery we declared to it and whether it refuses our log; per partner log we witness, how
far we cosigned and the recoveries it declared to us. Sizes, times and authority ids only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from migrex.audit.tables import AuditCosignature, AuditRecovery, AuditWitnessed
from migrex.witness.node import WitnessingNode, witnesses_of
from migrex.witness.recovery import unacknowledged
from migrex.witness.refusals import Refusal, refusals
from migrex.witness.tables import PartnerRecovery, RecoveryDeclaration


@dataclass(frozen=True)
class OurWitness:
    witness: str
    cosigned_size: int
    recoveries: list[tuple[RecoveryDeclaration, AuditRecovery | None]]
    awaiting: bool
    """The latest recovery declared to it was not yet answered with a cosignature."""
    undeclared: int
    refused: Refusal | None = None
    """The witness's latest answer refused our checkpoint (`refusals`)."""


@dataclass(frozen=True)
class WitnessedLog:
    origin: str
    size: int
    seen_at: datetime | None
    recoveries: list[PartnerRecovery]


def our_witnesses(session: Session, node: WitnessingNode) -> list[OurWitness]:
    found = []
    declared_ids = select(RecoveryDeclaration.recovery_id)
    refused = refusals(session)
    for _, witness in witnesses_of(node.agreements, node.own_state):
        cosigned = session.scalar(select(func.max(AuditCosignature.size))
                                  .where(AuditCosignature.witness == witness))  # fmt: skip
        rows = session.scalars(select(RecoveryDeclaration)
                               .where(RecoveryDeclaration.witness == witness)
                               .order_by(RecoveryDeclaration.leaf_position))  # fmt: skip
        declared = [(row, session.get(AuditRecovery, row.recovery_id)) for row in rows]
        undeclared = session.scalar(
            select(func.count()).select_from(AuditRecovery).where(
                AuditRecovery.id.not_in(declared_ids.where(RecoveryDeclaration.witness == witness))
            )
        )  # fmt: skip
        found.append(OurWitness(witness, int(cosigned or 0), declared,
                                unacknowledged(session, witness) is not None,
                                int(undeclared or 0), refused.get(witness)))  # fmt: skip
    return found


def witnessed_logs(session: Session) -> list[WitnessedLog]:
    witnessed = AuditWitnessed
    latest = session.execute(
        select(witnessed.origin, func.max(witnessed.size), func.max(witnessed.seen_at))
        .group_by(witnessed.origin)
    ).all()  # fmt: skip
    origins: dict[str, tuple[int, datetime | None]] = {
        origin: (int(size), seen) for origin, size, seen in latest
    }
    recoveries: dict[str, list[PartnerRecovery]] = {}
    for row in session.scalars(select(PartnerRecovery).order_by(PartnerRecovery.recorded_at)):
        recoveries.setdefault(row.origin, []).append(row)
        origins.setdefault(row.origin, (0, None))
    return [WitnessedLog(origin, size, seen, recoveries.get(origin, []))
            for origin, (size, seen) in sorted(origins.items())]  # fmt: skip
