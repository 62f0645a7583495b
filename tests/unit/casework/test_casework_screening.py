"""Screening against the shipped Kazakhstan–Armenia agreement: each breach and each flag."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from migrex.agreements import SCREENING_BREACHES, Urgency, load_agreement
from migrex.casework import (
    BreachKind,
    ClarificationAnswer,
    FlagKind,
    Request,
    Screening,
    Thresholds,
    amended,
    check_refusal,
    parse_body,
    request_of,
    screen,
)

AGREEMENTS = Path(__file__).resolve().parents[3] / "agreements"
KZ_AM = load_agreement(AGREEMENTS / "kz-am-2024.toml")
BASIS = "Article 2 of the Agreement; criminal case 2025-117"

# Armenia's Migration and Citizenship Service asks Kazakhstan's Ministry of Internal Affairs.
GOOD = Request(
    category="persons-present",
    sender="am-mcs",
    recipient="kz-mia",
    purpose="suppress-illegal-migration-channels",
    legal_basis=BASIS,
    fields=frozenset({"surname", "given_name", "permit_type", "employer_name"}),
    persons=1,
)


def screened(request: Request = GOOD, disclosed: int = 0, **change: Any) -> Screening:
    return screen(KZ_AM, replace(request, **change), disclosed_in_period=disclosed)


def kinds(result: Screening) -> tuple[list[str], list[str]]:
    return [b.kind for b in result.breaches], [f.kind for f in result.flags]


def test_a_proper_request_is_clear() -> None:
    result = screened()
    assert result.clear
    assert result.passed
    assert result.proposed_refusal() is None


def test_breach_kinds_are_the_agreement_s() -> None:
    assert {str(k) for k in BreachKind} == SCREENING_BREACHES


# ---------------------------------------------------------------- breaches


@pytest.mark.parametrize(
    "change",
    [
        {"recipient": "am-police"},  # same state: the agreement does not govern it
        {"sender": "kz-mia", "recipient": "am-police"},  # the police does not receive persons data
        {"sender": "tr-police"},  # not in the agreement
        {"category": "gossip"},
    ],
)
def test_category_not_allowed(change: dict[str, Any]) -> None:
    result = screened(**change)
    assert BreachKind.CATEGORY_NOT_ALLOWED in kinds(result)[0]
    breach = result.breaches[0]
    assert breach.proposed_ground == KZ_AM.refusal_grounds["out-of-scope"]
    assert breach.proposed_ground.article == "Article 1"


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"purpose": None}, "no purpose is stated"),
        ({"purpose": "curiosity"}, "names no purpose 'curiosity'"),
        ({"purpose": "assistance"}, "does not cover persons-present"),
        ({"legal_basis": None}, "no legal basis is stated"),
    ],
)
def test_purpose_or_legal_basis_not_stated(change: dict[str, Any], detail: str) -> None:
    result = screened(**change)
    assert kinds(result)[0] == [BreachKind.PURPOSE_NOT_STATED]
    assert detail in result.breaches[0].detail
    assert result.breaches[0].proposed_ground.id == KZ_AM.screening["purpose-not-stated"]


def test_fields_outside_the_profile() -> None:
    result = screened(fields=GOOD.fields | {"registration_address", "national_id"})
    assert kinds(result)[0] == [BreachKind.FIELDS_OUTSIDE_PROFILE]
    assert result.breaches[0].detail.endswith("does not grant: national_id, registration_address")
    assert result.breaches[0].proposed_ground.id == "national-legislation"


def test_a_purpose_without_a_profile_grants_no_fields() -> None:
    result = screened(category="statistical", purpose="migration-statistics", persons=0)
    assert kinds(result)[0] == [BreachKind.FIELDS_OUTSIDE_PROFILE]


@pytest.mark.parametrize(
    ("persons", "disclosed", "detail"),
    [
        (51, 0, "51 persons in one request; the limit is 50"),
        (20, 1990, "2010 persons in 30 days, this request included; the limit is 2000"),
    ],
)
def test_volume_exceeded(persons: int, disclosed: int, detail: str) -> None:
    result = screened(persons=persons, disclosed=disclosed)
    assert BreachKind.VOLUME_EXCEEDED in kinds(result)[0]
    assert detail in [b.detail for b in result.breaches]


def test_exactly_at_the_limits_is_no_breach() -> None:
    assert screened(persons=50, disclosed=1950).passed


# ---------------------------------------------------------------- flags


@pytest.mark.parametrize(
    ("legal_basis", "detail"),
    [
        ("The Agreement.", "names nothing specific"),
        ("Art. 5", "only 6 characters long"),
        ("Law on migration of population and its bylaws", "cites no article"),
    ],
)
def test_a_vague_legal_basis_is_flagged(legal_basis: str, detail: str) -> None:
    result = screened(legal_basis=legal_basis)
    assert kinds(result) == ([], [FlagKind.LEGAL_BASIS_VAGUE])
    assert detail in result.flags[0].detail
    assert not result.clear
    assert result.passed


def test_the_legal_basis_length_is_a_threshold() -> None:
    strict = Thresholds(min_legal_basis_chars=100)
    assert screen(KZ_AM, GOOD, disclosed_in_period=0, thresholds=strict).flags
    with pytest.raises(ValueError, match="near_limit"):
        Thresholds(near_limit=0)


def test_urgent_without_a_reason_is_flagged() -> None:
    assert kinds(screened(urgency=Urgency.URGENT)) == ([], [FlagKind.URGENT_WITHOUT_REASON])
    assert screened(urgency=Urgency.URGENT, urgency_reason="The person leaves tomorrow.").clear


def test_a_citizenship_purpose_without_citizenship_fields_is_flagged() -> None:
    request = replace(
        GOOD, purpose="combat-dual-citizenship", fields=frozenset({"surname", "birth_date"})
    )
    result = screened(request)
    assert kinds(result) == ([], [FlagKind.CITIZENSHIP_FIELDS_MISSING])
    assert screened(request, fields=request.fields | {"citizenship_status"}).clear


@pytest.mark.parametrize(("persons", "disclosed"), [(40, 0), (2, 1598)])
def test_many_persons_near_a_limit_are_flagged(persons: int, disclosed: int) -> None:
    result = screened(persons=persons, disclosed=disclosed)
    assert kinds(result) == ([], [FlagKind.NEAR_VOLUME_LIMIT])
    assert "near the limit" in result.flags[0].detail
    assert screened(persons=persons - 1, disclosed=max(disclosed - 1, 0)).clear  # one short


def test_negative_period_counts_are_a_bug() -> None:
    with pytest.raises(ValueError, match="negative"):
        screened(disclosed=-1)


# ---------------------------------------------------------------- the proposed refusal


def test_breaches_become_one_proposed_refusal_with_their_grounds() -> None:
    result = screened(recipient="am-police", fields=GOOD.fields | {"national_id"}, persons=60)
    assert kinds(result)[0] == [
        BreachKind.CATEGORY_NOT_ALLOWED,
        BreachKind.FIELDS_OUTSIDE_PROFILE,
        BreachKind.VOLUME_EXCEEDED,
    ]
    assert [g.id for g in result.proposed_grounds()] == ["out-of-scope", "national-legislation"]
    refusal = result.proposed_refusal()
    assert refusal is not None
    check_refusal(KZ_AM, refusal)
    assert "national_id" in refusal.explanation
    assert "60 persons" in refusal.explanation


# ---------------------------------------------------------------- from messages


def test_the_screening_view_of_each_opening_message() -> None:
    inquiry = parse_body("person-inquiry", {
        "purpose": "combat-dual-citizenship", "legal_basis": BASIS, "urgency": "urgent",
        "persons": [{"national_id": "1"}, {"national_id": "2"}],
        "requested_fields": ["surname", "citizenship_status"],
    })  # fmt: skip
    notice = parse_body("violation-notice", {
        "purpose": "suppress-illegal-migration-channels", "legal_basis": BASIS,
        "person": {"surname": "A", "document_number": "AN0000001"},
        "violations": [{"violation_type": "overstay", "detected_on": "2025-06-01",
                        "region": "KZ-75", "legal_article": "517", "decision": "fine"}],
    })  # fmt: skip
    stats = parse_body("statistical-information", {"subject": "Workers"})
    assistance = parse_body("assistance-request", {"question": "How?"})
    views = {
        body.type: request_of(body, sender="am-mcs", recipient="kz-mia")  # type: ignore[arg-type]
        for body in (inquiry, notice, stats, assistance)
    }
    assert views["person-inquiry"] == Request(
        "persons-present", "am-mcs", "kz-mia", "combat-dual-citizenship", BASIS, Urgency.URGENT,
        None, frozenset({"surname", "citizenship_status"}), 2,
    )  # fmt: skip
    assert views["violation-notice"].fields == {"surname", "document_number", "violations"}
    assert views["violation-notice"].persons == 1
    assert views["statistical-information"] == Request("statistical", "am-mcs", "kz-mia")
    assert views["assistance-request"].persons == 0
    assert screen(KZ_AM, views["statistical-information"], disclosed_in_period=0).clear
    assert screen(KZ_AM, views["violation-notice"], disclosed_in_period=0).passed


def test_information_needs_no_purpose_but_a_stated_one_must_fit() -> None:
    stats = Request("statistical", "kz-mlsp", "am-mcs", purpose="combat-dual-citizenship")
    result = screen(KZ_AM, stats, disclosed_in_period=0)
    assert kinds(result)[0] == [BreachKind.PURPOSE_NOT_STATED]


def test_a_clarification_answer_can_cure_a_breach() -> None:
    request = replace(GOOD, legal_basis=None, fields=GOOD.fields | {"national_id"})
    assert len(screened(request).breaches) == 2
    answer = ClarificationAnswer(
        answers=["narrowed"], legal_basis=BASIS, requested_fields=["surname"]
    )
    cured = amended(request, answer)
    assert cured.fields == {"surname"}
    assert screened(cured).clear
    assert amended(GOOD, ClarificationAnswer(answers=["as asked"])) == GOOD
