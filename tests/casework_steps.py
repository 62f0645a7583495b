"""Steps casework tests share: the node's context, a relay round with filing, a case's state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from migrex.casework.service import NodeContext, file_inbox, node_context
from migrex.casework.tables import CaseRow
from migrex.envelope import new_message_id
from migrex.exchange.outbox import OutgoingMessage, enqueue
from migrex.exchange.relay import Relay
from migrex.exchange.trust import Trust
from migrex.node import Node
from nodes import DirectTransport, Pair


def now() -> datetime:
    # Demo keys are made when a fixture runs, so "now" is taken at each use, never at import.
    return datetime.now(UTC)


def context(node: Node) -> NodeContext:
    return node_context(node)


def deliver(
    sender: Node, sender_trust: Trust, receiver: Node, receiver_trust: Trust,
    filing: NodeContext | None = None,
) -> None:  # fmt: skip
    """Relays everything due from `sender` to `receiver` in-process, then files it there
    (with `filing` as the receiver's context when given)."""
    relay = Relay("test", sender.unit_of_work, sender_trust,
                  DirectTransport(receiver, receiver_trust))  # fmt: skip
    while relay.run_once():
        pass
    with receiver.unit_of_work() as uow:
        file_inbox(uow, filing or context(receiver), now())


def case(node: Node, case_id: str) -> CaseRow:
    with node.unit_of_work() as uow:
        row = uow.session.get(CaseRow, case_id)
        assert row is not None
        return row


def state(node: Node, case_id: str) -> str:
    return case(node, case_id).state


def partner_sends(
    pair: Pair, case_id: str | None, type_: str, body: dict[str, Any], *,
    sender: str = "am-mcs", recipient: str = "kz-mia",
) -> str:  # fmt: skip
    """Armenia's node sends a message its own checks would have stopped (a faulty or
    compromised partner), straight into its outbox, and it is delivered to Kazakhstan."""
    agreement = pair.am.agreements["kz-am-2024"]
    message_id = new_message_id(now())
    with pair.am.unit_of_work() as uow:
        enqueue(uow.session, OutgoingMessage(
            message_id=message_id, agreement_id=agreement.id, sender=sender,
            recipient=recipient, type=type_, body=body, issued_at=now(),
            expires_at=now() + agreement.message_lifetime, case_id=case_id, in_reply_to=None,
        ), now())  # fmt: skip
        uow.commit()
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    return message_id
