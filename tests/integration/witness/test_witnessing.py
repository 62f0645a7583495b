"""Witnessing through the exchange: each node's checkpoints are checked and cosigned by its
partner; a node that shows two views of its log is caught and nothing of it is kept."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session
from witness_steps import cosigned, exchange_rounds, some_traffic, witness_round

from casework_steps import deliver, now
from migrex.audit import log as audit_log
from migrex.audit.checkpoint import Checkpoint, ed25519_private_key, format_checkpoint, sign_note
from migrex.audit.leaves import LeafKind
from migrex.audit.message_kinds import CHECKPOINT, COSIGNATURE
from migrex.audit.tables import AuditLeafRow, AuditWitnessed
from migrex.envelope import new_message_id
from migrex.exchange.outbox import OutgoingMessage, enqueue
from migrex.exchange.tables import InboxMessage, OutboxMessage, SecurityEvent
from migrex.witness import rounds
from migrex.witness.node import LogSigner, witnessing_node
from migrex.witness.rounds import file_audit_messages
from migrex.witness.sending import answer_to
from nodes import Pair
from query_plans import sqlite_plan


def test_both_logs_are_cosigned_by_the_partner_and_verify(pair: Pair) -> None:
    some_traffic(pair)
    exchange_rounds(pair)
    first = cosigned(pair.kz)
    # The witnessing traffic is itself logged, so each round has a larger log to show.
    assert {w for _, w in first} == {"am-police"}  # AM's first authority witnesses for AM
    assert {w for _, w in cosigned(pair.am)} == {"kz-mia"}
    some_traffic(pair)
    exchange_rounds(pair)
    sizes = [size for size, _ in cosigned(pair.kz)]
    assert sizes == sorted(set(sizes)) and sizes[-1] > first[-1][0]
    for node in (pair.kz, pair.am):
        signer = witnessing_node(node, pair.kz_trust if node is pair.kz else pair.am_trust).signer
        public = ed25519_private_key(signer.key).public_key()
        with node.unit_of_work() as uow:
            report = audit_log.verify(uow.session, [(signer.origin, public)])
        assert report.ok, report.problems
        assert report.cosignatures >= 1


def _forge(pair: Pair, note: str, size: int, proof: list[str], old_size: int) -> None:
    """The KZ node sends AM a checkpoint it signed itself, outside the normal round."""
    signer: LogSigner = witnessing_node(pair.kz, pair.kz_trust).signer
    body = {"note": note, "kid": signer.kid, "size": size, "old_size": old_size, "proof": proof}
    agreement = pair.kz.agreements["kz-am-2024"]
    with pair.kz.unit_of_work() as uow:
        enqueue(uow.session, OutgoingMessage(
            message_id=new_message_id(now()), agreement_id=agreement.id, sender="kz-mia",
            recipient="am-police", type=CHECKPOINT, body=body, issued_at=now(),
            expires_at=now() + agreement.message_lifetime, case_id=None, in_reply_to=None,
        ), now())  # fmt: skip
        uow.commit()
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    witness_round(pair.am, pair.am_trust)


def _split_views(pair: Pair) -> list[SecurityEvent]:
    with pair.am.unit_of_work() as uow:
        return list(uow.session.scalars(
            select(SecurityEvent).where(SecurityEvent.reason == "split-view")))  # fmt: skip


def test_a_second_root_for_the_same_size_is_a_split_view(pair: Pair) -> None:
    some_traffic(pair)
    exchange_rounds(pair)
    size = cosigned(pair.kz)[-1][0]
    signer = witnessing_node(pair.kz, pair.kz_trust).signer
    other_root = hashlib.sha256(b"another history").digest()
    forged = sign_note(format_checkpoint(Checkpoint(signer.origin, size, other_root)),
                       signer.origin, ed25519_private_key(signer.key))  # fmt: skip
    _forge(pair, forged, size, [], 0)
    [event] = _split_views(pair)
    assert event.peer == "kz-mia" and str(size) in event.detail
    with pair.am.unit_of_work() as uow:
        kept = uow.session.scalars(select(AuditWitnessed)).all()
        statuses = uow.session.scalars(
            select(InboxMessage.status).where(InboxMessage.type == CHECKPOINT)).all()  # fmt: skip
    assert [bytes(w.root_hash) for w in kept if w.size == size] != [other_root]
    assert "split-view" in statuses


def test_a_larger_tree_that_does_not_extend_the_cosigned_one_is_a_split_view(pair: Pair) -> None:
    some_traffic(pair)
    exchange_rounds(pair)
    with pair.am.unit_of_work() as uow:  # the last KZ checkpoint Armenia saw
        size = max(w.size for w in uow.session.scalars(select(AuditWitnessed)))
    signer = witnessing_node(pair.kz, pair.kz_trust).signer
    bigger = size + 5
    forged = sign_note(
        format_checkpoint(Checkpoint(signer.origin, bigger, hashlib.sha256(b"fork").digest())),
        signer.origin, ed25519_private_key(signer.key),
    )  # fmt: skip
    with pair.kz.unit_of_work() as uow:
        honest_proof = audit_log.consistency_proof_between(uow.session, 1, size)
    proof = [base64.b64encode(node).decode() for node in honest_proof]
    _forge(pair, forged, bigger, proof, size)
    assert len(_split_views(pair)) == 1
    with pair.am.unit_of_work() as uow:
        assert not uow.session.scalars(
            select(AuditWitnessed).where(AuditWitnessed.size == bigger)).all()  # fmt: skip


def test_a_checkpoint_signed_by_an_unknown_key_is_refused(pair: Pair) -> None:
    signer = witnessing_node(pair.kz, pair.kz_trust).signer
    note = sign_note(format_checkpoint(Checkpoint(signer.origin, 3, b"\x01" * 32)),
                     signer.origin, Ed25519PrivateKey.generate())  # fmt: skip
    _forge(pair, note, 3, [], 0)
    with pair.am.unit_of_work() as uow:
        refused = uow.session.scalars(
            select(SecurityEvent).where(SecurityEvent.reason == "audit-refused")).all()  # fmt: skip
        assert not uow.session.scalars(select(AuditWitnessed)).all()
    assert len(refused) == 1 and json.dumps(refused[0].detail)


def test_the_answer_to_a_checkpoint_is_found_by_the_reply_index(pair: Pair) -> None:
    # Every witnessing round looks up the answer to its last checkpoint; the inbox keeps every
    # message received for the retention period, so the look must not read them all.
    plan = sqlite_plan(pair.kz.engine, answer_to(new_message_id(now()), "am-mcs"))
    assert "ix_exchange_inbox_in_reply_to" in plan, plan


def test_two_witness_rounds_at_once_answer_a_checkpoint_once(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`migrex witness round`, run by an operator while the node's witness clerk runs its
    own, takes up the partner's checkpoint just as the clerk has read it."""
    some_traffic(pair)
    witness_round(pair.kz, pair.kz_trust)  # Kazakhstan's checkpoint goes to Armenia
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    witnessing = witnessing_node(pair.am, pair.am_trust)

    def witness_round_now() -> int:
        with pair.am.unit_of_work() as uow:
            return file_audit_messages(uow, witnessing, now())

    real, other = rounds.begin_writing, []

    def the_other_round_goes_first(session: Session) -> None:
        if not other:
            other.append(None)
            other[0] = witness_round_now()
        real(session)

    monkeypatch.setattr(rounds, "begin_writing", the_other_round_goes_first)
    first = witness_round_now()
    with pair.am.unit_of_work() as uow:
        cosigned_entries = uow.session.scalars(
            select(AuditLeafRow).where(AuditLeafRow.kind == LeafKind.CHECKPOINT_COSIGNED)
        ).all()
        answers = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.type == COSIGNATURE)
        ).all()
    assert (len(cosigned_entries), len(answers), first, other) == (1, 1, 0, [1])


def test_a_witness_round_leaves_the_checkpoint_another_round_is_witnessing(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other round starts while the first is witnessing the checkpoint (two processes of
    the node on PostgreSQL: the clerk and `migrex witness round`)."""
    some_traffic(pair)
    witness_round(pair.kz, pair.kz_trust)
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    witnessing = witnessing_node(pair.am, pair.am_trust)

    def witness_round_now() -> int:
        with pair.am.unit_of_work() as uow:
            return file_audit_messages(uow, witnessing, now())

    real, filed = rounds._witness, []
    other = threading.Thread(target=lambda: filed.append(witness_round_now()))

    def the_other_round_starts(*args: Any) -> str:
        status = real(*args)
        if other.ident is None:  # in the first round only
            other.start()
            other.join(0.5)  # at once, unless it waits for this round to end
        return status

    monkeypatch.setattr(rounds, "_witness", the_other_round_starts)
    assert witness_round_now() == 1
    other.join()
    assert filed == [0]
    with pair.am.unit_of_work() as uow:
        cosigned_entries = uow.session.scalars(
            select(AuditLeafRow).where(AuditLeafRow.kind == LeafKind.CHECKPOINT_COSIGNED)
        ).all()
    assert len(cosigned_entries) == 1
