"""Replies carry only what the purpose allows; hit references reveal nothing."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrex.agreements import PERSON_FIELDS, load_agreement
from migrex.casework import (
    NOT_HELD,
    OUTSIDE_PROFILE,
    PersonInquiry,
    PersonInquiryReply,
    citizenship_finding,
    full_result,
    hit_reference,
    hit_result,
    minimise,
    parse_body,
    person_fields,
    reply_step,
    verify_hit_reference,
)
from migrex.registry.model import Citizen, EmploymentSpell, PersonPresent, Violation

AGREEMENTS = Path(__file__).resolve().parents[3] / "agreements"
KZ_AM = load_agreement(AGREEMENTS / "kz-am-2024.toml")
KEY = bytes(range(32))
FIELDS = sorted(PERSON_FIELDS)

ARAM = PersonPresent(
    record_id="KZ-PP-0000001", surname="Оганесян", given_name="Арам", patronymic=None,
    surname_latin="HOVHANNISYAN", given_name_latin="ARAM", sex="M",
    birth_date=date(1990, 5, 14), citizenship="ARM", document_type="P",
    document_number="AN1234567", national_id=None, entry_date=date(2024, 3, 1),
    purpose_of_stay="work", registration_region="KZ-75",
    registration_address="Almaty, Abay 10", permit_type="eaeu_worker",
    permit_valid_from=date(2024, 3, 1), permit_valid_to=None,
)  # fmt: skip


def spell(record_id: str, start: date, end: date | None, employer: str) -> EmploymentSpell:
    return EmploymentSpell(
        record_id, ARAM.record_id, f"BIN-{employer}", employer, "7112", "KZ-75", start, end
    )


def citizen(status: str, passport: str | None = "AN1234567") -> Citizen:
    return Citizen(
        "AM-1", "Оганесян", "Арам", "Ашотович", "HOVHANNISYAN", "ARAM", "M",
        date(1990, 5, 14), passport, status,
    )  # fmt: skip


# ---------------------------------------------------------------- minimisation

field_sets = st.frozensets(st.sampled_from(FIELDS))


@settings(max_examples=300, deadline=None)
@given(
    record=st.dictionaries(
        st.sampled_from(FIELDS), st.one_of(st.none(), st.text(max_size=5), st.integers())
    ),
    allowed=field_sets,
    requested=field_sets,
)
def test_only_requested_and_allowed_fields_are_disclosed(
    record: dict[str, Any], allowed: frozenset[str], requested: frozenset[str]
) -> None:
    disclosed, withheld = minimise(record, allowed, requested)
    assert set(disclosed) <= allowed & requested
    withheld_fields = [w.field for w in withheld]
    assert len(withheld_fields) == len(set(withheld_fields))
    assert set(disclosed) | set(withheld_fields) == requested
    assert not set(disclosed) & set(withheld_fields)
    for item in withheld:
        expected = OUTSIDE_PROFILE if item.field not in allowed else NOT_HELD
        assert item.reason == expected
    assert all(disclosed[name] == record[name] is not None for name in disclosed)


def test_withheld_fields_say_why() -> None:
    record = {"surname": "A", "patronymic": None, "national_id": "900514300123"}
    allowed = KZ_AM.fields_allowed("suppress-illegal-migration-channels")
    disclosed, withheld = minimise(
        record, allowed, frozenset({"surname", "patronymic", "national_id", "sex"})
    )
    assert disclosed == {"surname": "A"}
    assert [(w.field, w.reason) for w in withheld] == [
        ("national_id", "outside the purpose's data profile"),
        ("patronymic", "outside the purpose's data profile"),
        ("sex", "not held"),
    ]


# ---------------------------------------------------------------- the two steps


def issue(requester: str = "am-mcs", record_id: str = ARAM.record_id) -> str:
    return hit_reference(KEY, agreement_id="kz-am-2024", requester=requester, record_id=record_id)


def verifies(
    reference: str,
    *,
    key: bytes = KEY,
    agreement_id: str = "kz-am-2024",
    requester: str = "am-mcs",
    record_id: str = ARAM.record_id,
) -> bool:
    return verify_hit_reference(
        key, reference, agreement_id=agreement_id, requester=requester, record_id=record_id
    )


def test_a_hit_reference_verifies_only_for_its_requester_and_record() -> None:
    reference = issue()
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", reference)
    assert verifies(reference)
    assert not verifies(reference, requester="am-police")
    assert not verifies(reference, record_id="KZ-PP-0000002")
    assert not verifies(reference, agreement_id="kz-kg-2023")
    assert not verifies(reference, key=bytes(32))
    for garbage in ("", "A" * 32, "not base64 at all!", "é" * 32, reference[:-4]):
        assert not verifies(garbage)


def test_two_hits_on_one_person_cannot_be_linked() -> None:
    first, second = issue(), issue()
    assert first != second
    assert verifies(first)
    assert verifies(second)
    # The record id is in none of them, in any encoding.
    assert ARAM.record_id not in first + second


def test_hit_references_need_a_real_key_and_nonce() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        hit_reference(b"short", agreement_id="a", requester="b", record_id="c")
    with pytest.raises(ValueError, match="nonce"):
        hit_reference(KEY, agreement_id="a", requester="b", record_id="c", nonce=b"1")
    first = hit_reference(KEY, agreement_id="a", requester="b", record_id="c", nonce=bytes(8))
    again = hit_reference(KEY, agreement_id="a", requester="b", record_id="c", nonce=bytes(8))
    assert first == again


def inquiry(purpose: str, **extra: Any) -> PersonInquiry:
    body = parse_body("person-inquiry", {
        "purpose": purpose, "legal_basis": "Article 2, case 2025-117",
        "persons": [{"surname_latin": "HOVHANNISYAN", "given_name_latin": "ARAM"}],
        "requested_fields": ["surname", "citizenship"], **extra,
    })  # fmt: skip
    assert isinstance(body, PersonInquiry)
    return body


def test_the_purpose_decides_whether_a_hit_check_comes_first() -> None:
    assert KZ_AM.purposes["combat-dual-citizenship"].hit_no_hit_first
    assert reply_step(KZ_AM, inquiry("combat-dual-citizenship")) == "hit-check"
    follow_up = inquiry("combat-dual-citizenship", hit_reference="A" * 32)
    assert reply_step(KZ_AM, follow_up) == "full"
    assert reply_step(KZ_AM, inquiry("suppress-illegal-migration-channels")) == "full"
    asked = inquiry("suppress-illegal-migration-channels", step="hit-check")
    assert reply_step(KZ_AM, asked) == "hit-check"
    assert reply_step(KZ_AM, inquiry("curiosity")) == "hit-check"


def test_replies_built_from_results_are_valid_messages() -> None:
    step_one = PersonInquiryReply(
        step="hit-check",
        results=[hit_result(0, issue()), hit_result(1, None)],
    )
    assert [r.hit for r in step_one.results] == [True, False]
    allowed = KZ_AM.fields_allowed("combat-dual-citizenship")
    record = person_fields(ARAM)
    requested = frozenset({"surname", "citizenship", "registration_address"})
    full = PersonInquiryReply(
        step="full",
        results=[
            full_result(0, record, allowed=allowed, requested=requested),
            full_result(1, None, allowed=allowed, requested=requested),
        ],
    )
    assert full.results[0].fields == {"citizenship": "ARM", "surname": "Оганесян"}
    assert full.is_partial
    assert not full.results[1].hit
    assert parse_body("person-inquiry-reply", full.model_dump(mode="json")) == full


# ---------------------------------------------------------------- registry → fields


def test_a_person_present_in_the_vocabulary() -> None:
    fields = person_fields(ARAM)
    assert set(fields) <= PERSON_FIELDS
    assert fields["birth_date"] == "1990-05-14"
    assert fields["permit_type"] == "eaeu_worker"
    # Absent values and registers not consulted are not held.
    assert "patronymic" not in fields
    assert "permit_valid_to" not in fields
    assert "violations" not in fields
    assert "employer_name" not in fields
    assert "KZ-PP-0000001" not in str(fields)


def test_the_current_employment_is_the_one_disclosed() -> None:
    spells = [
        spell("E1", date(2022, 1, 1), date(2023, 6, 30), "Old LLP"),
        spell("E2", date(2024, 3, 5), None, "Current LLP"),
        spell("E3", date(2023, 7, 1), date(2024, 3, 1), "Middle LLP"),
    ]
    fields = person_fields(ARAM, employment=spells)
    assert fields["employer_name"] == "Current LLP"
    assert fields["employment_period"] == {"from": "2024-03-05", "to": None}
    ended = person_fields(ARAM, employment=[spells[0], spells[2]])
    assert ended["employer_name"] == "Middle LLP"
    assert "employer_name" not in person_fields(ARAM, employment=[])


def test_violations_are_listed_without_record_ids() -> None:
    def violation(record_id: str, day: date) -> Violation:
        return Violation(record_id, ARAM.record_id, "ARM", "AN1234567", "overstay", day,
                         "KZ-75", "Article 517", "fine", None)  # fmt: skip

    fields = person_fields(
        ARAM, violations=[violation("V2", date(2025, 2, 1)), violation("V1", date(2024, 8, 1))]
    )
    listed = fields["violations"]
    assert isinstance(listed, list)
    assert [v["detected_on"] for v in listed] == ["2024-08-01", "2025-02-01"]  # type: ignore[call-overload, index]
    assert "V1" not in str(fields)
    assert person_fields(ARAM, violations=[])["violations"] == []


def test_an_own_citizen_in_the_vocabulary() -> None:
    fields = person_fields(citizen=citizen("active"), citizen_state="ARM")
    assert fields["citizenship_status"] == "active"
    assert fields["citizenship"] == "ARM"
    assert (fields["document_type"], fields["document_number"]) == ("P", "AN1234567")
    assert "document_type" not in person_fields(citizen=citizen("active", passport=None))
    both = person_fields(ARAM, citizen=citizen("active"), citizen_state="ARM")
    assert both["patronymic"] == "Ашотович"  # only the citizens register holds it
    assert both["registration_region"] == "KZ-75"


@pytest.mark.parametrize(
    ("matches", "holds", "status"),
    [
        ([], "no", None),
        ([citizen("active")], "yes", "active"),
        ([citizen("deceased")], "yes", "deceased"),
        ([citizen("renounced")], "no", "renounced"),
        ([citizen("lost")], "no", "lost"),
        ([citizen("active"), citizen("renounced")], "unknown", None),
    ],
)
def test_citizenship_findings(matches: list[Citizen], holds: str, status: str | None) -> None:
    finding = citizenship_finding(3, matches)
    assert (finding.person, finding.holds, finding.status) == (3, holds, status)
    assert finding.since is None
