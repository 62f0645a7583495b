"""Joint legal-status consultation: a shared case thread in which both parties add findings
and co-sign one outcome.

Either side adds findings while the case is open; they join the partner's case without moving
it. One side proposes an outcome carrying its own co-signature (Ed25519 over
`outcome_signing_input`, bound to the agreement, the case and the exact text). The other side
checks that signature against the partner's published key, adds its own and sends the doubly
signed outcome back: its own case is answered at once, and the partner's when the outcome is
filed there (`event_of` closes a consultation only once every party has co-signed).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import OKPKey
from sqlalchemy import select

from migrex.casework.bodies import body_of
from migrex.casework.consultation_signing import cosign, verify_cosignature
from migrex.casework.context import NodeContext
from migrex.casework.lifecycle import TERMINAL_STATES, CaseState, IllegalTransition, event_of
from migrex.casework.messages import (
    ConsultationFinding,
    ConsultationOutcome,
    MessageInvalid,
    parse_body,
)
from migrex.casework.steps import lock_case, move, send
from migrex.casework.tables import CaseMessageRow, CaseRow
from migrex.errors import MigrexError, Problem
from migrex.uow import UnitOfWork

CATEGORY = "legal-status-consultation"
SigningKeyResolver = Callable[[str, str, datetime], OKPKey | None]
# A co-signature dated later than this ahead of our clock is not believed.
CLOCK_SKEW = timedelta(minutes=5)


class CoSignatureInvalid(MigrexError):
    type_slug = "cosignature-invalid"
    title = "The partner's co-signature of the consultation outcome does not verify"
    status = 422


def is_open(case: CaseRow) -> bool:
    """Whether the case is a consultation that still takes findings and outcomes."""
    return case.category == CATEGORY and case.state not in TERMINAL_STATES | {CaseState.DRAFT}


def awaits_cosignature(uow: UnitOfWork, case: CaseRow) -> bool:
    """Whether the partner has proposed an outcome on an open consultation, for us to co-sign
    (whether its signature verifies is for `cosign_outcome` to find)."""
    if not is_open(case):
        return False
    received = select(CaseMessageRow.id).where(
        CaseMessageRow.case_id == case.id, CaseMessageRow.direction == "received",
        CaseMessageRow.type == "consultation-outcome",
    )  # fmt: skip
    return uow.session.scalar(received.limit(1)) is not None


def _consultation(uow: UnitOfWork, case_id: str) -> CaseRow:
    case = lock_case(uow, case_id)
    if case.category != CATEGORY:
        raise IllegalTransition(f"case {case_id} is not a legal-status consultation",
                                [Problem("category", f"must be {CATEGORY}")])  # fmt: skip
    if not is_open(case):
        raise IllegalTransition(f"case {case_id} is {case.state}: the consultation is not open",
                                [Problem("state", "the consultation must be open")])  # fmt: skip
    return case


def add_finding(
    uow: UnitOfWork, node: NodeContext, case_id: str, *, finding: str,
    fields: dict[str, Any] | None, actor: str, now: datetime,
) -> str:  # fmt: skip
    """Adds our finding to an open consultation (either side); the case state does not change.
    Returns the message id; raises MessageInvalid for a malformed finding."""
    case = _consultation(uow, case_id)
    body = parse_body("consultation-finding", {"finding": finding, "fields": fields or {}})
    if not isinstance(body, ConsultationFinding):  # parse_body returns the type's model
        raise MessageInvalid("the finding is not a consultation finding")
    message_id = send(uow, node, case, body, actor=actor, now=now)
    uow.commit()
    return message_id


def propose_outcome(
    uow: UnitOfWork, node: NodeContext, case_id: str, *, outcome: str, signing_key: OKPKey,
    actor: str, now: datetime,
) -> str:  # fmt: skip
    """Proposes the outcome text, co-signed by us, to the partner; returns the message id."""
    case = _consultation(uow, case_id)
    agreement = node.agreements[case.agreement_id]
    ours = cosign(signing_key, authority=case.our_authority, agreement_id=agreement.id,
                  case_id=case.id, outcome=outcome, now=now)  # fmt: skip
    proposal = {"outcome": outcome, "cosignatures": [ours.model_dump(mode="json")]}
    body = parse_body("consultation-outcome", proposal)
    if not isinstance(body, ConsultationOutcome):
        raise MessageInvalid("the outcome is not a consultation outcome")
    message_id = send(uow, node, case, body, actor=actor, now=now)
    uow.commit()
    return message_id


def cosign_outcome(
    uow: UnitOfWork, node: NodeContext, case_id: str, *, signing_key: OKPKey,
    resolve_signing_key: SigningKeyResolver, actor: str, now: datetime,
) -> str:  # fmt: skip
    """Co-signs the partner's latest proposed outcome and sends it back signed by both sides;
    our case is answered. Raises CoSignatureInvalid (nothing changes) when the partner's
    co-signature is missing or does not verify against its published key."""
    case = _consultation(uow, case_id)
    agreement = node.agreements[case.agreement_id]
    proposed_id, proposed = _latest_proposal(uow, node, case)
    theirs = next((s for s in proposed.cosignatures if s.authority == case.partner_authority),
                  None)  # fmt: skip
    if theirs is None:
        raise CoSignatureInvalid(
            f"the outcome {proposed_id} is not co-signed by {case.partner_authority}",
            [Problem("cosignatures", "the proposer's signature is missing")],
        )
    if theirs.signed_at > now + CLOCK_SKEW:
        raise CoSignatureInvalid(f"{case.partner_authority}'s co-signature is dated in the future",
                                 [Problem("signed_at", theirs.signed_at.isoformat())])  # fmt: skip
    key = resolve_signing_key(case.partner_authority, theirs.key_id, theirs.signed_at)
    if not verify_cosignature(theirs, key, agreement_id=agreement.id, case_id=case.id,
                              outcome=proposed.outcome):  # fmt: skip
        raise CoSignatureInvalid(
            f"{case.partner_authority}'s co-signature of outcome {proposed_id} does not verify",
            [Problem("signature", f"key {theirs.key_id} "
                     + ("is not published" if key is None else "did not sign this text"))],
        )  # fmt: skip
    ours = cosign(signing_key, authority=case.our_authority, agreement_id=agreement.id,
                  case_id=case.id, outcome=proposed.outcome, now=now)  # fmt: skip
    # Only the two parties' signatures travel on: anything else the proposal carried is dropped.
    signed = ConsultationOutcome(outcome=proposed.outcome, cosignatures=[theirs, ours])
    event = event_of(signed, parties=(case.our_authority, case.partner_authority))
    if event is None:  # cannot happen with both signatures; kept so a change here is caught
        raise CoSignatureInvalid("the outcome is not signed by both parties")
    move(uow, case, event, actor, now)
    message_id = send(
uow, node, case, signed, actor=actor, now=now,
                       in_reply_to=proposed_id)  # fmt: skip
    uow.commit()
    return message_id


def _latest_proposal(
    uow: UnitOfWork, node: NodeContext, case: CaseRow
) -> tuple[str, ConsultationOutcome]:
    row = uow.session.scalars(
        select(CaseMessageRow)
        .where(
            CaseMessageRow.case_id == case.id,
            CaseMessageRow.direction == "received",
            CaseMessageRow.type == "consultation-outcome",
        )
        .order_by(CaseMessageRow.id.desc())
    ).first()
    if row is None:
        raise MessageInvalid(f"case {case.id} has no outcome proposed by the partner")
    body = parse_body(row.type, body_of(uow, node, row))
    if not isinstance(body, ConsultationOutcome):
        raise MessageInvalid(f"message {row.message_id} is not a consultation outcome")
    return row.message_id, body
