"""Message bodies: one valid example of every type, and the clear errors of bad ones."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from migrex.agreements import KNOWN_CATEGORIES, load_agreement
from migrex.casework import (
    CATEGORY_OF_TYPE,
    MAX_ATTACHMENT_BYTES,
    MESSAGE_TYPES,
    REQUEST_TYPES,
    Attachment,
    ConsultationOutcome,
    MessageInvalid,
    PersonInquiryReply,
    Refusal,
    Withdrawal,
    check_refusal,
    outcome_signing_input,
    parse_body,
    refusal_for,
)
from migrex.errors import NotFound

AGREEMENTS = Path(__file__).resolve().parents[3] / "agreements"
KZ_AM = load_agreement(AGREEMENTS / "kz-am-2024.toml")

PERSON = {"surname": "Оганесян", "given_name": "Арам", "birth_date": "1990-05-14"}
REFERENCE = "A" * 32
SIGNATURE = "s" * 86
NOTE = Attachment.of("note.txt", "text/plain", b"figures by region")

VALID: dict[str, dict[str, Any]] = {
    # The body the exchange demo sends.
    "statistical-information": {
        "subject": "Citizens of Armenia working in Kazakhstan",
        "figures": {"2024": 2623, "2025": 2134},
        "change_percent": -18.6,
    },
    "legal-information": {
        "subject": "Amendments to the law on foreigners",
        "summary": "Registration rules",
        "references": ["Law of 2024-01-01 No 55"],
        "attachments": [NOTE.model_dump()],
    },
    "methodological-information": {"subject": "Method for detecting fictitious invitations"},
    "person-inquiry": {
        "purpose": "suppress-illegal-migration-channels",
        "legal_basis": "Article 2 of the Agreement; case 2025-117",
        "persons": [PERSON],
        "requested_fields": ["surname", "permit_type"],
        "step": "full",
    },
    "person-inquiry-reply": {
        "step": "full",
        "results": [
            {
                "person": 0,
                "hit": True,
                "fields": {"surname": "Оганесян"},
                "withheld": [{"field": "permit_type", "reason": "not held"}],
            }
        ],
    },
    "violation-notice": {
        "purpose": "suppress-illegal-migration-channels",
        "legal_basis": "Article 2 of the Agreement; protocol 77",
        "person": {"surname": "Оганесян", "citizenship": "ARM"},
        "violations": [
            {
                "violation_type": "overstay",
                "detected_on": "2025-06-01",
                "region": "KZ-75",
                "legal_article": "Article 517 of the Code on administrative offences",
                "decision": "fine",
            }
        ],
    },
    "legal-status-consultation": {
        "purpose": "legal-status-of-stay",
        "legal_basis": "Article 2 of the Agreement",
        "question": "Does the work permit cover the new employer?",
        "person": PERSON,
        "requested_fields": ["permit_type"],
    },
    "consultation-finding": {"finding": "The permit names a different employer."},
    "consultation-outcome": {
        "outcome": "The stay is lawful until the permit ends.",
        "cosignatures": [
            {
                "authority": "kz-mia",
                "key_id": "k1",
                "signature": SIGNATURE,
                "signed_at": "2025-09-10T10:00:00Z",
            }
        ],
    },
    "assistance-request": {"question": "How do we verify an EAEU work contract?"},
    "assistance-reply": {"answer": "Through the unified register."},
    "citizenship-verification-request": {
        "purpose": "combat-dual-citizenship",
        "legal_basis": "Article 2 of the Agreement",
        "persons": [{"national_id": "900514300123"}],
    },
    "citizenship-verification-reply": {
        "results": [{"person": 0, "holds": "yes", "status": "active"}]
    },
    "clarification-request": {"questions": ["Which case is this for?"]},
    "message-problem": {
        "message_id": "01935c4e-7a10-7000-8000-000000000000",
        "problem": "message-invalid at grounds.0.ground",
    },
    "clarification-answer": {"answers": ["Case 2025-117."], "legal_basis": "Article 2, 2025-117"},
    "refusal": {
        "grounds": [{"ground": "security", "article": "Article 7"}],
        "explanation": "The request touches a security operation.",
    },
    "withdrawal": {"reason": "The person has left."},
    "linkage-run-proposal": {
        "run_id": "01935c4e-7a10-7000-8000-000000000000",
        "purpose": "combat-dual-citizenship",
        "fields": ["surname", "given_name", "birth_date"],
        "period_start": "2025-01-01",
        "period_end": "2025-12-31",
        "hardening_version": "bloom-1024/1",
        "hardening": {"window": 2, "salted": "yes"},
        "threshold": 0.82,
        "candidates_to": ["kz-mia", "am-mcs"],
        "key_ids": {"am-mcs": "a" * 43, "kz-mia": "b" * 43},
    },
    "linkage-run-acceptance": {"run_id": "01935c4e-7a10-7000-8000-000000000000"},
}


def problems_of(message_type: str, data: Any) -> dict[str, str]:
    with pytest.raises(MessageInvalid) as caught:
        parse_body(message_type, data)
    assert caught.value.status == 422
    return {p.where: p.reason for p in caught.value.problems}


def test_every_type_has_an_example_and_a_category_the_agreements_know() -> None:
    assert set(VALID) == MESSAGE_TYPES == set(CATEGORY_OF_TYPE)
    assert {c for c in CATEGORY_OF_TYPE.values() if c} == KNOWN_CATEGORIES
    assert REQUEST_TYPES < MESSAGE_TYPES


@pytest.mark.parametrize("message_type", sorted(VALID))
def test_each_type_parses_and_round_trips_through_json(message_type: str) -> None:
    body = parse_body(message_type, VALID[message_type])
    assert body.type == message_type
    assert parse_body(message_type, body.model_dump(mode="json")) == body


def test_an_unknown_type_names_the_known_ones() -> None:
    problems = problems_of("gossip", {})
    assert "person-inquiry" in problems["type"]


def test_a_body_that_is_not_an_object_is_refused() -> None:
    assert problems_of("withdrawal", ["reason"]) == {"": "expected an object, got list"}


def test_a_body_claiming_another_type_is_refused() -> None:
    assert "type" in problems_of("withdrawal", {"type": "refusal", "reason": "x"})


def test_every_problem_is_listed_at_once() -> None:
    data = {"persons": [{}], "requested_fields": ["shoe_size"], "step": "maybe", "extra": 1}
    problems = problems_of("person-inquiry", data)
    assert set(problems) == {"persons.0", "requested_fields.0", "step", "extra"}
    assert "needs both names" in problems["persons.0"]
    assert "not a person field" in problems["requested_fields.0"]
    assert not problems["persons.0"].startswith("Value error")


def test_a_field_listed_twice_is_refused() -> None:
    data = {**VALID["person-inquiry"], "requested_fields": ["surname", "surname"]}
    assert "listed twice" in problems_of("person-inquiry", data)["requested_fields"]


def test_blank_purpose_statements_count_as_absent() -> None:
    data = {**VALID["person-inquiry"], "legal_basis": "   ", "urgency_reason": ""}
    body = parse_body("person-inquiry", data)
    assert body.legal_basis is None  # type: ignore[union-attr]
    assert body.urgency_reason is None  # type: ignore[union-attr]


def test_a_document_type_needs_its_number() -> None:
    data = {**VALID["citizenship-verification-request"]}
    data["persons"] = [{"national_id": "1", "document_type": "P"}]
    problems = problems_of("citizenship-verification-request", data)
    assert "without document_number" in problems["persons.0"]


# ---------------------------------------------------------------- attachments


def test_an_attachment_carries_its_data() -> None:
    assert NOTE.data() == b"figures by region"
    assert NOTE.size == 17
    assert NOTE.sha256 == hashlib.sha256(b"figures by region").hexdigest()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"sha256": "0" * 64}, "does not match its sha256"),
        ({"size": 3}, "size says 3"),
        ({"content": "not base64!"}, "not valid base64"),
        ({"name": "../etc/passwd"}, "pattern"),
        ({"media_type": "text"}, "pattern"),
    ],
)
def test_a_bad_attachment_is_refused(change: dict[str, Any], reason: str) -> None:
    data = {"subject": "s", "attachments": [NOTE.model_dump() | change]}
    problems = problems_of("methodological-information", data)
    assert any(reason in text for text in problems.values()), problems


def test_an_oversized_attachment_is_refused_before_decoding() -> None:
    content = base64.b64encode(b"\0" * (MAX_ATTACHMENT_BYTES + 3)).decode()
    data = {"subject": "s", "attachments": [NOTE.model_dump() | {"content": content}]}
    assert "attachments.0.content" in problems_of("methodological-information", data)


def test_attachments_together_stay_under_the_cap() -> None:
    half = Attachment.of(
        "a.bin", "application/octet-stream", b"\0" * (MAX_ATTACHMENT_BYTES // 2 + 1)
    )
    data = {"subject": "s", "attachments": [half.model_dump(), half.model_dump()]}
    assert "together" in problems_of("methodological-information", data)["attachments"]


# ---------------------------------------------------------------- person messages


def test_a_follow_up_on_a_hit_is_about_one_person_and_not_a_hit_check() -> None:
    data = {**VALID["person-inquiry"], "hit_reference": REFERENCE}
    assert parse_body("person-inquiry", data)
    two = {**data, "persons": [PERSON, PERSON]}
    assert "exactly one person" in problems_of("person-inquiry", two)[""]
    check = {**data, "step": "hit-check"}
    assert "cannot follow up" in problems_of("person-inquiry", check)[""]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ({"step": "hit-check", "results": [{"person": 0, "hit": True}]}, "needs its reference"),
        (
            {"step": "hit-check", "results": [{"person": 0, "hit": True, "reference": REFERENCE,
                                               "fields": {"surname": "A"}}]},
            "carries no person fields",
        ),
        (
            {"step": "full", "results": [{"person": 0, "hit": False, "reference": REFERENCE}]},
            "a no-hit carries no reference",
        ),
        (
            {"step": "full", "results": [{"person": 0, "hit": False}, {"person": 0, "hit": False}]},
            "answered twice",
        ),
        (
            {"step": "full", "results": [{"person": 0, "hit": True, "fields": {"surname": "A"},
                                          "withheld": [{"field": "surname", "reason": "x"}]}]},
            "both disclosed and withheld",
        ),
    ],
)  # fmt: skip
def test_an_inconsistent_reply_is_refused(reply: dict[str, Any], reason: str) -> None:
    problems = problems_of("person-inquiry-reply", reply)
    assert any(reason in text for text in problems.values()), problems


def test_a_reply_with_withheld_fields_is_partial() -> None:
    reply = parse_body("person-inquiry-reply", VALID["person-inquiry-reply"])
    assert isinstance(reply, PersonInquiryReply)
    assert reply.is_partial
    hit_check = {"step": "hit-check", "results": [{"person": 0, "hit": False}]}
    assert not PersonInquiryReply.model_validate(hit_check).is_partial


def test_a_notice_keeps_violations_in_their_own_list() -> None:
    data = {**VALID["violation-notice"], "person": {"surname": "A", "violations": []}}
    assert "go in the notice's `violations` list" in problems_of("violation-notice", data)["person"]


def test_an_outcome_is_co_signed_once_per_authority() -> None:
    outcome = parse_body("consultation-outcome", VALID["consultation-outcome"])
    assert isinstance(outcome, ConsultationOutcome)
    assert outcome.signed_by() == {"kz-mia"}
    twice = {**VALID["consultation-outcome"]}
    twice["cosignatures"] = twice["cosignatures"] * 2
    assert "co-signs once" in problems_of("consultation-outcome", twice)["cosignatures"]


def test_a_co_signature_is_bound_to_its_case_and_text() -> None:
    base = outcome_signing_input("kz-am-2024", "case-1", "text")
    assert base != outcome_signing_input("kz-am-2024", "case-2", "text")
    assert base != outcome_signing_input("kz-am-2024", "case-1", "text.")
    assert base.startswith(b"migrex-consultation-outcome\n")


def test_an_unknown_citizenship_answer_says_nothing_more() -> None:
    data = {"results": [{"person": 0, "holds": "unknown", "status": "active"}]}
    assert (
        "carries no date or status"
        in problems_of("citizenship-verification-reply", data)["results.0"]
    )


def test_a_citizenship_request_asks_for_the_status_by_default() -> None:
    body = parse_body("citizenship-verification-request", VALID["citizenship-verification-request"])
    assert body.requested_fields == ["citizenship_status"]  # type: ignore[union-attr]


# ---------------------------------------------------------------- refusals


def test_a_refusal_cites_the_agreement_s_grounds_and_articles() -> None:
    refusal = refusal_for(KZ_AM, ["security", "out-of-scope", "security"], "Not possible.")
    assert [(g.ground, g.article) for g in refusal.grounds] == [
        ("security", "Article 7"),
        ("out-of-scope", "Article 1"),
    ]
    check_refusal(KZ_AM, refusal)
    with pytest.raises(NotFound) as unknown:
        refusal_for(KZ_AM, ["boredom"], "No.")
    # The error says which grounds the agreement has, so the officer can pick one.
    assert all(ground in unknown.value.detail for ground in KZ_AM.refusal_grounds)


def test_a_refusal_citing_wrongly_is_refused() -> None:
    refusal = Refusal.model_validate(
        {
            "grounds": [
                {"ground": "security", "article": "Article 99"},
                {"ground": "boredom", "article": "Article 7"},
            ],
            "explanation": "No.",
        }
    )
    with pytest.raises(MessageInvalid) as caught:
        check_refusal(KZ_AM, refusal)
    assert {p.where for p in caught.value.problems} == {"grounds.0.article", "grounds.1.ground"}


def test_a_ground_is_cited_once() -> None:
    data = {**VALID["refusal"], "grounds": VALID["refusal"]["grounds"] * 2}
    assert "cited twice" in problems_of("refusal", data)[""]


def test_bodies_are_frozen() -> None:
    body = parse_body("withdrawal", VALID["withdrawal"])
    assert isinstance(body, Withdrawal)
    with pytest.raises(ValidationError):
        body.reason = "changed"  # type: ignore[misc]
