"""Codelists and dimensions a dataset can be broken down by.

Codes follow the SDMX cross-domain codelists where one exists (CL_FREQ, CL_SEX, CL_AGE,
CL_AREA with ISO 3166-1 alpha-2, CL_CONF_STATUS, CL_UNIT_MEASURE) so a receiving statistical
office can map them without a lookup table; the rest (occupation major groups of ISCO-08,
permit types, purposes of stay, violation types) are agency codelists of the agreement, built
from the same vocabularies the registries are checked against. `_T` is the total of every
codelist and `_Z` "not applicable" (a worker of an EAEU state needs no permit).

An agreement file names dimensions and codelists by id; both are checked here, so a dataset
that names an unknown one is refused when the agreement loads, not when a release is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

import pycountry

from migrex.agreements.vocabularies import PERMIT_TYPES, PURPOSES_OF_STAY, VIOLATION_TYPES

# The SDMX cross-domain code for "total" (CL_SEX, CL_AGE and the rest use it); statistics
# tables use it for their margins.
TOTAL = "_T"
NOT_APPLICABLE = "_Z"
AGENCY = "MIGREX"


@dataclass(frozen=True)
class Code:
    id: str
    name: str


@dataclass(frozen=True)
class Codelist:
    """One codelist; `agency` is SDMX for the cross-domain lists, MIGREX for the agreement's."""

    id: str
    agency: str
    name: str
    codes: tuple[Code, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(code.id for code in self.codes)


# Age at the end of the reference year, in the SDMX CL_AGE bands used for labour statistics.
AGE_BANDS: tuple[tuple[str, str, int, int | None], ...] = (
    ("Y_LT25", "Under 25 years", 0, 24),
    ("Y25T34", "25 to 34 years", 25, 34),
    ("Y35T44", "35 to 44 years", 35, 44),
    ("Y45T54", "45 to 54 years", 45, 54),
    ("Y55T64", "55 to 64 years", 55, 64),
    ("Y_GE65", "65 years or over", 65, None),
)

ISCO08_MAJOR_GROUPS: tuple[tuple[str, str], ...] = (
    ("OC1", "Managers"),
    ("OC2", "Professionals"),
    ("OC3", "Technicians and associate professionals"),
    ("OC4", "Clerical support workers"),
    ("OC5", "Service and sales workers"),
    ("OC6", "Skilled agricultural, forestry and fishery workers"),
    ("OC7", "Craft and related trades workers"),
    ("OC8", "Plant and machine operators, and assemblers"),
    ("OC9", "Elementary occupations"),
    ("OC0", "Armed forces occupations"),
)


def _total(name: str = "Total") -> Code:
    return Code(TOTAL, name)


def _labelled(values: frozenset[str]) -> tuple[Code, ...]:
    return tuple(Code(v.upper(), v.replace("_", " ").capitalize()) for v in sorted(values))


def _countries() -> tuple[Code, ...]:
    return tuple(
        Code(c.alpha_2, c.name) for c in sorted(pycountry.countries, key=lambda c: c.alpha_2)
    )


def _regions() -> dict[str, list[Code]]:
    """Top-level ISO 3166-2 subdivisions (the registries' regions) by state."""
    regions: dict[str, list[Code]] = {}
    for sub in sorted(pycountry.subdivisions, key=lambda sub: sub.code):
        if sub.parent_code is None:
            regions.setdefault(sub.country_code, []).append(Code(sub.code, sub.name))
    return regions


def _build() -> dict[str, Codelist]:
    lists = [
        Codelist("CL_FREQ", "SDMX", "Frequency", (Code("A", "Annual"),)),
        Codelist("CL_SEX", "SDMX", "Sex", (Code("F", "Female"), Code("M", "Male"), _total())),
        Codelist(
            "CL_AGE", "SDMX", "Age", (*(Code(c, n) for c, n, _, _ in AGE_BANDS), _total("All ages"))
        ),
        Codelist("CL_AREA", "SDMX", "Reference area (ISO 3166-1)", (*_countries(), _total())),
        Codelist(
            "CL_CONF_STATUS",
            "SDMX",
            "Confidentiality status",
            (
                # Only what a release carries outside the producer's store: one code for
                # every blank, so a reader cannot tell a small count from its complement.
                Code("F", "Free"),
                Code("C", "Confidential statistical information"),
            ),
        ),
        Codelist(
            "CL_UNIT_MEASURE",
            "SDMX",
            "Unit of measure",
            (Code("PS", "Persons"), Code("NR", "Number")),
        ),
        Codelist(
            "CL_OCCUPATION",
            AGENCY,
            "Occupation (ISCO-08 major groups)",
            (*(Code(c, n) for c, n in ISCO08_MAJOR_GROUPS), _total("All occupations")),
        ),
        Codelist(
            "CL_PERMIT",
            AGENCY,
            "Permit type",
            (*_labelled(PERMIT_TYPES), Code(NOT_APPLICABLE, "No permit required"), _total()),
        ),
        Codelist(
            "CL_PURPOSE_OF_STAY",
            AGENCY,
            "Purpose of stay",
            (*_labelled(PURPOSES_OF_STAY), _total()),
        ),
        Codelist("CL_VIOLATION", AGENCY, "Violation type", (*_labelled(VIOLATION_TYPES), _total())),
    ]
    names = {country.alpha_2: country.name for country in pycountry.countries}
    for state, regions in _regions().items():
        lists.append(
            Codelist(
                f"CL_REGION_{state}",
                AGENCY,
                f"Regions of {names.get(state, state)} (ISO 3166-2)",
                (*regions, _total()),
            )
        )
    return {codelist.id: codelist for codelist in lists}


@cache
def codelists() -> Mapping[str, Codelist]:
    """Every codelist by id (built once: the ISO lists come from pycountry's database)."""
    return MappingProxyType(_build())


@dataclass(frozen=True)
class DimensionKind:
    """A breakdown a dataset may use: its SDMX concept, the codelists that can code it, and
    the populations whose records carry it."""

    id: str
    concept: str
    name: str
    codelists: Callable[[str], tuple[str, ...]]  # host state -> admissible codelist ids
    populations: frozenset[str]


def _fixed(*ids: str) -> Callable[[str], tuple[str, ...]]:
    return lambda _host: ids


POPULATIONS = frozenset({"workers", "persons-present", "violations"})

DIMENSIONS: Mapping[str, DimensionKind] = MappingProxyType(
    {
        kind.id: kind
        for kind in (
            DimensionKind(
                "region",
                "REGION",
                "Region",
                lambda host: (f"CL_REGION_{host}",),
                POPULATIONS,
            ),
            DimensionKind(
                "sex", "SEX", "Sex", _fixed("CL_SEX"), frozenset({"workers", "persons-present"})
            ),
            DimensionKind(
                "age",
                "AGE",
                "Age group",
                _fixed("CL_AGE"),
                frozenset({"workers", "persons-present"}),
            ),
            DimensionKind(
                "occupation",
                "OCCUPATION",
                "Occupation",
                _fixed("CL_OCCUPATION"),
                frozenset({"workers"}),
            ),
            DimensionKind(
                "permit",
                "PERMIT",
                "Permit type",
                _fixed("CL_PERMIT"),
                frozenset({"workers", "persons-present"}),
            ),
            DimensionKind(
                "citizenship",
                "CITIZENSHIP",
                "Citizenship",
                _fixed("CL_AREA"),
                frozenset({"persons-present", "violations"}),
            ),
            DimensionKind(
                "purpose",
                "PURPOSE",
                "Purpose of stay",
                _fixed("CL_PURPOSE_OF_STAY"),
                frozenset({"persons-present"}),
            ),
            DimensionKind(
                "violation",
                "VIOLATION",
                "Violation type",
                _fixed("CL_VIOLATION"),
                frozenset({"violations"}),
            ),
        )
    }
)


def interior_codes(codelist_id: str) -> tuple[str, ...]:
    """The codes of a codelist without its total: the interior of a table's dimension."""
    return tuple(code for code in codelists()[codelist_id].ids if code != TOTAL)
