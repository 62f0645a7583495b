"""What a new request's form may offer, read from the agreements: for every pair of
authorities of both agreement files, exactly the categories the agreement lets the one send
the other (each with the type that opens its case), the purposes that cover each, and the
purpose's profile fields — so a form built from it offers nothing the gate refuses outright."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pytest

from migrex.agreements import Agreement, load_agreement
from migrex.casework.kinds import KINDS
from migrex.casework.requesting import askable_fields, opening_type, openings, partners_of

AGREEMENTS = Path(__file__).resolve().parents[3] / "agreements"
FILES = [load_agreement(AGREEMENTS / name) for name in ("kz-am-2024.toml", "kz-kg-example.toml")]


@pytest.mark.parametrize("agreement", FILES, ids=lambda a: a.id)
def test_openings_are_exactly_what_the_agreement_allows(agreement: Agreement) -> None:
    for sender, recipient in product(agreement.authorities, repeat=2):
        offered = {o.category.id: o for o in openings(agreement, sender, recipient)}
        allowed = {c for c in agreement.categories if agreement.may_send(c, sender, recipient)}
        assert set(offered) == {c for c in allowed if opening_type(c) is not None}
        for category, opening in offered.items():
            kind = KINDS[opening.type]
            assert kind.opens_case and kind.category == category
            assert opening.purposes == tuple(
                p for p in agreement.purposes.values() if category in p.categories
            )
        assert (recipient in partners_of(agreement, sender)) == bool(allowed)


@pytest.mark.parametrize("agreement", FILES, ids=lambda a: a.id)
def test_the_fields_to_ask_for_are_the_purposes_profile(agreement: Agreement) -> None:
    for purpose in agreement.purposes:
        fields = askable_fields(agreement, purpose)
        assert fields == sorted(fields)
        assert not agreement.fields_outside_profile(purpose, fields)
        assert set(fields) == set(agreement.fields_allowed(purpose))


def test_no_authority_sends_to_its_own_state() -> None:
    kz_am = FILES[0]
    assert openings(kz_am, "kz-mia", "kz-mlsp") == []
    assert "kz-mlsp" not in partners_of(kz_am, "kz-mia")
    assert "citizenship-verification" not in {
        o.category.id for o in openings(kz_am, "am-police", "kz-mia")
    }  # only kz-mia and am-mcs send citizenship verifications


def test_a_category_without_an_opening_kind_has_no_type() -> None:
    assert opening_type("persons-present") == "person-inquiry"
    assert opening_type("no-such-category") is None
