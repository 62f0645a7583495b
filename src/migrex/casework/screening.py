"""Screening a request against its agreement: the same pure check at send and at receive.

A *breach* is something the agreement plainly does not allow; it comes with the refusal ground
the agreement proposes for it, and a reviewer confirms or changes that ground. A *flag* is a
doubt: the request may be fine, but a reviewer should look, and may ask for clarification
(the agreement gives the requested party the right to verify, study and refuse a doubtful
request). At send, breaches stop the officer and flags warn; at receive, breaches become a
proposed refusal and flags go with the case to the reviewer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import assert_never

from migrex.agreements import Agreement, Purpose, RefusalGround, Urgency
from migrex.casework.kinds import CATEGORY_OF_TYPE
from migrex.casework.messages import (
    AssistanceRequest,
    CitizenshipVerificationRequest,
    ClarificationAnswer,
    GroundCited,
    InformationBody,
    LegalStatusConsultation,
    LinkageRunProposal,
    OpeningBody,
    PersonalOpeningBody,
    PersonInquiry,
    Refusal,
    ViolationNotice,
)


class BreachKind(StrEnum):
    """The agreement's SCREENING_BREACHES: each names the ground it proposes in the file."""

    CATEGORY_NOT_ALLOWED = "category-not-allowed"
    PURPOSE_NOT_STATED = "purpose-not-stated"
    FIELDS_OUTSIDE_PROFILE = "fields-outside-profile"
    VOLUME_EXCEEDED = "volume-exceeded"


class FlagKind(StrEnum):
    LEGAL_BASIS_VAGUE = "legal-basis-vague"
    URGENT_WITHOUT_REASON = "urgent-without-reason"
    CITIZENSHIP_FIELDS_MISSING = "citizenship-fields-missing"
    NEAR_VOLUME_LIMIT = "near-volume-limit"
    IDENTIFIERS_INSUFFICIENT = "identifiers-insufficient"
    LINKAGE_TERMS_DIFFER = "linkage-terms-differ"


@dataclass(frozen=True)
class Breach:
    kind: BreachKind
    detail: str
    proposed_ground: RefusalGround


@dataclass(frozen=True)
class Flag:
    kind: FlagKind
    detail: str


@dataclass(frozen=True)
class Screening:
    breaches: tuple[Breach, ...] = ()
    flags: tuple[Flag, ...] = ()

    @property
    def passed(self) -> bool:
        """No breach: the request may go (at send) or be answered (at receive)."""
        return not self.breaches

    @property
    def clear(self) -> bool:
        """Neither breach nor doubt."""
        return not self.breaches and not self.flags

    def proposed_grounds(self) -> tuple[RefusalGround, ...]:
        """The distinct grounds the breaches propose, in the order found."""
        return tuple({b.proposed_ground.id: b.proposed_ground for b in self.breaches}.values())

    def proposed_refusal(self) -> Refusal | None:
        """The refusal a reviewer is offered, or None when nothing was breached."""
        if not self.breaches:
            return None
        return Refusal(
            grounds=[GroundCited(ground=g.id, article=g.article) for g in self.proposed_grounds()],
            explanation="; ".join(b.detail for b in self.breaches),
        )


@dataclass(frozen=True)
class LinkageTerms:
    """What a proposed linkage run sets beyond its fields, held against the agreement's."""

    threshold: float
    candidates_to: frozenset[str]
    unit: str | None
    hardening: str | None = None


@dataclass(frozen=True)
class Request:
    """What screening needs to know of a request, whatever its message type.

    `fields` are the person fields asked for (or, for a notice, carried); `persons` counts
    every person the request names, a hit check included: hit/no-hit says something too.
    """

    category: str
    sender: str
    recipient: str
    purpose: str | None = None
    legal_basis: str | None = None
    urgency: Urgency = Urgency.NORMAL
    urgency_reason: str | None = None
    fields: frozenset[str] = frozenset()
    persons: int = 0
    # Persons of an inquiry named without a document number or national id: the register
    # cannot be searched for them (see casework.matching), so the reviewer must ask.
    unidentified: tuple[int, ...] = ()
    # A linkage run's terms: its `fields` are then held against the agreement's linkage
    # fields rather than a data profile (a run names fields to encode, never a person).
    linkage: LinkageTerms | None = None


@dataclass(frozen=True)
class Thresholds:
    """Where doubt begins; these are the reviewer's policy, not the agreement's."""

    min_legal_basis_chars: int = 25
    near_limit: float = 0.8  # flag a volume at this share of a limit

    def __post_init__(self) -> None:
        if not 0 < self.near_limit <= 1:
            raise ValueError("near_limit lies in (0, 1]")


def request_of(body: OpeningBody, *, sender: str, recipient: str) -> Request:
    """The screening view of a message that opens a case."""
    category = CATEGORY_OF_TYPE[body.type] or body.type  # every opening type has a category
    if isinstance(body, InformationBody):
        return Request(category, sender, recipient, purpose=body.purpose)
    if isinstance(body, LinkageRunProposal):
        terms = LinkageTerms(body.threshold, frozenset(body.candidates_to), body.unit,
                             body.hardening_version)  # fmt: skip
        return Request(category, sender, recipient, body.purpose, body.legal_basis,
                       fields=frozenset(body.fields), linkage=terms)  # fmt: skip
    fields, persons = _asked(body)
    unidentified = tuple(
        index for index, who in enumerate(body.persons)
        if who.document_number is None and who.national_id is None
    ) if isinstance(body, PersonInquiry) else ()  # fmt: skip
    return Request(
        category, sender, recipient, body.purpose, body.legal_basis, body.urgency,
        body.urgency_reason, fields, persons, unidentified,
    )  # fmt: skip


def _asked(body: PersonalOpeningBody) -> tuple[frozenset[str], int]:
    """The person fields a request asks for (a notice: carries) and how many persons it names."""
    match body:
        case ViolationNotice():
            return frozenset(body.person) | {"violations"}, 1
        case LegalStatusConsultation():
            return frozenset(body.requested_fields), 1
        case AssistanceRequest():
            return frozenset(body.requested_fields), int(body.person is not None)
        case PersonInquiry() | CitizenshipVerificationRequest():
            return frozenset(body.requested_fields), len(body.persons)
    assert_never(body)


def amended(request: Request, answer: ClarificationAnswer) -> Request:
    """The request as a clarification answer amends it; screen it again after."""
    return replace(
        request,
        purpose=answer.purpose or request.purpose,
        legal_basis=answer.legal_basis or request.legal_basis,
        urgency_reason=answer.urgency_reason or request.urgency_reason,
        fields=request.fields
        if answer.requested_fields is None
        else frozenset(answer.requested_fields),
    )


# Statements of legal basis that name nothing a reviewer could check.
_GENERIC_BASIS = frozenset(
    {
        "agreement", "the agreement", "per agreement", "as per agreement", "under the agreement",
        "law", "the law", "national law", "legislation", "national legislation", "request",
        "official request", "see above", "n a", "na", "none", "tbd", "investigation",
        "operational need", "operational necessity", "cooperation",
    }
)  # fmt: skip
_CITIZENSHIP_FIELDS = frozenset({"citizenship", "citizenship_status"})

# A finding is a breach (its kind and detail; the agreement adds the ground) or a flag.
_Finding = tuple[BreachKind, str] | Flag


def screen(
    agreement: Agreement,
    request: Request,
    *,
    disclosed_in_period: int,
    thresholds: Thresholds = Thresholds(),
) -> Screening:
    """Breaches and flags of `request` under `agreement`.

    `disclosed_in_period` is how many persons were already disclosed in the agreement's volume
    period (the service counts them in the disclosure ledger); this request's persons are added.
    """
    if disclosed_in_period < 0:
        raise ValueError("disclosed_in_period cannot be negative")
    category = agreement.categories.get(request.category)
    personal = category.personal_data if category else bool(request.fields or request.persons)
    findings: list[_Finding] = []
    if not agreement.may_send(request.category, request.sender, request.recipient):
        detail = f"{agreement.id} does not let {request.sender} send {request.category} "
        findings.append(
            (BreachKind.CATEGORY_NOT_ALLOWED, f"{detail}information to {request.recipient}")
        )
    purpose = _valid_purpose(agreement, request, personal, findings)
    findings += _legal_basis(request, personal, thresholds)
    if purpose is not None and request.linkage is not None:
        findings += _linkage(agreement, request, request.linkage)
    elif purpose is not None:
        # Without a valid purpose there is no profile to hold the fields against; the
        # purpose breach already stands for them.
        findings += _fields(agreement, purpose, request)
    if request.urgency is Urgency.URGENT and not request.urgency_reason:
        findings.append(Flag(FlagKind.URGENT_WITHOUT_REASON, "urgent, but no reason is given"))
    findings += _volume(agreement, request, disclosed_in_period, thresholds)
    if request.unidentified:
        places = ", ".join(str(i) for i in request.unidentified)
        findings.append(Flag(FlagKind.IDENTIFIERS_INSUFFICIENT,
                             f"person(s) {places} named without a document number or national "
                             "id cannot be looked up; ask for one"))  # fmt: skip
    return Screening(
        tuple(
            Breach(f[0], f[1], agreement.proposed_ground(f[0]))
            for f in findings
            if isinstance(f, tuple)
        ),
        tuple(f for f in findings if isinstance(f, Flag)),
    )


def _valid_purpose(
    agreement: Agreement, request: Request, personal: bool, findings: list[_Finding]
) -> Purpose | None:
    """The stated purpose when it is known and covers the category; records the breach if not.

    Information without personal data needs no purpose, but one it states must fit.
    """
    purpose = None if request.purpose is None else agreement.purposes.get(request.purpose)
    if request.purpose is None:
        problem = "no purpose is stated" if personal else None
    elif purpose is None:
        problem = f"{agreement.id} names no purpose {request.purpose!r}"
    elif request.category not in purpose.categories:
        problem = f"purpose {purpose.id} does not cover {request.category} information"
    else:
        return purpose
    if problem:
        findings.append((BreachKind.PURPOSE_NOT_STATED, problem))
    return None


def _legal_basis(request: Request, personal: bool, thresholds: Thresholds) -> list[_Finding]:
    text = request.legal_basis
    if not personal:
        return []
    if text is None:
        return [(BreachKind.PURPOSE_NOT_STATED, "no legal basis is stated")]
    normal = " ".join(re.sub(r"[\W_]+", " ", text.lower()).split())
    if normal in _GENERIC_BASIS:
        doubt = f"the legal basis {text!r} names nothing specific"
    elif len(text) < thresholds.min_legal_basis_chars:
        doubt = f"the legal basis is only {len(text)} characters long"
    elif not any(ch.isdigit() for ch in text):
        doubt = "the legal basis cites no article, statute or case number"
    else:
        return []
    return [Flag(FlagKind.LEGAL_BASIS_VAGUE, doubt)]


def _fields(agreement: Agreement, purpose: Purpose, request: Request) -> list[_Finding]:
    findings: list[_Finding] = []
    outside = agreement.fields_outside_profile(purpose.id, request.fields)
    if outside:
        granted = f"purpose {purpose.id} does not grant: {', '.join(sorted(outside))}"
        findings.append((BreachKind.FIELDS_OUTSIDE_PROFILE, granted))
    if (
        "citizenship-verification" in purpose.categories
        and not request.fields & _CITIZENSHIP_FIELDS
    ):
        doubt = f"purpose {purpose.id} is about citizenship, yet no citizenship field is requested"
        findings.append(Flag(FlagKind.CITIZENSHIP_FIELDS_MISSING, doubt))
    return findings


def _linkage(agreement: Agreement, request: Request, terms: LinkageTerms) -> list[_Finding]:
    """A run's fields must lie inside the agreement's linkage fields (none without a linkage
    section); terms laxer than the agreement's are a doubt for the reviewer."""
    linkage = agreement.linkage
    allowed = frozenset() if linkage is None else linkage.fields
    outside = request.fields - allowed
    findings: list[_Finding] = []
    if outside:
        detail = f"{agreement.id} does not provide for linkage on: {', '.join(sorted(outside))}"
        findings.append((BreachKind.FIELDS_OUTSIDE_PROFILE, detail))
    if linkage is None:
        return findings
    differ = []
    if terms.threshold < linkage.threshold:
        differ.append(f"threshold {terms.threshold} is below the agreement's {linkage.threshold}")
    if not terms.candidates_to <= linkage.candidates_to:
        extra = ", ".join(sorted(terms.candidates_to - linkage.candidates_to))
        differ.append(f"candidates would also go to {extra}")
    if linkage.unit is not None and terms.unit != linkage.unit:
        differ.append(f"the agreement's linkage unit is {linkage.unit}, not {terms.unit}")
    if linkage.hardening is not None and terms.hardening != linkage.hardening:
        differ.append(f"the agreement's hardening is {linkage.hardening}, not {terms.hardening}")
    findings += [Flag(FlagKind.LINKAGE_TERMS_DIFFER, d) for d in differ]
    return findings


def _volume(
    agreement: Agreement, request: Request, disclosed_in_period: int, thresholds: Thresholds
) -> list[_Finding]:
    if request.persons == 0:
        return []
    limits = agreement.data_protection.volume
    checks = (
        (request.persons, limits.max_persons_per_request, "in one request"),
        (
            disclosed_in_period + request.persons,
            limits.max_persons_per_period,
            f"in {limits.period.days} days, this request included",
        ),
    )
    findings: list[_Finding] = []
    for count, limit, where in checks:
        if count > limit:
            findings.append(
                (BreachKind.VOLUME_EXCEEDED, f"{count} persons {where}; the limit is {limit}")
            )
        elif count >= math.ceil(limit * thresholds.near_limit):
            doubt = f"{count} persons {where}, near the limit of {limit}"
            findings.append(Flag(FlagKind.NEAR_VOLUME_LIMIT, doubt))
    return findings
