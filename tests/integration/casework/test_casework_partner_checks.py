"""What the receiving node checks on its own, whatever the partner's node claims: a request
as a clarification amends it is screened again, and an outcome that claims our co-signature
closes the consultation only when that signature is really ours."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.jwk import OKPKey
from sqlalchemy import select
from test_casework_clarification import vague_inquiry
from test_casework_consultation import OUTCOME, consultation, findings, propose

from casework_steps import context, deliver, now, partner_sends, state
from migrex.casework.clarification import ask_clarification
from migrex.casework.consultation_signing import cosign
from migrex.casework.lifecycle import CaseState
from migrex.casework.tables import ScreeningNoteRow
from migrex.exchange.tables import InboxMessage
from nodes import Pair


def test_an_amending_clarification_is_screened_again_on_receipt(pair: Pair) -> None:
    case_id = vague_inquiry(pair)
    with pair.kz.unit_of_work() as uow:
        ask_clarification(uow, context(pair.kz), case_id, question="Which fields and why?",
                          actor="officer:bolat", now=now())  # fmt: skip
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    partner_sends(pair, case_id, "clarification-answer", {
        "answers": ["We need the violations record as well."],
        "requested_fields": ["surname_latin", "violations"],
    })  # fmt: skip
    assert state(pair.kz, case_id) == CaseState.IN_REVIEW
    with pair.kz.unit_of_work() as uow:
        notes = uow.session.scalars(
            select(ScreeningNoteRow).where(ScreeningNoteRow.case_id == case_id)
        ).all()
    amended = [n for n in notes if n.detail.startswith("after clarification: ")]
    assert any(n.severity == "breach" and n.proposed_ground for n in amended), amended


def test_an_outcome_with_a_forged_cosignature_of_ours_does_not_close_the_case(
    pair: Pair,
) -> None:
    case_id = consultation(pair)
    findings(pair, case_id)
    propose(pair, case_id)
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    forger = OKPKey.import_key(Ed25519PrivateKey.generate())
    theirs = pair.am_trust.signing_key("am-mcs", now())
    signatures = [
        cosign(forger, authority="kz-mia", agreement_id="kz-am-2024", case_id=case_id,
               outcome=OUTCOME, now=now()),
        cosign(theirs, authority="am-mcs", agreement_id="kz-am-2024", case_id=case_id,
               outcome=OUTCOME, now=now()),
    ]  # fmt: skip
    message_id = partner_sends(pair, case_id, "consultation-outcome", {
        "outcome": OUTCOME,
        "cosignatures": [s.model_dump(mode="json") for s in signatures],
    })  # fmt: skip
    assert state(pair.kz, case_id) != CaseState.ANSWERED
    with pair.kz.unit_of_work() as uow:
        status = uow.session.scalar(
            select(InboxMessage.status).where(InboxMessage.message_id == message_id)
        )
        kinds = uow.session.scalars(
            select(ScreeningNoteRow.kind).where(ScreeningNoteRow.case_id == case_id)
        ).all()
    assert status == "cosignature-invalid" and "cosignature-not-ours" in kinds
