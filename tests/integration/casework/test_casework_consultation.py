"""A joint legal-status consultation between the two nodes: Armenia opens it, both sides add
findings, Kazakhstan proposes an outcome, Armenia co-signs, and both cases are answered. An
outcome whose text or co-signature does not match the partner's published key is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from joserfc.jwk import OKPKey
from sqlalchemy import func, select

from casework_steps import context, deliver, now, state
from migrex.casework.bodies import CASE_BODY, body_text
from migrex.casework.consultation import (
    CoSignatureInvalid,
    add_finding,
    cosign,
    cosign_outcome,
    propose_outcome,
    verify_cosignature,
)
from migrex.casework.lifecycle import CaseState, IllegalTransition
from migrex.casework.messages import ConsultationOutcome
from migrex.casework.service import OpenRequest, open_request, open_review
from migrex.casework.tables import CaseMessageRow
from migrex.envelope import key_id
from migrex.exchange.tables import OutboxMessage
from migrex.node import Node
from migrex.retention.sealing import seal_text, unwrap_key
from migrex.retention.tables import RetentionKeyRow
from nodes import Pair

PRECISE = "Law of the Republic of Armenia on Foreigners, Article 12, part 3"
OUTCOME = "The stay is lawful until the work permit ends on 2026-03-31."


def outbox_count(node: Node) -> int:
    with node.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


def consultation(pair: Pair) -> str:
    """Armenia opens a consultation; it is delivered to Kazakhstan and taken up for review."""
    body = {
        "purpose": "legal-status-of-stay",
        "legal_basis": PRECISE,
        "question": "Does the work permit still cover the person's new employer?",
        "person": {"surname_latin": "HOVHANNISYAN", "given_name_latin": "ARAM",
                   "birth_date": "1985-03-14", "citizenship": "ARM",
                   "document_number": "AM1234567"},
        "requested_fields": ["permit_type", "permit_valid_to"],
    }  # fmt: skip
    with pair.am.unit_of_work() as uow:
        opened = open_request(
            uow, context(pair.am),
            OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "legal-status-consultation", body,
                        "officer:anna"),
            now(),
        )  # fmt: skip
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    with pair.kz.unit_of_work() as uow:
        open_review(uow, opened.case_id, "officer:bolat", now())
    assert state(pair.kz, opened.case_id) == CaseState.IN_REVIEW
    return opened.case_id


def findings(pair: Pair, case_id: str) -> None:
    with pair.am.unit_of_work() as uow:
        add_finding(uow, context(pair.am), case_id,
                    finding="The new employer registered the person on 2025-09-01.",
                    fields=None, actor="officer:anna", now=now())  # fmt: skip
    with pair.kz.unit_of_work() as uow:
        add_finding(uow, context(pair.kz), case_id,
                    finding="The permit names the previous employer.",
                    fields={"permit_type": "work", "permit_valid_to": "2026-03-31"},
                    actor="officer:bolat", now=now())  # fmt: skip
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)


def propose(pair: Pair, case_id: str, outcome: str = OUTCOME) -> None:
    with pair.kz.unit_of_work() as uow:
        propose_outcome(uow, context(pair.kz), case_id, outcome=outcome,
                        signing_key=pair.kz_trust.signing_key("kz-mia", now()),
                        actor="officer:bolat", now=now())  # fmt: skip


def am_cosigns(pair: Pair, case_id: str) -> str:
    with pair.am.unit_of_work() as uow:
        return cosign_outcome(uow, context(pair.am), case_id,
                              signing_key=pair.am_trust.signing_key("am-mcs", now()),
                              resolve_signing_key=pair.am_trust.resolve_signing_key,
                              actor="officer:anna", now=now())  # fmt: skip


def received(node: Node, case_id: str, type_: str) -> list[str]:
    with node.unit_of_work() as uow:
        rows = uow.session.scalars(
            select(CaseMessageRow).where(
                CaseMessageRow.case_id == case_id, CaseMessageRow.direction == "received",
                CaseMessageRow.type == type_,
            ).order_by(CaseMessageRow.id)
        )  # fmt: skip
        return [body_text(uow, context(node), row) for row in rows]


def test_both_sides_add_findings_and_co_sign_the_outcome(pair: Pair) -> None:
    case_id = consultation(pair)
    findings(pair, case_id)
    # Findings join the thread on both sides without moving either case.
    assert len(received(pair.kz, case_id, "consultation-finding")) == 1
    assert len(received(pair.am, case_id, "consultation-finding")) == 1
    assert state(pair.kz, case_id) == CaseState.IN_REVIEW
    assert state(pair.am, case_id) == CaseState.DELIVERED  # receipted, then noted by filing

    propose(pair, case_id)
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    # Signed by Kazakhstan alone: the proposal does not close anything yet.
    assert state(pair.kz, case_id) == CaseState.IN_REVIEW
    assert state(pair.am, case_id) == CaseState.DELIVERED  # receipted, then noted by filing

    am_cosigns(pair, case_id)
    assert state(pair.am, case_id) == CaseState.ANSWERED
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    assert state(pair.kz, case_id) == CaseState.ANSWERED

    final = ConsultationOutcome.model_validate(
        json.loads(received(pair.kz, case_id, "consultation-outcome")[-1])
    )
    assert final.outcome == OUTCOME
    assert final.signed_by() == {"kz-mia", "am-mcs"}
    for signature in final.cosignatures:
        key = pair.kz_trust.resolve_signing_key(signature.authority, signature.key_id, now())
        assert verify_cosignature(signature, key, agreement_id="kz-am-2024", case_id=case_id,
                                  outcome=OUTCOME)  # fmt: skip
        # The signature is bound to its case and text.
        assert not verify_cosignature(signature, key, agreement_id="kz-am-2024",
                                      case_id="another-case", outcome=OUTCOME)  # fmt: skip


def _tamper(pair: Pair, case_id: str, change: Any) -> None:
    # Rewrites the proposal as Armenia stored it (what a forged or altered message would be).
    with pair.am.unit_of_work() as uow:
        row = uow.session.scalars(
            select(CaseMessageRow).where(CaseMessageRow.case_id == case_id,
                                         CaseMessageRow.type == "consultation-outcome")
        ).one()  # fmt: skip
        body = json.loads(body_text(uow, context(pair.am), row))
        change(body)
        # Sealed again under the record's own key, as a forger holding the node's keys would.
        wrapped = uow.session.get(RetentionKeyRow, row.message_id).wrapped_key  # type: ignore[union-attr]
        data_key = unwrap_key(context(pair.am).retention_key, wrapped, row.message_id)  # type: ignore[arg-type]
        row.body = seal_text(data_key, json.dumps(body), f"{row.message_id}/{CASE_BODY}")
        uow.commit()


def _refused(pair: Pair, case_id: str) -> None:
    before = outbox_count(pair.am)
    with pytest.raises(CoSignatureInvalid):
        am_cosigns(pair, case_id)
    assert state(pair.am, case_id) == CaseState.DELIVERED  # receipted, then noted by filing
    assert outbox_count(pair.am) == before


def test_a_tampered_outcome_text_is_refused(pair: Pair) -> None:
    case_id = consultation(pair)
    propose(pair, case_id)
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)

    def edit(body: dict[str, Any]) -> None:
        body["outcome"] = "The stay is lawful indefinitely."

    _tamper(pair, case_id, edit)
    _refused(pair, case_id)


@pytest.mark.parametrize("claimed_kid", ["stranger's", "kazakhstan's"])
def test_a_co_signature_by_the_wrong_key_is_refused(pair: Pair, claimed_kid: str) -> None:
    case_id = consultation(pair)
    propose(pair, case_id)
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    stranger = OKPKey.generate_key("Ed25519", private=True)
    forged = cosign(stranger, authority="kz-mia", agreement_id="kz-am-2024", case_id=case_id,
                    outcome=OUTCOME, now=now())  # fmt: skip
    if claimed_kid == "kazakhstan's":  # a published kid: the key resolves, the signature fails
        forged = forged.model_copy(
            update={"key_id": key_id(pair.kz_trust.signing_key("kz-mia", now()))}
        )

    def forge(body: dict[str, Any]) -> None:
        body["cosignatures"] = [forged.model_dump(mode="json")]

    _tamper(pair, case_id, forge)
    _refused(pair, case_id)


def test_findings_only_on_an_open_consultation(pair: Pair) -> None:
    case_id = consultation(pair)
    propose(pair, case_id)
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    am_cosigns(pair, case_id)
    with pair.am.unit_of_work() as uow, pytest.raises(IllegalTransition):
        add_finding(uow, context(pair.am), case_id, finding="Too late.", fields=None,
                    actor="officer:anna", now=now())  # fmt: skip
