"""Loading agreement files: the shipped ones pass, every kind of broken one fails with the
key path of what is wrong, and nothing but AgreementInvalid ever escapes."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from types import UnionType
from typing import Any, get_args, get_origin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from migrex.agreements import (
    check_agreement_set,
    load_agreement,
    load_agreements,
    loads_agreement,
    parse_agreement,
)
from migrex.agreements.loader import MAX_AGREEMENT_BYTES
from migrex.agreements.paths import join_path
from migrex.agreements.schemas import AgreementSchema
from migrex.errors import AgreementInvalid

AGREEMENTS = Path(__file__).resolve().parents[3] / "agreements"
KZ_AM_FILE = AGREEMENTS / "kz-am-2024.toml"
KZ_KG_FILE = AGREEMENTS / "kz-kg-example.toml"
KZ_AM_DOC: dict[str, Any] = tomllib.loads(KZ_AM_FILE.read_text(encoding="utf-8"))

Loc = tuple[str | int, ...]


def wheres(error: pytest.ExceptionInfo[AgreementInvalid]) -> list[str]:
    return [p.where for p in error.value.problems]


def broken(mutate: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    document = copy.deepcopy(KZ_AM_DOC)
    mutate(document)
    return document


def test_both_shipped_files_load() -> None:
    assert load_agreement(KZ_AM_FILE).id == "kz-am-2024"
    assert load_agreement(KZ_KG_FILE).id == "kz-kg-example"
    assert set(load_agreements([KZ_AM_FILE, KZ_KG_FILE])) == {"kz-am-2024", "kz-kg-example"}


def _set(path: Loc, value: object) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        node: Any = document
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return mutate


def _delete(path: Loc) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        node: Any = document
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return mutate


BROKEN_COPIES = {
    "unknown sender": (
        _set(("categories", "persons-present", "senders", 1), "kz-nobody"),
        "categories.persons-present.senders[1]",
    ),
    "unknown responsible authority": (
        _set(("data_protection", "responsible", 1, "authorities", 0), "am-army"),
        "data_protection.responsible[1].authorities[0]",
    ),
    "authority of the wrong state is responsible": (
        _set(("data_protection", "responsible", 0, "authorities", 0), "am-mcs"),
        "data_protection.responsible[0].authorities[0]",
    ),
    "country code that does not exist": (_set(("parties", 1, "state"), "XA"), "parties[1].state"),
    "alpha-3 country code": (_set(("authorities", 2, "state"), "ARM"), "authorities[2].state"),
    "lower-case country code": (_set(("authorities", 0, "state"), "kz"), "authorities[0].state"),
    "authority of a non-party": (_set(("authorities", 0, "state"), "FR"), "authorities[0].state"),
    "unknown person field": (
        _set(("profiles", "citizenship-check", "fields", 0), "shoe_size"),
        "profiles.citizenship-check.fields[0]",
    ),
    "missing required key": (_delete(("signed", "on")), "signed.on"),
    "missing required section": (_delete(("data_protection",)), "data_protection"),
    "missing category key": (
        _delete(("categories", "violations", "receivers")),
        "categories.violations.receivers",
    ),
    "unknown key": (_set(("authorities", 0, "colour"), "blue"), "authorities[0].colour"),
    "unknown top-level key": (_set(("colour",), "blue"), "colour"),
    "configuration path that names nothing": (
        _set(("provenance", "configuration", 0), "deadlines.tomorrow"),
        "provenance.configuration[0]",
    ),
    "malformed configuration path": (
        _set(("provenance", "configuration", 1), "deadlines..urgent"),
        "provenance.configuration[1]",
    ),
    "duplicate authority id": (_set(("authorities", 1, "id"), "kz-mia"), "authorities[1].id"),
    "date that is a string": (_set(("signed", "on"), "2024-13-01"), "signed.on"),
    "ratified before signed": (
        _set(("ratifications", 0, "on"), date(2020, 1, 1)),
        "ratifications[0].on",
    ),
    "valid until before valid from": (
        _set(("validity", "until"), date(2025, 1, 1)),
        "validity.until",
    ),
    "unknown category in a purpose": (
        _set(("purposes", "assistance", "categories", 0), "gossip"),
        "purposes.assistance.categories[0]",
    ),
    "unknown profile in a purpose": (
        _set(("purposes", "assistance", "profile"), "everything"),
        "purposes.assistance.profile",
    ),
    "personal data purpose without a profile": (
        _delete(("purposes", "assistance", "profile")),
        "purposes.assistance.profile",
    ),
    "unknown refusal ground": (
        _set(("screening", "volume-exceeded"), "bad-mood"),
        "screening.volume-exceeded",
    ),
    "screening breach missing": (
        _delete(("screening", "volume-exceeded")),
        "screening.volume-exceeded",
    ),
    "unknown category": (
        _set(("categories", "weather"), KZ_AM_DOC["categories"]["legal"]),
        "categories.weather",
    ),
    "category without deadlines": (_delete(("deadlines", "legal")), "deadlines.legal"),
    "urgent slower than normal": (
        _set(("deadlines", "legal", "urgent"), "P90D"),
        "deadlines.legal.urgent",
    ),
    "duration that is not ISO 8601": (
        _set(("data_protection", "retention"), "one year"),
        "data_protection.retention",
    ),
    "zero duration": (_set(("data_protection", "retention"), "P0D"), "data_protection.retention"),
    "number as a string": (
        _set(("statistics", "disclosure_threshold"), "5"),
        "statistics.disclosure_threshold",
    ),
    "protection interval of zero": (
        _set(("statistics", "protection_interval"), 0),
        "statistics.protection_interval",
    ),
    "protection interval as a string": (
        _set(("statistics", "protection_interval"), "5"),
        "statistics.protection_interval",
    ),
    "bad language code": (
        _set(("authorities", 0, "names", "zz"), "Zzz"),
        "authorities[0].names.zz",
    ),
    "missing original-language name": (
        _delete(("authorities", 3, "names", "hy")),
        "authorities[3].names.hy",
    ),
    "bad id": (_set(("categories", "Legal Info"), {}), 'categories."Legal Info"'),
    "dataset with an unknown dimension": (
        _set(("statistics", "datasets", "am-workers-in-kz", "dimensions", "shoe_size"), "CL_SEX"),
        "statistics.datasets.am-workers-in-kz.dimensions.shoe_size",
    ),
    "dataset with an unknown codelist": (
        _set(("statistics", "datasets", "am-workers-in-kz", "dimensions", "sex"), "CL_GENDER"),
        "statistics.datasets.am-workers-in-kz.dimensions.sex",
    ),
    "dataset dimension coded with the wrong codelist": (
        _set(
            ("statistics", "datasets", "am-workers-in-kz", "dimensions", "region"), "CL_REGION_AM"
        ),
        "statistics.datasets.am-workers-in-kz.dimensions.region",
    ),
    "dataset breakdown its records do not carry": (
        _set(("statistics", "datasets", "violations-in-kz", "dimensions", "sex"), "CL_SEX"),
        "statistics.datasets.violations-in-kz.dimensions.sex",
    ),
    "dataset table naming another dimension": (
        _set(("statistics", "datasets", "am-workers-in-kz", "tables", 0, 1), "purpose"),
        "statistics.datasets.am-workers-in-kz.tables[0][1]",
    ),
    "dataset of an unknown population": (
        _set(("statistics", "datasets", "am-workers-in-kz", "population"), "tourists"),
        "statistics.datasets.am-workers-in-kz.population",
    ),
    "dataset produced abroad": (
        _set(("statistics", "datasets", "am-workers-in-kz", "producer"), "am-mcs"),
        "statistics.datasets.am-workers-in-kz.producer",
    ),
    "linkage on a field no encoding has": (
        _set(("linkage", "fields", 1), "document_number"),
        "linkage.fields[1]",
    ),
    "linkage for a purpose without the record-linkage category": (
        _set(("linkage", "purpose"), "assistance"),
        "linkage.purpose",
    ),
    "linkage candidates for an unknown authority": (
        _set(("linkage", "candidates_to", 0), "kz-nobody"),
        "linkage.candidates_to[0]",
    ),
    "linkage threshold above one": (_set(("linkage", "threshold"), 1.5), "linkage.threshold"),
    "a competent authority as the linkage unit": (
        _set(("linkage", "unit"), "kz-mia"),
        "linkage.unit",
    ),
}


def test_the_linkage_section_is_optional_and_read() -> None:
    assert load_agreement(KZ_KG_FILE).linkage is None
    linkage = load_agreement(KZ_AM_FILE).linkage
    assert linkage is not None and linkage.purpose == "combat-dual-citizenship"
    assert linkage.unit == "kz-am-lu" and linkage.candidates_to == {"kz-mia", "am-mcs"}
    assert linkage.hardening == "migrex-bloom/3"


@pytest.mark.parametrize("case", sorted(BROKEN_COPIES))
def test_a_broken_copy_names_the_broken_key(case: str) -> None:
    mutate, where = BROKEN_COPIES[case]
    with pytest.raises(AgreementInvalid) as error:
        parse_agreement(broken(mutate), source="broken.toml")
    assert where in wheres(error), error.value.problems
    assert error.value.exit_code == 4
    assert "broken.toml" in error.value.detail


def test_the_protection_interval_defaults_to_the_threshold() -> None:
    def without_interval(document: dict[str, Any]) -> None:
        del document["statistics"]["protection_interval"]
        document["provenance"]["configuration"].remove("statistics.protection_interval")

    document = broken(without_interval)
    document["statistics"]["disclosure_threshold"] = 7
    assert parse_agreement(document, source="default.toml").protection_interval == 7
    document["statistics"]["protection_interval"] = 3
    assert parse_agreement(document, source="set.toml").protection_interval == 3


def test_every_problem_is_reported_at_once() -> None:
    cases = [
        "missing required key",
        "unknown sender",
        "unknown person field",
        "unknown top-level key",
        "malformed configuration path",
    ]

    def mutate(document: dict[str, Any]) -> None:
        for case in cases:
            BROKEN_COPIES[case][0](document)

    with pytest.raises(AgreementInvalid) as error:
        parse_agreement(broken(mutate))
    assert {BROKEN_COPIES[c][1] for c in cases} <= set(wheres(error))


def test_toml_syntax_errors_give_line_and_column(tmp_path: Path) -> None:
    text = KZ_AM_FILE.read_text(encoding="utf-8").replace('at = "Yerevan"', "at = Yerevan")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row == "at = Yerevan")
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(AgreementInvalid) as error:
        load_agreement(bad)
    (problem,) = error.value.problems
    assert problem.where == f"line {line}, column 6"
    assert "TOML syntax" in problem.reason


def test_a_table_declared_twice_is_a_syntax_error() -> None:
    text = KZ_AM_FILE.read_text(encoding="utf-8") + "\n[statistics]\ndisclosure_threshold = 3\n"
    with pytest.raises(AgreementInvalid) as error:
        loads_agreement(text)
    assert wheres(error)[0].startswith("line ")


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ("id = 'x'\n".encode("utf-16"), "byte 0"),
        (b"id = '\xc3\x28'\n", "byte 6"),
        (b"a = " + b"[" * 5000, ""),
        (b"x" * (MAX_AGREEMENT_BYTES + 1), ""),
    ],
    ids=["utf-16", "bad utf-8", "deep nesting", "too large"],
)
def test_unreadable_content(data: bytes, where: str) -> None:
    with pytest.raises(AgreementInvalid) as error:
        loads_agreement(data)
    assert wheres(error)[0].startswith(where)


def test_a_missing_file_or_a_directory_is_invalid(tmp_path: Path) -> None:
    for path in (tmp_path / "absent.toml", tmp_path):
        with pytest.raises(AgreementInvalid) as error:
            load_agreement(path)
        assert "cannot read" in error.value.problems[0].reason


def test_duplicate_agreement_ids_are_rejected() -> None:
    with pytest.raises(AgreementInvalid) as error:
        load_agreements([KZ_AM_FILE, KZ_KG_FILE, KZ_AM_FILE])
    assert wheres(error) == [f"{KZ_AM_FILE}:id"]


def test_a_shared_authority_must_be_in_the_same_state() -> None:
    # Swap the states of the two interior ministries: consistent inside the file, but
    # `kz-mia` would then mean a Kyrgyz body here and a Kazakh one in kz-am-2024.
    document = tomllib.loads(KZ_KG_FILE.read_text(encoding="utf-8"))
    document["authorities"][0]["state"] = "KG"
    document["authorities"][2]["state"] = "KZ"
    document["data_protection"]["responsible"][0]["authorities"] = ["kg-mvd"]
    document["data_protection"]["responsible"][1]["authorities"] = ["kz-mia"]
    swapped = parse_agreement(document)
    problems = check_agreement_set(
        [("kz-am.toml", load_agreement(KZ_AM_FILE)), ("kg.toml", swapped)]
    )
    assert [p.where for p in problems] == ["kg.toml:authorities[0].state"]


def test_problems_of_several_files_name_their_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("id = 1\n", encoding="utf-8")
    with pytest.raises(AgreementInvalid) as error:
        load_agreements([KZ_AM_FILE, bad])
    assert all(w.startswith(f"{bad}:") for w in wheres(error))
    assert f"{bad}:id" in wheres(error)


# ------------------------------------------------------------------ properties


def required_keys(model: type[BaseModel], node: Any, loc: Loc = ()) -> Iterator[Loc]:
    """The key paths in `node` whose schema field has no default."""
    for name, info in model.model_fields.items():
        key = info.alias or name
        if isinstance(node, dict) and key in node:
            if info.is_required():
                yield (*loc, key)
            yield from _required_inside(info.annotation, node[key], (*loc, key))


def _required_inside(annotation: Any, node: Any, loc: Loc) -> Iterator[Loc]:
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield from required_keys(annotation, node, loc)
    elif origin is list:
        for index, item in enumerate(node):
            yield from _required_inside(args[0], item, (*loc, index))
    elif origin is dict:
        for key, value in node.items():
            yield from _required_inside(args[1], value, (*loc, key))
    elif origin is UnionType:
        pass  # only `X | None` here, around plain values


REQUIRED = sorted(required_keys(AgreementSchema, KZ_AM_DOC), key=str)


def test_the_walker_finds_required_keys_at_every_depth() -> None:
    assert ("signed", "on") in REQUIRED
    assert ("categories", "persons-present", "senders") in REQUIRED
    assert ("data_protection", "responsible", 1, "authorities") in REQUIRED
    assert ("provenance", "configuration") not in REQUIRED  # it has a default


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(REQUIRED), min_size=1, max_size=6, unique=True))
def test_deleting_required_keys_names_each_of_them(chosen: list[Loc]) -> None:
    # A key inside another deleted key goes with it; only the outer one can be named.
    outer = [p for p in chosen if not any(p[: len(q)] == q and p != q for q in chosen)]
    document = broken(lambda d: [_delete(path)(d) for path in outer])
    with pytest.raises(AgreementInvalid) as error:
        parse_agreement(document)
    reported = wheres(error)
    for path in outer:
        assert join_path(path) in reported


def _all_keys(node: Any, loc: Loc = ()) -> Iterator[Loc]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*loc, key)
            yield from _all_keys(value, (*loc, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*loc, index)
            yield from _all_keys(value, (*loc, index))


ALL_KEYS = sorted(_all_keys(KZ_AM_DOC), key=str)
toml_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["kz-mia", "am-mcs", "KZ", "AM", "P1D", "surname", "security", "legal"]),
    st.dates(),
    st.lists(st.text(max_size=6), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(ALL_KEYS), toml_values), min_size=1, max_size=4))
def test_any_edit_loads_or_is_invalid_never_crashes(edits: list[tuple[Loc, Any]]) -> None:
    document = copy.deepcopy(KZ_AM_DOC)
    for path, value in edits:
        try:
            if value is None:
                _delete(path)(document)
            else:
                _set(path, value)(document)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced the place
    try:
        parse_agreement(document)
    except AgreementInvalid as error:
        assert error.problems
        assert all(isinstance(p.reason, str) and p.reason for p in error.problems)


@settings(deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_arbitrary_input_is_invalid_never_a_crash(data: str | bytes) -> None:
    with pytest.raises(AgreementInvalid):
        loads_agreement(data)
