"""The witnessing clerks a running node starts: one answers partners' checkpoints and keeps
their cosignatures, the other sends our checkpoint every `witness_interval_seconds`."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from migrex.exchange.runtime import ExchangeRuntime
from migrex.exchange.trust import Trust
from migrex.jobs import start_periodic
from migrex.node import Node
from migrex.witness.keys import keep_directories
from migrex.witness.node import WitnessingNode, witnessing_node
from migrex.witness.recovery import declare_for, held_by_witnesses, pending_witnesses
from migrex.witness.rounds import file_audit_messages
from migrex.witness.sending import send_checkpoints
from migrex.witness.with_partner import HeadsClient

# Answers go out quickly: the partner's next checkpoint waits for ours.
ANSWER_INTERVAL = 0.5


def checkpoint_round(
    node: Node, trust: Trust, witnessing: WitnessingNode, now: datetime,
    heads_client: HeadsClient | None = None,
) -> int:  # fmt: skip
    """Keep the current signed directories (for the partners' keys after they rotate),
    declare a restore of our log to the witnesses not yet told, then send our checkpoint to
    every witness ready for it; returns how many it went to."""
    with node.unit_of_work() as uow:
        keep_directories(uow.session, trust, now)
        uow.commit()
    with node.unit_of_work() as uow:
        pending = bool(pending_witnesses(uow.session, witnessing))
    if pending:
        declare_for(node, trust, witnessing, held_by_witnesses(node, trust, witnessing, now,
                                                               heads_client), now)  # fmt: skip
    with node.unit_of_work() as uow:
        return len(send_checkpoints(uow, witnessing, now))


def start_witnessing(runtime: ExchangeRuntime, stop: threading.Event) -> None:
    """Answer partners' checkpoints and keep their cosignatures of ours; send our checkpoint
    every `witness_interval_seconds`."""
    node, trust = runtime.node, runtime.trust
    witnessing = witnessing_node(node, trust)

    def answer() -> int:
        with node.unit_of_work() as uow:
            return file_audit_messages(uow, witnessing, datetime.now(UTC))

    def checkpoints() -> int:
        return checkpoint_round(node, trust, witnessing, datetime.now(UTC))

    # Each in one of the node's processes at a time: two would answer a partner's checkpoint
    # twice, or send ours twice.
    start_periodic("witness-clerk", answer, stop, ANSWER_INTERVAL, exclusive=node.engine)
    start_periodic("checkpoints", checkpoints, stop, node.settings.witness_interval_seconds,
                   drain=False, exclusive=node.engine)  # fmt: skip
