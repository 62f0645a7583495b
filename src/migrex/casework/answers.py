"""Answering an incoming person inquiry from the registries, disclosing only what the purpose's
data profile allows (and, where the agreement says so, first a hit/no-hit answer only)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from migrex.agreements import Agreement
from migrex.casework import gate
from migrex.casework.context import NodeContext
from migrex.casework.disclosure import (
    full_result,
    hit_reference,
    hit_result,
    person_fields,
    reply_step,
)
from migrex.casework.matching import Match, match_present
from migrex.casework.messages import (
    ClarificationAnswer,
    InquiryResult,
    MessageBody,
    MessageInvalid,
    PersonIdentifiers,
    PersonInquiry,
    PersonInquiryReply,
)
from migrex.casework.steps import (
    asked_fields,
    clarifications,
    lock_case,
    opening_message,
    send_answer,
)
from migrex.casework.tables import CaseRow
from migrex.errors import MigrexError, Problem
from migrex.registry.ports import Registries
from migrex.uow import UnitOfWork


class PersonNotDetermined(MigrexError):
    type_slug = "person-not-determined"
    title = "The register cannot tell who a person of the inquiry is"
    status = 409


def find(registries: Registries, who: PersonIdentifiers) -> Match:
    """The person present the identifiers name, by the rule in `casework.matching`."""
    candidates = registries.present_holding(document_number=who.document_number,
                                            national_id=who.national_id)  # fmt: skip
    return match_present(who, candidates)


def inquiry_of(uow: UnitOfWork, node: NodeContext, case: CaseRow) -> PersonInquiry:
    """The inquiry as the partner's clarification answers amended it, in the order they came:
    a narrower field list or a new purpose is what is answered, not the first wording."""
    return amended(case, opening_message(uow, node, case.id), clarifications(uow, node, case))


def amended(
    case: CaseRow, opening: MessageBody | None, answers: Sequence[ClarificationAnswer]
) -> PersonInquiry:
    """`opening` as `answers` amended it (see `inquiry_of`); pure, for a use case that has
    read both already."""
    inquiry = opening
    if not isinstance(inquiry, PersonInquiry):
        raise MessageInvalid(f"case {case.id} is not a person inquiry")
    for answer in answers:
        changes = {
            name: value
            for name in ("purpose", "legal_basis", "urgency_reason", "requested_fields")
            if (value := getattr(answer, name)) is not None
        }
        inquiry = PersonInquiry.model_validate({**inquiry.model_dump(), **changes})
    return inquiry


def build_reply(
    uow: UnitOfWork, node: NodeContext, registries: Registries, case: CaseRow, *,
    hit_key: bytes, inquiry: PersonInquiry | None = None,
) -> PersonInquiryReply:  # fmt: skip
    """The reply the registries give to the case's inquiry (see `reply_from`). `inquiry` is
    the case's amended inquiry when the caller has it (else it is read)."""
    inquiry = inquiry if inquiry is not None else inquiry_of(uow, node, case)
    return reply_from(node.agreements[case.agreement_id], registries, inquiry,
                      requester=case.partner_authority, hit_key=hit_key)  # fmt: skip


def reply_from(
    agreement: Agreement, registries: Registries, inquiry: PersonInquiry, *,
    requester: str, hit_key: bytes,
) -> PersonInquiryReply:  # fmt: skip
    """The reply the registries give, minimised to the profile and the request; raises
    PersonNotDetermined when a person cannot be told (ask the partner for more instead).

    Reads nothing but the registries, through their port, so its rules are tested on
    registers held in memory (`registry.memory`)."""
    step = reply_step(agreement, inquiry)
    allowed = agreement.fields_allowed(inquiry.purpose) if inquiry.purpose else frozenset()
    requested = frozenset(inquiry.requested_fields)
    matches = [find(registries, who) for who in inquiry.persons]
    undetermined = [i for i, m in enumerate(matches) if not m.determined]
    if undetermined:
        raise PersonNotDetermined(
            f"{len(undetermined)} person(s) of the inquiry cannot be told apart in the register; "
            "ask the partner for a document number or national id",
            [Problem(f"persons.{i}", matches[i].outcome) for i in undetermined],
        )
    results: list[InquiryResult] = []
    for index, match in enumerate(matches):
        found = match.person
        if step == "hit-check":
            reference = None if found is None else hit_reference(
                hit_key, agreement_id=agreement.id, requester=requester,
                record_id=found.record_id,
            )  # fmt: skip
            results.append(hit_result(index, reference))
            continue
        fields = None if found is None else person_fields(
            found,
            employment=registries.employment_of(found.record_id),
            violations=registries.violations_of(
                citizenship=found.citizenship, document_number=found.document_number
            ),
        )  # fmt: skip
        results.append(full_result(index, fields, allowed=allowed, requested=requested))
    return PersonInquiryReply(step=step, results=results)


def answer_inquiry(
    uow: UnitOfWork,
    node: NodeContext,
    registries: Registries,
    case_id: str,
    *,
    hit_key: bytes,
    actor: str,
    now: datetime,
) -> PersonInquiryReply:
    """Builds, records and sends the reply; the case becomes answered or partially answered."""
    case = lock_case(uow, case_id)
    # The request and its clarifications are read (and opened) once, for the reply and for
    # the outgoing gate's view of the case alike.
    opening, answers = opening_message(uow, node, case.id), clarifications(uow, node, case)
    reply = build_reply(uow, node, registries, case, hit_key=hit_key,
                        inquiry=amended(case, opening, answers))  # fmt: skip
    view = gate.CaseView(opening, asked_fields(opening, answers))
    send_answer(uow, node, case, reply, actor=actor, now=now, view=view)
    uow.commit()
    return reply
