"""A linkage run's proposal: its body, and screening against the agreement's linkage section."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from migrex.agreements import load_agreement
from migrex.casework import BreachKind, FlagKind, parse_body, request_of, screen
from migrex.casework.kinds import KINDS
from migrex.casework.messages import LinkageRunProposal, MessageInvalid
from migrex.casework.requesting import openings
from migrex.linkage.runs import HARDENING_VERSION

AGREEMENTS = Path(__file__).resolve().parents[3] / "agreements"
KZ_AM = load_agreement(AGREEMENTS / "kz-am-2024.toml")
KZ_KG = load_agreement(AGREEMENTS / "kz-kg-example.toml")
PROPOSAL: dict[str, Any] = {
    "run_id": "run-000000000001", "purpose": "combat-dual-citizenship",
    "fields": ["surname", "given_name", "birth_date", "sex"], "period_start": "2025-01-01",
    "period_end": "2025-12-31", "hardening_version": "migrex-bloom/3", "threshold": 0.82,
    "candidates_to": ["kz-mia", "am-mcs"], "unit": "kz-am-lu",
    "key_ids": {"am-mcs": "a" * 43, "kz-mia": "b" * 43},
}  # fmt: skip


def screened(agreement: Any = KZ_AM, **changes: Any) -> Any:
    body = parse_body("linkage-run-proposal", {**PROPOSAL, **changes})
    assert isinstance(body, LinkageRunProposal)
    request = request_of(body, sender="am-mcs", recipient="kz-mia")
    return screen(agreement, request, disclosed_in_period=0)


def test_a_proposal_carries_no_person_and_is_opened_by_its_own_step() -> None:
    kind = KINDS["linkage-run-proposal"]
    assert not kind.personal and kind.category == "record-linkage" and not kind.offered
    assert not KINDS["linkage-run-acceptance"].personal
    # The generic request form does not offer it: a run's keys are recorded by its own step.
    assert "record-linkage" not in {o.category.id for o in openings(KZ_AM, "am-mcs", "kz-mia")}


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"period_end": "2024-12-31"}, ""),
        ({"fields": ["surname", "surname"]}, "fields"),
        ({"fields": []}, "fields"),
        ({"threshold": 0}, "threshold"),
        ({"key_ids": {"am-mcs": "a" * 43}}, "key_ids"),
        ({"key_ids": {"am-mcs": "short", "kz-mia": "b" * 43}}, "key_ids.am-mcs"),
        ({"persons": [{"surname": "X"}]}, "persons"),
    ],
)
def test_a_malformed_proposal_is_invalid(changes: dict[str, Any], where: str) -> None:
    with pytest.raises(MessageInvalid) as caught:
        parse_body("linkage-run-proposal", {**PROPOSAL, **changes})
    assert where in {p.where for p in caught.value.problems}


def test_a_proposal_on_the_agreements_terms_passes_clear() -> None:
    assert screened().clear


def test_fields_outside_the_linkage_section_are_a_breach_with_the_agreements_ground() -> None:
    found = screened(fields=["surname", "document_number", "national_id"])
    [breach] = found.breaches
    assert breach.kind is BreachKind.FIELDS_OUTSIDE_PROFILE
    assert "document_number, national_id" in breach.detail
    assert breach.proposed_ground.id == KZ_AM.screening["fields-outside-profile"]


def test_laxer_terms_are_doubts_for_the_reviewer() -> None:
    found = screened(threshold=0.5, candidates_to=["am-mcs", "am-police"])
    assert found.passed
    assert [f.kind for f in found.flags] == [FlagKind.LINKAGE_TERMS_DIFFER] * 2


def test_another_hardening_or_unit_than_the_agreements_is_a_doubt() -> None:
    found = screened(hardening_version="migrex-bloom/1", unit="elsewhere")
    assert found.passed
    details = [f.detail for f in found.flags]
    assert [f.kind for f in found.flags] == [FlagKind.LINKAGE_TERMS_DIFFER] * 2, details
    assert any("migrex-bloom/3" in d for d in details) and any("kz-am-lu" in d for d in details)


def test_an_agreement_without_linkage_refuses_every_run() -> None:
    found = screened(KZ_KG)
    kinds = {b.kind for b in found.breaches}
    assert BreachKind.CATEGORY_NOT_ALLOWED in kinds and not found.passed


def test_the_agreement_names_the_hardening_this_encoder_makes() -> None:
    # A new encoder version is a new term of the agreement: proposals would be flagged.
    assert KZ_AM.linkage is not None and KZ_AM.linkage.hardening == HARDENING_VERSION
