"""Checks that span sections of an agreement file: every reference resolves, every state is
real and a party, dates are in order, and every configuration path names something.

Each check adds to one collector instead of raising, so the author of a file sees all of its
problems in one run; each problem names the key path where the fix belongs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import timedelta

import pycountry

from migrex.agreements.codelists import DIMENSIONS, POPULATIONS, codelists
from migrex.agreements.model import (
    KNOWN_CATEGORIES,
    LINKAGE_FIELDS,
    PERSON_FIELDS,
    SCREENING_BREACHES,
)
from migrex.agreements.paths import document_paths, join_path, path_matches, split_path
from migrex.agreements.schemas import AgreementSchema, DatasetSchema
from migrex.errors import Problem, ProblemCollector


def check(schema: AgreementSchema, available: Collection[str] | None = None) -> list[Problem]:
    """Every cross-reference problem of a file (empty: none).

    `available` names the top-level sections that passed the schema (default: all of them);
    a check that needs a broken section is skipped, so the rest can still be reported.
    """
    usable = set(AgreementSchema.model_fields) if available is None else set(available)
    out = ProblemCollector()
    for run, needs in _CHECKS:
        if needs <= usable:
            run(schema, out)
    return out.problems


def check_provenance(document: Mapping[str, object]) -> list[Problem]:
    """Configuration paths that are malformed or name nothing in the file.

    Works on the raw document, so these are reported even when the structure is broken.
    """
    out = ProblemCollector()
    provenance = document.get("provenance")
    patterns = provenance.get("configuration") if isinstance(provenance, Mapping) else None
    if not isinstance(patterns, list):
        return []
    existing = set(document_paths(document))
    for i, pattern in enumerate(patterns):
        if not isinstance(pattern, str):
            continue  # the schema reports the wrong type
        where = f"provenance.configuration[{i}]"
        try:
            wanted = split_path(pattern)
        except ValueError:
            out.add(where, f"{pattern!r} is not a key path such as deadlines.violations.urgent")
            continue
        if not any(path_matches(wanted, path) for path in existing):
            out.add(where, f"{pattern!r} names no key in this file")
        if patterns.index(pattern) != i:
            out.add(where, f"{pattern!r} is listed twice")
    return out.problems


def _is_state(code: str) -> bool:
    # pycountry matches case-insensitively; the file must use the canonical upper case.
    return len(code) == 2 and code.isupper() and pycountry.countries.get(alpha_2=code) is not None


def _state(out: ProblemCollector, where: str, code: str, parties: set[str] | None) -> None:
    if not _is_state(code):
        out.add(where, f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    elif parties is not None and code not in parties:
        out.add(where, f"{code} is not a party to this agreement")


def _unique(
    out: ProblemCollector, where: str, values: Iterable[str], what: str, suffix: str = ""
) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            out.add(f"{where}[{i}]{suffix}", f"{what} {value!r} is listed twice")
        seen.add(value)


def _parties(schema: AgreementSchema, out: ProblemCollector) -> None:
    for i, party in enumerate(schema.parties):
        _state(out, f"parties[{i}].state", party.state, None)
    _unique(out, "parties", (p.state for p in schema.parties), "party", ".state")


def _party_states(schema: AgreementSchema) -> set[str]:
    return {p.state for p in schema.parties}


def _dates(schema: AgreementSchema, out: ProblemCollector) -> None:
    parties = _party_states(schema)
    signed = schema.signed.on
    for i, ratification in enumerate(schema.ratifications):
        _state(out, f"ratifications[{i}].state", ratification.state, parties)
        if ratification.on < signed:
            out.add(f"ratifications[{i}].on", f"before the signature on {signed}")
    if schema.validity.from_ < signed:
        out.add("validity.from", f"before the signature on {signed}")
    if schema.validity.until is not None and schema.validity.until < schema.validity.from_:
        out.add("validity.until", f"before the start of validity on {schema.validity.from_}")


def _authorities(schema: AgreementSchema, out: ProblemCollector) -> None:
    parties = _party_states(schema)
    seen: set[str] = set()
    for i, authority in enumerate(schema.authorities):
        where = f"authorities[{i}]"
        if authority.id in seen:
            out.add(f"{where}.id", f"authority id {authority.id!r} is used twice")
        seen.add(authority.id)
        _state(out, f"{where}.state", authority.state, parties)
        for language in authority.names:
            if pycountry.languages.get(alpha_2=language) is None or not language.islower():
                out.add(
                    join_path(("authorities", i, "names", language)),
                    "not an ISO 639-1 language code",
                )
        if "en" not in authority.names:
            out.add(f"{where}.names.en", "an English name is required")
        if authority.original_language not in authority.names:
            language = authority.original_language
            missing = join_path(("authorities", i, "names", language))
            out.add(missing, f"required: the name in the original language {language!r}")
    for i, party in enumerate(schema.parties):
        if not any(a.state == party.state for a in schema.authorities):
            out.add(f"parties[{i}]", f"{party.state} has no competent authority")


def _categories(schema: AgreementSchema, out: ProblemCollector) -> None:
    state = {a.id: a.state for a in schema.authorities}
    for key, category in schema.categories.items():
        where = join_path(("categories", key))
        if key not in KNOWN_CATEGORIES:
            out.add(where, f"unknown category; known: {', '.join(sorted(KNOWN_CATEGORIES))}")
        for side, ids in (("senders", category.senders), ("receivers", category.receivers)):
            for i, authority in enumerate(ids):
                if authority not in state:
                    out.add(f"{where}.{side}[{i}]", f"unknown authority {authority!r}")
            _unique(out, f"{where}.{side}", ids, "authority")
        if not any(
            state[s] != state[r]
            for s in category.senders
            for r in category.receivers
            if s in state and r in state
        ):
            out.add(where, "no sender and receiver belong to different parties")


def _purposes(schema: AgreementSchema, out: ProblemCollector) -> None:
    for key, purpose in schema.purposes.items():
        where = join_path(("purposes", key))
        personal = False
        for i, category in enumerate(purpose.categories):
            if category not in schema.categories:
                out.add(f"{where}.categories[{i}]", f"unknown category {category!r}")
            elif schema.categories[category].personal_data:
                personal = True
        _unique(out, f"{where}.categories", purpose.categories, "category")
        if purpose.profile is None:
            if personal:
                out.add(
                    f"{where}.profile", "required: the purpose's categories carry personal data"
                )
        elif purpose.profile not in schema.profiles:
            out.add(f"{where}.profile", f"unknown data profile {purpose.profile!r}")
        elif not personal:
            out.add(f"{where}.profile", "none of the purpose's categories carries personal data")
        if purpose.hit_no_hit_first and purpose.profile is None:
            out.add(f"{where}.hit_no_hit_first", "only a purpose with a data profile can use it")
    covered = {c for p in schema.purposes.values() for c in p.categories}
    for key, entry in schema.categories.items():
        if entry.personal_data and key not in covered:
            out.add(join_path(("categories", key)), "carries personal data but no purpose uses it")


def _profiles(schema: AgreementSchema, out: ProblemCollector) -> None:
    for key, profile in schema.profiles.items():
        where = join_path(("profiles", key, "fields"))
        for i, name in enumerate(profile.fields):
            if name not in PERSON_FIELDS:
                out.add(f"{where}[{i}]", f"unknown person field {name!r}")
        _unique(out, where, profile.fields, "field")


def _screening(schema: AgreementSchema, out: ProblemCollector) -> None:
    for breach, ground in schema.screening.items():
        where = join_path(("screening", breach))
        if breach not in SCREENING_BREACHES:
            out.add(where, f"unknown breach; known: {', '.join(sorted(SCREENING_BREACHES))}")
        if ground not in schema.refusal_grounds:
            out.add(where, f"unknown refusal ground {ground!r}")
    for breach in sorted(SCREENING_BREACHES - schema.screening.keys()):
        out.add(f"screening.{breach}", "required key is missing")


def _data_protection(schema: AgreementSchema, out: ProblemCollector) -> None:
    parties = _party_states(schema)
    dp = schema.data_protection
    state = {a.id: a.state for a in schema.authorities}
    for i, body in enumerate(dp.responsible):
        where = f"data_protection.responsible[{i}]"
        _state(out, f"{where}.state", body.state, parties)
        for j, authority in enumerate(body.authorities):
            if authority not in state:
                out.add(f"{where}.authorities[{j}]", f"unknown authority {authority!r}")
            elif state[authority] != body.state:
                out.add(f"{where}.authorities[{j}]", f"{authority!r} is not in {body.state}")
    for party in schema.parties:
        if all(body.state != party.state for body in dp.responsible):
            out.add("data_protection.responsible", f"no responsible body for {party.state}")
    if dp.volume.max_persons_per_period < dp.volume.max_persons_per_request:
        out.add(
            "data_protection.volume.max_persons_per_period",
            "smaller than the limit for a single request",
        )


def _deadlines(schema: AgreementSchema, out: ProblemCollector) -> None:
    for key, deadline in schema.deadlines.items():
        if key not in schema.categories:
            out.add(join_path(("deadlines", key)), f"no category {key!r} in this agreement")
        elif deadline.urgent > deadline.normal:
            out.add(
                join_path(("deadlines", key, "urgent")),
                f"longer than the normal deadline ({_days(deadline.normal)})",
            )
    for key in (k for k in schema.categories if k not in schema.deadlines):
        out.add(join_path(("deadlines", key)), "required: every category needs deadlines")


def _reference_figures(schema: AgreementSchema, out: ProblemCollector) -> None:
    for i, figure in enumerate(schema.reference_figures):
        _state(out, f"reference_figures[{i}].citizenship", figure.citizenship, None)
        _state(out, f"reference_figures[{i}].host_state", figure.host_state, None)
    figures = (f.id for f in schema.reference_figures)
    _unique(out, "reference_figures", figures, "figure id", ".id")


def _datasets(schema: AgreementSchema, out: ProblemCollector) -> None:
    parties = _party_states(schema)
    state = {a.id: a.state for a in schema.authorities}
    for key, dataset in schema.statistics.datasets.items():
        where = join_path(("statistics", "datasets", key))
        if dataset.population not in POPULATIONS:
            known = ", ".join(sorted(POPULATIONS))
            out.add(f"{where}.population", f"unknown population {dataset.population!r} ({known})")
        _state(out, f"{where}.host_state", dataset.host_state, parties)
        if dataset.citizenship is not None:
            _state(out, f"{where}.citizenship", dataset.citizenship, None)
        if dataset.producer not in state:
            out.add(f"{where}.producer", f"unknown authority {dataset.producer!r}")
        elif state[dataset.producer] != dataset.host_state:
            out.add(f"{where}.producer", f"{dataset.producer!r} is not in {dataset.host_state}")
        for dimension, codelist in dataset.dimensions.items():
            _dataset_dimension(out, f"{where}.dimensions.{dimension}", dataset, dimension, codelist)
        for i, table in enumerate(dataset.tables):
            if not table:
                out.add(f"{where}.tables[{i}]", "a table needs at least one dimension")
            for j, dimension in enumerate(table):
                if dimension not in dataset.dimensions:
                    out.add(f"{where}.tables[{i}][{j}]", f"{dimension!r} is not a dimension here")
            _unique(out, f"{where}.tables[{i}]", table, "dimension")
        _unique(out, f"{where}.tables", (",".join(sorted(t)) for t in dataset.tables), "table")


def _dataset_dimension(
    out: ProblemCollector, where: str, dataset: DatasetSchema, dimension: str, codelist: str
) -> None:
    kind = DIMENSIONS.get(dimension)
    if kind is None:
        out.add(where, f"unknown dimension {dimension!r} ({', '.join(DIMENSIONS)})")
    elif codelist not in codelists():
        out.add(where, f"unknown codelist {codelist!r}")
    elif dataset.population in POPULATIONS and dataset.population not in kind.populations:
        out.add(where, f"{dataset.population} records carry no {dimension}")
    elif codelist not in kind.codelists(dataset.host_state):
        admissible = ", ".join(kind.codelists(dataset.host_state))
        out.add(where, f"{dimension} is coded with {admissible}, not {codelist}")


def _days(span: timedelta) -> str:
    return f"{span.total_seconds() / 86400:g} days"


# Each check with the top-level sections it reads; it runs only when all of them are valid.
LINKAGE_CATEGORY = "record-linkage"


def _linkage(schema: AgreementSchema, out: ProblemCollector) -> None:
    linkage = schema.linkage
    if linkage is None:
        return
    purpose = schema.purposes.get(linkage.purpose)
    if purpose is None:
        out.add("linkage.purpose", f"unknown purpose {linkage.purpose!r}")
    elif LINKAGE_CATEGORY not in purpose.categories:
        out.add("linkage.purpose", f"the purpose does not cover {LINKAGE_CATEGORY} information")
    if LINKAGE_CATEGORY not in schema.categories:
        out.add("linkage", f"needs the {LINKAGE_CATEGORY} category, in which runs are proposed")
    for i, name in enumerate(linkage.fields):
        if name not in LINKAGE_FIELDS:
            known = ", ".join(sorted(LINKAGE_FIELDS))
            out.add(f"linkage.fields[{i}]", f"unknown linkage field {name!r}; known: {known}")
    _unique(out, "linkage.fields", linkage.fields, "field")
    ids = {a.id for a in schema.authorities}
    for i, authority in enumerate(linkage.candidates_to):
        if authority not in ids:
            out.add(f"linkage.candidates_to[{i}]", f"unknown authority {authority!r}")
    _unique(out, "linkage.candidates_to", linkage.candidates_to, "authority")
    if linkage.unit is not None and linkage.unit in ids:
        # The unit is no competent authority: no category may name it, so no request, notice
        # or personal data can be addressed to it; it only receives encodings.
        out.add("linkage.unit", f"{linkage.unit!r} is a competent authority, not a linkage unit")


_CHECKS: tuple[tuple[Callable[[AgreementSchema, ProblemCollector], None], frozenset[str]], ...] = (
    (_parties, frozenset({"parties"})),
    (_dates, frozenset({"signed", "validity", "ratifications", "parties"})),
    (_authorities, frozenset({"authorities", "parties"})),
    (_categories, frozenset({"categories", "authorities"})),
    (_purposes, frozenset({"purposes", "categories", "profiles"})),
    (_profiles, frozenset({"profiles"})),
    (_screening, frozenset({"screening", "refusal_grounds"})),
    (_data_protection, frozenset({"data_protection", "parties", "authorities"})),
    (_deadlines, frozenset({"deadlines", "categories"})),
    (_reference_figures, frozenset({"reference_figures"})),
    (_datasets, frozenset({"statistics", "parties", "authorities"})),
    (_linkage, frozenset({"linkage", "purposes", "categories", "authorities"})),
)
