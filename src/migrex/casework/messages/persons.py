"""Bodies that carry personal data: inquiries, notices, consultations, assistance, citizenship.

Person data travels as a `PersonRecord` keyed by PERSON_FIELDS names, so screening can compare
what a message asks for or carries with the purpose's data profile by name alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, Field, StringConstraints, field_validator, model_validator

from migrex.casework.messages.parts import (
    MAX_LIST,
    MAX_PERSONS_PER_MESSAGE,
    AgreementId,
    Body,
    HitReference,
    PersonIdentifiers,
    PersonRecord,
    RequestBase,
    RequestedFields,
    ShortText,
    Step,
    Text,
    WithAttachments,
    Withheld,
)

# As `linkage.candidate_rules.PAIR_ID`: the linkage unit's id of a pair, no person's data.
LinkagePairId = Annotated[
    str, StringConstraints(max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$")
]
Persons = Annotated[
    list[PersonIdentifiers], Field(min_length=1, max_length=MAX_PERSONS_PER_MESSAGE)
]


def _no_overlap(fields: PersonRecord, withheld: Iterable[Withheld]) -> None:
    both = sorted(set(fields) & {w.field for w in withheld})
    if both:
        raise ValueError(f"fields both disclosed and withheld: {', '.join(both)}")


def _distinct_persons(indices: Iterable[int]) -> None:
    seen: set[int] = set()
    for index in indices:
        if index in seen:
            raise ValueError(f"person {index} is answered twice")
        seen.add(index)


class PersonInquiry(RequestBase):
    """About persons present on the requested party's territory.

    `step` asks for a hit/no-hit answer only ("hit-check") or for the profile's fields ("full");
    a confirmed follow-up after a hit names the `hit_reference` it got and one person. When
    `step` is absent the requested party decides from the purpose (see disclosure.reply_step).
    """

    type: Literal["person-inquiry"] = "person-inquiry"
    persons: Persons
    requested_fields: RequestedFields = Field(default_factory=list)
    step: Step | None = None
    hit_reference: HitReference | None = None

    @model_validator(mode="after")
    def _follow_up(self) -> Self:
        if self.hit_reference is not None:
            if self.step == "hit-check":
                raise ValueError("a hit-check cannot follow up a hit reference")
            if len(self.persons) != 1:
                raise ValueError("a follow-up on a hit reference is about exactly one person")
        return self


class InquiryResult(Body):
    """The answer about one person of the inquiry (`person` is its index in `persons`)."""

    person: int = Field(ge=0, lt=MAX_PERSONS_PER_MESSAGE)
    hit: bool
    reference: HitReference | None = None
    fields: PersonRecord = Field(default_factory=dict)
    withheld: list[Withheld] = Field(default_factory=list, max_length=MAX_LIST)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.hit and (self.reference or self.fields or self.withheld):
            raise ValueError("a no-hit carries no reference, fields or withheld fields")
        _no_overlap(self.fields, self.withheld)
        return self


class PersonInquiryReply(Body):
    """Step one answers hit/no-hit with a reference per hit and nothing else; a full reply
    carries each found person's fields and says which requested fields it withholds."""

    type: Literal["person-inquiry-reply"] = "person-inquiry-reply"
    step: Step
    results: list[InquiryResult] = Field(min_length=1, max_length=MAX_PERSONS_PER_MESSAGE)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _distinct_persons(r.person for r in self.results)
        if self.step == "hit-check":
            for result in self.results:
                if result.fields or result.withheld:
                    raise ValueError("a hit-check reply carries no person fields")
                if result.hit and result.reference is None:
                    raise ValueError(f"person {result.person}: a hit needs its reference")
        return self

    @property
    def is_partial(self) -> bool:
        return any(r.withheld for r in self.results)


class ViolationDetail(Body):
    """One detected violation, in the shape the `violations` person field discloses."""

    violation_type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    detected_on: date
    region: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    legal_article: ShortText
    decision: ShortText
    decision_date: date | None = None


class ViolationNotice(RequestBase):
    """Tells the other party its citizen was found breaching migration law.

    It sends personal data unasked, so it states a purpose and legal basis like a request, and
    `person` is screened against the purpose's profile together with the `violations` field.
    """

    type: Literal["violation-notice"] = "violation-notice"
    person: PersonRecord = Field(min_length=1)
    violations: list[ViolationDetail] = Field(min_length=1, max_length=MAX_LIST)

    @field_validator("person")
    @classmethod
    def _violations_apart(cls, value: PersonRecord) -> PersonRecord:
        if "violations" in value:
            raise ValueError("violations go in the notice's `violations` list")
        return value


class LegalStatusConsultation(RequestBase, WithAttachments):
    """Opens a shared case in which both parties examine a citizen's status of stay."""

    type: Literal["legal-status-consultation"] = "legal-status-consultation"
    question: Text
    person: PersonIdentifiers
    requested_fields: RequestedFields = Field(default_factory=list)


class ConsultationFinding(WithAttachments):
    """A finding either side adds to an open consultation; `fields` is data it shares."""

    type: Literal["consultation-finding"] = "consultation-finding"
    finding: Text
    fields: PersonRecord = Field(default_factory=dict)


class CoSignature(Body):
    """An authority's Ed25519 signature over `outcome_signing_input` (base64url, no padding)."""

    authority: AgreementId
    key_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    signature: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{86}$")]
    signed_at: AwareDatetime


class ConsultationOutcome(Body):
    """The outcome text one side proposes; it closes the consultation once every side has
    co-signed the same text (each sends the outcome back with its signature added)."""

    type: Literal["consultation-outcome"] = "consultation-outcome"
    outcome: Text
    cosignatures: list[CoSignature] = Field(default_factory=list, max_length=8)

    @field_validator("cosignatures")
    @classmethod
    def _one_each(cls, value: list[CoSignature]) -> list[CoSignature]:
        authorities = [s.authority for s in value]
        if len(set(authorities)) != len(authorities):
            raise ValueError("an authority co-signs once")
        return value

    def signed_by(self) -> frozenset[str]:
        return frozenset(s.authority for s in self.cosignatures)


def outcome_signing_input(agreement_id: str, case_id: str, outcome: str) -> bytes:
    """What each co-signature signs: the outcome's hash bound to its agreement and case, so a
    signature cannot be moved to another case or to an edited text."""
    digest = hashlib.sha256(outcome.encode("utf-8")).hexdigest()
    return f"migrex-consultation-outcome\n{agreement_id}\n{case_id}\n{digest}\n".encode()


class AssistanceRequest(RequestBase, WithAttachments):
    type: Literal["assistance-request"] = "assistance-request"
    question: Text
    person: PersonIdentifiers | None = None
    requested_fields: RequestedFields = Field(default_factory=list)


class AssistanceReply(WithAttachments):
    type: Literal["assistance-reply"] = "assistance-reply"
    answer: Text
    fields: PersonRecord = Field(default_factory=dict)
    withheld: list[Withheld] = Field(default_factory=list, max_length=MAX_LIST)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _no_overlap(self.fields, self.withheld)
        return self


class CitizenshipVerificationRequest(RequestBase):
    """Does each person hold the requested party's citizenship (combating dual citizenship)?"""

    type: Literal["citizenship-verification-request"] = "citizenship-verification-request"
    persons: Persons
    requested_fields: RequestedFields = Field(default_factory=lambda: ["citizenship_status"])
    # The record-linkage pair the request follows up, as the linkage unit named it to both
    # parties: the requested party finds its own candidate of the pair by it. A pair is one
    # person on each side, so a request quoting one asks about one person.
    linkage_pair_id: LinkagePairId | None = None

    @model_validator(mode="after")
    def _one_person_per_pair(self) -> Self:
        if self.linkage_pair_id is not None and len(self.persons) != 1:
            raise ValueError("a request quoting a linkage pair asks about its one person")
        return self


class CitizenshipFinding(Body):
    """`holds` is "unknown" when the register cannot tell (no single match); then nothing else."""

    person: int = Field(ge=0, lt=MAX_PERSONS_PER_MESSAGE)
    holds: Literal["yes", "no", "unknown"]
    since: date | None = None
    status: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None

    @model_validator(mode="after")
    def _nothing_when_unknown(self) -> Self:
        if self.holds == "unknown" and (self.since or self.status):
            raise ValueError("an unknown answer carries no date or status")
        return self


class CitizenshipVerificationReply(Body):
    type: Literal["citizenship-verification-reply"] = "citizenship-verification-reply"
    results: list[CitizenshipFinding] = Field(min_length=1, max_length=MAX_PERSONS_PER_MESSAGE)

    @field_validator("results")
    @classmethod
    def _distinct(cls, value: list[CitizenshipFinding]) -> list[CitizenshipFinding]:
        _distinct_persons(r.person for r in value)
        return value
