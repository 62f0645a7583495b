"""Linkage's background job: the candidates' retention (G7), so an erased person's candidate
and an expired run's untaken candidates go, and decided ones forget whose record they were;
and our copies of encodings the unit never took whole go once they are stale."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Protocol

from migrex.jobs import start_periodic
from migrex.linkage.candidate_retention import forget_candidates
from migrex.linkage.party import forget_stale_transfers
from migrex.node import Node


class Running(Protocol):
    """What the job needs of the running node (an `ExchangeRuntime`)."""

    @property
    def node(self) -> Node: ...


def forget_candidates_job(runtime: Running, stop: threading.Event) -> None:
    """One retention pass over the candidates every `retention_interval_seconds`, in one of
    the node's processes at a time."""

    def forgetting() -> int:
        now = datetime.now(UTC)
        with runtime.node.unit_of_work() as uow:
            forgotten = forget_candidates(uow, runtime.node.agreements, now).total
        with runtime.node.unit_of_work() as uow:
            return forgotten + forget_stale_transfers(uow, runtime.node.settings.data_dir, now)

    start_periodic("linkage-forgetting", forgetting, stop,
                   runtime.node.settings.retention_interval_seconds,
                   exclusive=runtime.node.engine)  # fmt: skip
