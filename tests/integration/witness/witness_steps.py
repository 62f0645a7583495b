"""Steps the witnessing tests share: traffic between the pair, witnessing rounds, asking the
partner for the heads it holds in-process, and rewriting a node's log as an insider would."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select

from casework_steps import context, deliver, now
from migrex.audit import events
from migrex.audit import log as audit_log
from migrex.audit.leaves import AuditLeaf
from migrex.audit.log_keys import log_keys
from migrex.audit.tables import (
    AuditCheckpoint,
    AuditCosignature,
    AuditLeafRow,
    checkpoints_table,
    cosignatures_table,
    head_table,
    leaves_table,
    nodes_table,
)
from migrex.audit.verification import VerifyReport
from migrex.casework.service import OpenRequest, file_inbox, open_request
from migrex.demo.workspace import AUTHORITIES
from migrex.directory.demo import DemoNodeSpec, reissue_demo_directory
from migrex.exchange.trust import Trust
from migrex.identity.keystore import FileKeyStore
from migrex.node import Node
from migrex.witness.jobs import checkpoint_round
from migrex.witness.keys import cosigner_keys
from migrex.witness.node import witnessing_node
from migrex.witness.partner_heads import answer_heads_request
from migrex.witness.rounds import file_audit_messages
from migrex.witness.with_partner import PartnerHeads, verify_with_partners
from nodes import Pair

INQUIRY = {
    "purpose": "legal-status-of-stay",
    "legal_basis": "Law of the Republic of Armenia on Foreigners, Article 12, part 3",
    "persons": [{"citizenship": "ARM", "document_number": "AM1234567"}],
    "requested_fields": ["surname_latin"],
}


def some_traffic(pair: Pair) -> None:
    """Armenia asks Kazakhstan something: Armenia then holds Kazakhstan's receipt, which
    states a head of Kazakhstan's log."""
    with pair.am.unit_of_work() as uow:
        request = OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", INQUIRY, "a:b")
        open_request(uow, context(pair.am), request, now())
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)


def witness_round(node: Node, trust: Trust) -> int:
    witnessing = witnessing_node(node, trust)
    with node.unit_of_work() as uow:
        file_inbox(uow, context(node), now())
    with node.unit_of_work() as uow:
        file_audit_messages(uow, witnessing, now())
    return checkpoint_round(node, trust, witnessing, now())


def exchange_rounds(pair: Pair, rounds: int = 3) -> None:
    for _ in range(rounds):
        witness_round(pair.kz, pair.kz_trust)
        deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
        witness_round(pair.am, pair.am_trust)
        deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)


def cosigned(node: Node) -> list[tuple[int, str]]:
    with node.unit_of_work() as uow:
        return [(r.size, r.witness) for r in uow.session.scalars(
            select(AuditCosignature).order_by(AuditCosignature.size))]  # fmt: skip


class DirectHeadsClient:
    """Hands a heads request to the partner node in-process, as its route would."""

    def __init__(self, partner: Node, trust: Trust) -> None:
        self.partner, self.trust = partner, trust

    def ask(self, endpoint: str, request: str) -> Mapping[str, Any]:
        with self.partner.unit_of_work() as uow:
            return answer_heads_request(uow, self.trust, request, now())


def verify_alone(node: Node, trust: Trust) -> VerifyReport:
    """`audit verify` without the partner: the log against itself and the cosignatures."""
    with node.unit_of_work() as uow:
        keys = cosigner_keys(uow.session, trust)
        return audit_log.verify(uow.session, log_keys(node).verifiers, keys)


def verify_with_partner(pair: Pair) -> tuple[VerifyReport, PartnerHeads]:
    """Kazakhstan's log verified with what Armenia holds of it."""
    client = DirectHeadsClient(pair.am, pair.am_trust)
    with pair.kz.unit_of_work() as uow:
        return verify_with_partners(
            uow.session, pair.kz_trust, witnessing_node(pair.kz, pair.kz_trust),
            log_keys(pair.kz), client, now=now(),
        )  # fmt: skip


# ---------------------------------------------------------------- an insider at work


def leaves_of(node: Node) -> list[AuditLeaf]:
    with node.unit_of_work() as uow:
        rows = uow.session.scalars(select(AuditLeafRow.data).order_by(AuditLeafRow.position))
        return [AuditLeaf.decode(bytes(data)) for data in rows]


def last_checkpoint_size(node: Node) -> int:
    with node.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.max(AuditCheckpoint.size))) or 0)


def rewrite_log(node: Node, leaves: Sequence[AuditLeaf], *, resign: bool = False) -> None:
    """Replace the node's log by `leaves`, consistently: nodes and head rebuilt, checkpoints
    and cosignatures beyond the new size dropped (all of them, and one fresh checkpoint
    signed with the node's own key, with `resign`)."""
    with node.unit_of_work() as uow:
        session = uow.session
        for table in (leaves_table, nodes_table, head_table):
            session.execute(delete(table))
        for table in (checkpoints_table, cosignatures_table):
            beyond = table.c.size > (-1 if resign else len(leaves))
            session.execute(delete(table).where(beyond))
        audit_log.append_leaves(session, list(leaves), now())
        if resign:
            keys = log_keys(node)
            audit_log.make_checkpoint(session, keys.origin, keys.origin, keys.private_key, now())
        uow.commit()


def decisions(count: int, tag: str) -> list[AuditLeaf]:
    """Entries an insider writes in place of the removed ones."""
    return [
        events.decision(at=now(), actor="officer:x", authority="kz-mia", case_id=f"{tag}-{n}",
                        event="noted", purpose=None)
        for n in range(count)
    ]  # fmt: skip


# ---------------------------------------------------------------- key rotation

OVERLAP = timedelta(hours=1)


def rotate_witness_key(pair: Pair, *, version: int, at: Any) -> None:
    """Armenia's witness (its first authority) rotates its signing key; a new directory
    version, issued at `at`, lists the keys not yet expired then."""
    root = pair.kz.settings.data_dir.parent.parent
    if version == 2:
        FileKeyStore(pair.am.settings.resolved_key_dir).rotate("am-police", at, OVERLAP)
    specs = [
        DemoNodeSpec(node.settings.state, node.settings.node_id, AUTHORITIES[node.settings.state],
                     node.settings.listen_port)
        for node in (pair.kz, pair.am)
    ]  # fmt: skip
    reissue_demo_directory(root, specs, "kz-am-2024", ("KZ", "AM"), version=version, now=at)
    pair.kz_trust.refresh()
    pair.am_trust.refresh()
