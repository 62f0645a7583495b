"""Every message kind the agreements define, each as one entry of one registry.

A kind says, in one place, everything the node must know to send or file a message of it: its
body model, the agreement category it falls under, what it does to a case (opens a request that
waits for an answer, opens a notice that is filed, or continues a case), whether it carries
personal data, and which persons and fields it carries. The outgoing gate and the filing gate
read this registry and nothing else, so a kind cannot be added without saying how its personal
data is ledgered, checked against the profile and guarded against onward transfer
(`tests/unit/casework/test_casework_kinds.py` fails on a kind that leaves any of it out).

Pure: no database. What a message carries is read from its parsed body, never guessed from
the key names a body happens to use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from migrex.casework.messages import (
    AssistanceReply,
    AssistanceRequest,
    Body,
    CitizenshipVerificationReply,
    CitizenshipVerificationRequest,
    ClarificationAnswer,
    ClarificationRequest,
    ConsultationFinding,
    ConsultationOutcome,
    LegalInformation,
    LegalStatusConsultation,
    LinkageRunAcceptance,
    LinkageRunProposal,
    MessageProblem,
    MethodologicalInformation,
    PersonIdentifiers,
    PersonInquiry,
    PersonInquiryReply,
    Refusal,
    StatisticalInformation,
    ViolationNotice,
    Withdrawal,
)


class Role(StrEnum):
    """What a message does to a case."""

    REQUEST = "request"  # opens a case that waits for an answer, under a deadline
    NOTICE = "notice"  # opens a case that is filed on receipt: nothing is owed in return
    CONTINUES = "continues"  # answers or continues an open case


@dataclass(frozen=True)
class Carried:
    """Personal data one message carries about one person.

    `who` holds the person's identifiers as the case knows them (PERSON_FIELDS names): the
    person named in the message itself, or, for an answer, the person of the request it
    answers. `fields` are the PERSON_FIELDS whose values the message carries about them;
    `marker` names what an answer says beyond fields ("hit", "no-hit", "finding", ...).
    """

    who: Mapping[str, Any]
    fields: frozenset[str]
    marker: str | None = None

    @property
    def ledger_fields(self) -> tuple[str, ...]:
        return tuple(sorted(self.fields)) or ((self.marker,) if self.marker else ())


# How a kind reads the persons it carries: from its own body, and for answers from the body of
# the request that opened the case (None when the case has none, e.g. a stray answer).
Extract = Callable[[Any, Any], list["Carried"]]
# How a kind drops person fields outside `allowed` from a body (as JSON): the kept body and
# the names dropped. Kinds that carry no field values keep everything.
Stripped = tuple[dict[str, Any], frozenset[str]]
Strip = Callable[[dict[str, Any], frozenset[str]], Stripped]


def _none(_body: Any, _opening: Any) -> list[Carried]:
    return []


def _keep(body: dict[str, Any], _allowed: frozenset[str]) -> Stripped:
    return body, frozenset()


BodyModel = type[Body]


@dataclass(frozen=True)
class MessageKind:
    type: str
    model: BodyModel
    role: Role
    # The agreement category; None for kinds that belong to the category of their case.
    category: str | None
    personal: bool
    carried: Extract = field(default=_none, repr=False)
    strip: Strip = field(default=_keep, repr=False)
    # An answer's fields must lie inside what its request asked for, not only the profile.
    answers_request: bool = False
    # Whether the generic request form and `migrex case open` offer it for its category;
    # False for a kind its feature's own step opens (a linkage run records its keys).
    offered: bool = True

    @property
    def opens_case(self) -> bool:
        return self.role is not Role.CONTINUES


# ---------------------------------------------------------------- reading persons


def _identifiers(person: PersonIdentifiers) -> dict[str, Any]:
    return person.model_dump(mode="json", exclude_none=True)


def _given(who: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(name for name, value in who.items() if value is not None)


def _named(persons: Sequence[PersonIdentifiers]) -> list[Carried]:
    return [Carried(_identifiers(p), _given(_identifiers(p))) for p in persons]


def _asked(opening: Any) -> list[dict[str, Any]]:
    """The persons a request names, by their index; empty for anything else."""
    if isinstance(opening, PersonInquiry | CitizenshipVerificationRequest):
        return [_identifiers(p) for p in opening.persons]
    if isinstance(opening, LegalStatusConsultation):
        return [_identifiers(opening.person)]
    if isinstance(opening, AssistanceRequest) and opening.person is not None:
        return [_identifiers(opening.person)]
    return []


def _about(opening: Any, index: int) -> dict[str, Any]:
    asked = _asked(opening)
    return asked[index] if 0 <= index < len(asked) else {}


def _inquiry(body: PersonInquiry, _opening: Any) -> list[Carried]:
    return _named(body.persons)


def _inquiry_reply(body: PersonInquiryReply, opening: Any) -> list[Carried]:
    return [
        Carried(_about(opening, r.person), frozenset(r.fields),
                marker=None if r.fields else ("hit" if r.hit else "no-hit"))
        for r in body.results
    ]  # fmt: skip


def _notice(body: ViolationNotice, _opening: Any) -> list[Carried]:
    person = dict(body.person)
    return [Carried(person, _given(person) | {"violations"})]


def _consult(body: LegalStatusConsultation, _opening: Any) -> list[Carried]:
    return _named([body.person])


def _finding(body: ConsultationFinding, opening: Any) -> list[Carried]:
    return [Carried(_about(opening, 0), frozenset(body.fields), marker="finding")]


def _outcome(_body: ConsultationOutcome, opening: Any) -> list[Carried]:
    return [Carried(_about(opening, 0), frozenset(), marker="outcome")]


def _assistance(body: AssistanceRequest, _opening: Any) -> list[Carried]:
    return _named([body.person]) if body.person is not None else []


def _assistance_reply(body: AssistanceReply, opening: Any) -> list[Carried]:
    if not _asked(opening) and not body.fields:
        return []
    return [Carried(_about(opening, 0), frozenset(body.fields), marker="answer")]


def _citizenship(body: CitizenshipVerificationRequest, _opening: Any) -> list[Carried]:
    return _named(body.persons)


def _citizenship_reply(body: CitizenshipVerificationReply, opening: Any) -> list[Carried]:
    # Every finding, "no" and "unknown" included, says something about the person's status.
    return [Carried(_about(opening, r.person), frozenset({"citizenship_status"}))
            for r in body.results]  # fmt: skip


# ---------------------------------------------------------------- dropping fields


def _split(record: Mapping[str, Any], allowed: frozenset[str]) -> tuple[dict[str, Any], set[str]]:
    kept = {k: v for k, v in record.items() if k in allowed}
    return kept, {k for k in record if k not in allowed}


def _strip_results(body: dict[str, Any], allowed: frozenset[str]) -> Stripped:
    dropped: set[str] = set()
    results = []
    for result in body.get("results", []):
        kept, gone = _split(result.get("fields", {}), allowed)
        dropped |= gone
        results.append({**result, "fields": kept} if "fields" in result else result)
    return {**body, "results": results}, frozenset(dropped)


def _strip(body: dict[str, Any], allowed: frozenset[str]) -> Stripped:
    kept, gone = _split(body.get("fields", {}), allowed)
    return ({**body, "fields": kept} if "fields" in body else body), frozenset(gone)


def _strip_notice(body: dict[str, Any], allowed: frozenset[str]) -> Stripped:
    kept, gone = _split(body.get("person", {}), allowed)
    if "violations" not in allowed:
        gone.add("violations")
        body = {**body, "violations": []}
    return {**body, "person": kept}, frozenset(gone)


# ---------------------------------------------------------------- the registry

_R, _N, _C = Role.REQUEST, Role.NOTICE, Role.CONTINUES
_PRESENT, _CONSULT = "persons-present", "legal-status-consultation"
_CITIZENSHIP = "citizenship-verification"
_LINKAGE = "record-linkage"


def _kind(*args: Any, **kwargs: Any) -> tuple[str, MessageKind]:
    kind = MessageKind(*args, **kwargs)
    return kind.type, kind


KINDS: Mapping[str, MessageKind] = dict(
    (
        _kind("statistical-information", StatisticalInformation, _N, "statistical", False),
        _kind("legal-information", LegalInformation, _N, "legal", False),
        _kind("methodological-information", MethodologicalInformation, _N, "methodological", False),
        _kind("person-inquiry", PersonInquiry, _R, _PRESENT, True, _inquiry),
        _kind(
            "person-inquiry-reply",
            PersonInquiryReply,
            _C,
            _PRESENT,
            True,
            _inquiry_reply,
            _strip_results,
            answers_request=True,
        ),
        _kind("violation-notice", ViolationNotice, _N, "violations", True, _notice, _strip_notice),
        _kind("legal-status-consultation", LegalStatusConsultation, _R, _CONSULT, True, _consult),
        _kind("consultation-finding", ConsultationFinding, _C, _CONSULT, True, _finding, _strip),
        _kind("consultation-outcome", ConsultationOutcome, _C, _CONSULT, True, _outcome),
        _kind("assistance-request", AssistanceRequest, _R, "assistance", True, _assistance),
        _kind(
            "assistance-reply",
            AssistanceReply,
            _C,
            "assistance",
            True,
            _assistance_reply,
            _strip,
            answers_request=True,
        ),
        _kind(
            "citizenship-verification-request",
            CitizenshipVerificationRequest,
            _R,
            _CITIZENSHIP,
            True,
            _citizenship,
        ),
        _kind(
            "citizenship-verification-reply",
            CitizenshipVerificationReply,
            _C,
            _CITIZENSHIP,
            True,
            _citizenship_reply,
            answers_request=True,
        ),
        _kind("clarification-request", ClarificationRequest, _C, None, False),
        _kind("clarification-answer", ClarificationAnswer, _C, None, False),
        _kind("refusal", Refusal, _C, None, False),
        _kind("withdrawal", Withdrawal, _C, None, False),
        # Tells the sender one of its messages could not be filed; never opens a case.
        _kind("message-problem", MessageProblem, _C, None, False),
        # A record-linkage run: names fields and parameters, never a person (`migrex.linkage`).
        _kind("linkage-run-proposal", LinkageRunProposal, _R, _LINKAGE, False, offered=False),
        _kind("linkage-run-acceptance", LinkageRunAcceptance, _C, _LINKAGE, False),
    )
)

# Views of the registry for the code that asks one question of it.
CATEGORY_OF_TYPE: Mapping[str, str | None] = {t: k.category for t, k in KINDS.items()}
REQUEST_TYPES: frozenset[str] = frozenset(t for t, k in KINDS.items() if k.role is Role.REQUEST)


def kind_of(message_type: str) -> MessageKind | None:
    return KINDS.get(message_type)


def personal_kinds() -> frozenset[str]:
    return frozenset(t for t, k in KINDS.items() if k.personal)


def carried(message_type: str, body: Any, opening: Any) -> list[Carried]:
    """The persons a message of this type carries data about (empty for other kinds)."""
    kind = KINDS.get(message_type)
    return [] if kind is None else kind.carried(body, opening)


def field_names(carried_list: Sequence[Carried]) -> Iterator[str]:
    for item in carried_list:
        yield from item.fields


def _carries_values(model: type[BaseModel]) -> bool:
    """Whether a body holds person field values anywhere (a `PersonRecord`: a `fields` or
    `person` mapping, at any depth), which a kind must then be able to drop."""
    for name, info in model.model_fields.items():
        annotation = info.annotation
        for inner in (annotation, *get_args(annotation)):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                if _carries_values(inner):
                    return True
            elif name in {"fields", "person"} and get_origin(inner) is dict:
                return True
    return False


def check_registry(kinds: Mapping[str, MessageKind] = KINDS) -> list[str]:
    """What is missing from the registry (empty when every kind is complete): used by a test
    so that a kind cannot be added half-described."""
    problems = []
    for name, kind in kinds.items():
        if kind.model.model_fields["type"].default != name:
            problems.append(f"{name}: the model is for {kind.model.model_fields['type'].default}")
        elif kind.personal and kind.carried is _none:
            problems.append(f"{name}: carries personal data but says not which")
        elif not kind.personal and kind.carried is not _none:
            problems.append(f"{name}: reads persons but is not marked personal")
        elif kind.opens_case and kind.category is None:
            problems.append(f"{name}: opens a case but has no category")
        elif kind.role is not Role.REQUEST and kind.strip is _keep and _carries_values(kind.model):
            problems.append(f"{name}: carries field values but cannot drop those not allowed")
    return problems
