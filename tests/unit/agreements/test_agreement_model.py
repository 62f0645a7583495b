"""The questions the node asks of an agreement, answered from the shipped files."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrex.agreements import (
    KNOWN_CATEGORIES,
    PERSON_FIELDS,
    Agreement,
    Urgency,
    agreements_of,
    load_agreement,
)
from migrex.agreements.paths import join_path, path_matches, split_path
from migrex.errors import NotFound

AGREEMENTS = Path(__file__).resolve().parents[3] / "agreements"
KZ_AM = load_agreement(AGREEMENTS / "kz-am-2024.toml")
KZ_KG = load_agreement(AGREEMENTS / "kz-kg-example.toml")


def test_the_report_s_facts_are_in_the_file() -> None:
    assert {p.state for p in KZ_AM.parties} == {"KZ", "AM"}
    assert (KZ_AM.signed_on, KZ_AM.signed_at) == (date(2024, 4, 15), "Yerevan")
    (ratification,) = KZ_AM.ratifications
    assert (ratification.state, ratification.on) == ("KZ", date(2025, 9, 3))
    assert "Mazhilis" in ratification.body
    assert set(KZ_AM.authorities) == {"kz-mia", "kz-mlsp", "am-police", "am-mcs"}
    assert set(KZ_AM.categories) == KNOWN_CATEGORIES
    assert {"combat-dual-citizenship", "suppress-illegal-migration-channels"} <= set(KZ_AM.purposes)
    assert {"sovereignty", "security", "national-legislation"} <= set(KZ_AM.refusal_grounds)
    protection = KZ_AM.data_protection
    assert protection.article == "Article 11"
    assert protection.protected_channel_required
    assert protection.requested_party_may_verify
    assert {body.state for body in protection.responsible} == {"KZ", "AM"}
    figures = {f.year: f.value for f in KZ_AM.reference_figures}
    assert figures == {2024: 2623, 2025: 2134}
    assert not KZ_AM.hypothetical
    assert KZ_KG.hypothetical


@pytest.mark.parametrize(
    "path",
    [
        "deadlines.persons-present.urgent",
        "data_protection.retention",
        "data_protection.volume.max_persons_per_request",
        "data_protection.volume.max_persons_per_period",
        "statistics.disclosure_threshold",
        "statistics.protection_interval",
        "refusal_grounds.security.article",
        "refusal_grounds.out-of-scope",
        "refusal_grounds.out-of-scope.description",
        "categories.persons-present.senders",
        "categories.citizenship-verification",
        "profiles.citizenship-check.fields",
        "purposes.combat-dual-citizenship.hit_no_hit_first",
        "exchange.max_envelope_bytes",
        "validity.from",
    ],
)
def test_values_the_report_does_not_give_are_configuration(path: str) -> None:
    assert KZ_AM.is_configuration(path)


@pytest.mark.parametrize(
    "path",
    [
        "signed.on",
        "authorities[3].names.hy",
        "categories.persons-present.title",
        "refusal_grounds.security.description",
        "data_protection.article",
        "data_protection.protected_channel_required",
        "data_protection.responsible[0].authorities",
        "reference_figures[1].value",
        "purposes.combat-dual-citizenship.description",
    ],
)
def test_sourced_facts_are_not_configuration(path: str) -> None:
    assert not KZ_AM.is_configuration(path)


def test_has_configuration_looks_inside_a_table() -> None:
    assert KZ_AM.has_configuration("refusal_grounds")
    assert KZ_AM.has_configuration("categories.statistical")
    assert not KZ_AM.has_configuration("reference_figures")


def test_authority_lookup() -> None:
    mcs = KZ_AM.authority("am-mcs")
    assert mcs.state == "AM"
    assert mcs.original_language == "hy"
    assert mcs.name_original.startswith("Հայաստանի")
    assert mcs.name_en.startswith("Migration and Citizenship Service")
    assert KZ_AM.authority("kz-mlsp").name_original.startswith("Қазақстан")
    with pytest.raises(NotFound):
        KZ_AM.authority("fr-interior")


def test_authorities_and_partners_by_state() -> None:
    assert [a.id for a in KZ_AM.authorities_of("KZ")] == ["kz-mia", "kz-mlsp"]
    assert [a.id for a in KZ_AM.authorities_of("AM")] == ["am-police", "am-mcs"]
    assert KZ_AM.authorities_of("FR") == ()
    assert KZ_AM.partner_states("KZ") == {"AM"}
    assert KZ_AM.partner_states("AM") == {"KZ"}
    assert KZ_AM.partner_states("FR") == frozenset()


@pytest.mark.parametrize(
    ("category", "sender", "recipient", "allowed"),
    [
        ("persons-present", "am-police", "kz-mia", True),
        ("persons-present", "kz-mlsp", "am-mcs", True),
        ("persons-present", "kz-mia", "am-police", False),  # the police does not receive it
        ("citizenship-verification", "kz-mia", "am-mcs", True),
        ("citizenship-verification", "kz-mlsp", "am-mcs", False),
        ("violations", "kz-mlsp", "am-police", True),
        ("violations", "am-police", "kz-mlsp", False),
        ("statistical", "kz-mia", "kz-mlsp", False),  # same state: not the agreement's business
        ("weather", "kz-mia", "am-mcs", False),
        ("statistical", "kz-mia", "fr-interior", False),
        ("statistical", "fr-interior", "kz-mia", False),
    ],
)
def test_may_send(category: str, sender: str, recipient: str, allowed: bool) -> None:
    assert KZ_AM.may_send(category, sender, recipient) is allowed


def test_profiles_and_fields() -> None:
    assert KZ_AM.profile_for("migration-statistics") is None
    assert KZ_AM.fields_allowed("migration-statistics") == frozenset()
    profile = KZ_AM.profile_for("combat-dual-citizenship")
    assert profile is not None
    assert profile.id == "citizenship-check"
    allowed = KZ_AM.fields_allowed("combat-dual-citizenship")
    assert "citizenship_status" in allowed
    assert "registration_address" not in allowed
    assert allowed <= PERSON_FIELDS
    asked = ["surname", "birth_date", "employer_name", "registration_address"]
    outside = KZ_AM.fields_outside_profile("combat-dual-citizenship", asked)
    assert outside == {"employer_name", "registration_address"}
    with pytest.raises(NotFound):
        KZ_AM.fields_allowed("curiosity")


def test_deadlines() -> None:
    assert KZ_AM.deadline("persons-present") == timedelta(days=30)
    assert KZ_AM.deadline("persons-present", Urgency.NORMAL) == timedelta(days=30)
    assert KZ_AM.deadline("persons-present", Urgency.URGENT) == timedelta(hours=72)
    for category in KZ_AM.categories:
        assert KZ_AM.deadline(category, Urgency.URGENT) <= KZ_AM.deadline(category)
    with pytest.raises(NotFound):
        KZ_AM.deadline("weather")
    # The Kyrgyz example has no citizenship verification at all.
    with pytest.raises(NotFound):
        KZ_KG.deadline("citizenship-verification")


def test_refusal_grounds_and_screening() -> None:
    assert KZ_AM.refusal_ground("security").article
    assert KZ_AM.proposed_ground("category-not-allowed").id == "out-of-scope"
    assert KZ_AM.proposed_ground("fields-outside-profile").id == "national-legislation"
    with pytest.raises(NotFound):
        KZ_AM.refusal_ground("boredom")
    with pytest.raises(NotFound):
        KZ_AM.proposed_ground("bad-mood")


def test_validity() -> None:
    assert not KZ_AM.is_in_force(date(2024, 4, 15))
    assert KZ_AM.is_in_force(date(2030, 1, 1))
    assert KZ_KG.is_in_force(date(2025, 1, 1))
    assert not KZ_KG.is_in_force(date(2029, 1, 1))


def test_one_node_serves_several_agreements() -> None:
    both = (KZ_AM, KZ_KG)
    assert agreements_of("kz-mia", both) == both
    assert agreements_of("am-mcs", both) == (KZ_AM,)
    assert agreements_of("kg-mvd", both) == (KZ_KG,)
    # The same Kazakh ministry has different rights under each agreement.
    assert KZ_AM.may_send("persons-present", "kz-mia", "am-mcs")
    assert not KZ_KG.may_send("persons-present", "kz-mia", "kg-migration")
    assert KZ_KG.may_send("persons-present", "kz-mlsp", "kg-migration")
    assert KZ_KG.data_protection.volume.max_persons_per_request < (
        KZ_AM.data_protection.volume.max_persons_per_request
    )


def test_an_agreement_cannot_be_changed_after_loading() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        KZ_AM.version = "2"  # type: ignore[misc]
    with pytest.raises(TypeError):
        KZ_AM.authorities["kz-evil"] = KZ_AM.authority("kz-mia")  # type: ignore[index]
    assert isinstance(hash(KZ_AM), int)
    assert load_agreement(AGREEMENTS / "kz-am-2024.toml") == KZ_AM
    assert isinstance(KZ_AM, Agreement)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("refusal_grounds.*.article", "refusal_grounds.security.article", True),
        ("refusal_grounds.*.article", "refusal_grounds.security", False),
        ("authorities[*].role", "authorities[3].role", True),
        ("authorities[*].role", "authorities.x.role", False),
        ("authorities.*.role", "authorities[3].role", True),
        ("data_protection.responsible[1]", "data_protection.responsible[0]", False),
    ],
)
def test_path_patterns(pattern: str, path: str, matches: bool) -> None:
    assert path_matches(split_path(pattern), split_path(path)) is matches


@pytest.mark.parametrize("bad", ["", "a..b", "a[x]", "a b", "a.[0]", "a]"])
def test_malformed_paths_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="malformed"):
        split_path(bad)


keys = st.from_regex(r"[A-Za-z0-9_-]{1,8}", fullmatch=True)
locs = st.tuples(keys, st.lists(st.one_of(keys, st.integers(0, 99)), max_size=6))


@given(locs)
def test_error_paths_read_back_as_the_same_segments(loc: tuple[str, list[str | int]]) -> None:
    parts = (loc[0], *loc[1])
    expected = tuple(f"[{p}]" if isinstance(p, int) else p for p in parts)
    assert split_path(join_path(parts)) == expected
