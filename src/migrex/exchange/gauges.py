"""Figures read from the database when Prometheus scrapes the node, so none is ever stale and
no job has to keep them: how far the audit log is ahead of its partners' cosignatures, how
much received data is past retention and not yet erased, and the recent refusals in the
security log by reason (failed logins among them, which happen on the officers' listener)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from migrex.audit.tables import AuditCosignature, AuditHead
from migrex.retention.tables import RetentionKeyRow
from migrex.security.tables import SecurityEvent
from migrex.uow import UnitOfWork

RECENT = timedelta(minutes=15)


class NodeGauges(Collector):
    def __init__(self, unit_of_work: Callable[[], UnitOfWork]) -> None:
        self._unit_of_work = unit_of_work

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = datetime.now(UTC)
        with self._unit_of_work() as uow:
            session = uow.session
            size = session.scalar(select(AuditHead.size).where(AuditHead.id == 1)) or 0
            cosigned, last = session.execute(
                select(func.max(AuditCosignature.size), func.max(AuditCosignature.received_at))
            ).one()
            backlog = session.scalar(
                select(func.count()).select_from(RetentionKeyRow)
                .where(RetentionKeyRow.erased_at.is_(None), RetentionKeyRow.expires_at <= now)
            )  # fmt: skip
            recent = session.execute(
                select(SecurityEvent.reason, func.sum(SecurityEvent.count))
                .where(func.coalesce(SecurityEvent.last_at, SecurityEvent.at) >= now - RECENT)
                .group_by(SecurityEvent.reason)
            ).all()  # fmt: skip
        yield GaugeMetricFamily(
            "migrex_witness_uncosigned_leaves",
            "Audit-log leaves after the latest checkpoint a partner cosigned",
            value=max(0, size - (cosigned or 0)),
        )
        stamp = GaugeMetricFamily(
            "migrex_witness_last_cosigned_timestamp_seconds",
            "When a partner's cosignature of our log last arrived (Unix time; 0: never)",
        )
        stamp.add_metric([], _timestamp(last))
        yield stamp
        yield GaugeMetricFamily(
            "migrex_retention_backlog",
            "Received records past their retention whose keys are not yet erased",
            value=backlog or 0,
        )
        refusals = GaugeMetricFamily(
            "migrex_security_refusals_recent",
            f"Refusals in the security log in the last {int(RECENT.total_seconds() // 60)} "
            "minutes, by reason",
            labels=["reason"],
        )
        for reason, count in recent:
            refusals.add_metric([reason], count or 0)
        yield refusals


def _timestamp(at: datetime | None) -> float:
    return at.timestamp() if at is not None else 0.0
