"""What each registry file must contain: the columns, their types and the rule each obeys.

This is the contract between a ministry's export (or `migrex synth`) and the importer. It is
data, not code, so the importer, the generator, the documentation and the register tables
(`registry.tables`, built from it) all read the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from migrex.agreements.vocabularies import PERMIT_TYPES, PURPOSES_OF_STAY, VIOLATION_TYPES


class Kind(StrEnum):
    """The registries a node holds about its own territory."""

    PERSONS_PRESENT = "persons_present"  # foreigners present on the state's territory
    EMPLOYMENT = "employment"  # their employment spells
    CITIZENS = "citizens"  # the state's own citizens
    VIOLATIONS = "violations"  # detected violations of migration law


class Type(StrEnum):
    TEXT = "text"
    DATE = "date"


class Rule(StrEnum):
    """How a cell is checked beyond its type (see `registry.checks`)."""

    RECORD_ID = "record_id"  # 1-40 characters: Latin letters, digits, '-', '_', '.'
    LOCAL_NAME = "local_name"  # a name in the scripts the node's state writes names in
    LATIN_NAME = "latin_name"  # a name as in the passport's machine-readable zone
    SEX = "sex"  # M or F
    COUNTRY = "country"  # ISO 3166-1 alpha-3
    DOCUMENT_TYPE = "document_type"  # P passport, I identity card
    DOCUMENT_NUMBER = "document_number"  # format of the issuing state (column `citizenship`)
    NATIONAL_ID = "national_id"  # KZ: IIN; AM: public-service number
    ORGANISATION_ID = "organisation_id"  # KZ: BIN or IIN; AM: taxpayer number
    REGION = "region"  # ISO 3166-2 subdivision of the node's state
    ISCO08 = "isco08"  # four-digit ISCO-08 unit group
    CODE = "code"  # one of the column's `codes`
    TEXT = "text"  # free text, 1-200 characters, no control characters


# How many characters a register stores for a text cell of each rule: the width of its column
# in the database (`registry.tables` builds the tables from this module). A column whose
# values run longer than its rule's usual width names its own `width`.
WIDTH: dict[Rule, int] = {
    Rule.RECORD_ID: 40, Rule.LOCAL_NAME: 200, Rule.LATIN_NAME: 200, Rule.SEX: 1,
    Rule.COUNTRY: 3, Rule.DOCUMENT_TYPE: 1, Rule.DOCUMENT_NUMBER: 20, Rule.NATIONAL_ID: 20,
    Rule.ORGANISATION_ID: 20, Rule.REGION: 10, Rule.ISCO08: 4, Rule.CODE: 20, Rule.TEXT: 200,
}  # fmt: skip


@dataclass(frozen=True)
class Column:
    """One column of a register: its cell in the file and its column in the database."""

    name: str
    type: Type = Type.TEXT
    rule: Rule = Rule.TEXT
    required: bool = True
    codes: frozenset[str] = frozenset()
    width: int | None = None  # characters stored, where the rule's `WIDTH` is too narrow
    # A column a real register has that the first contract lacked: always optional, a file
    # without it is complete, and `migrex synth` writes it only when asked to.
    extension: bool = False

    @property
    def stored_width(self) -> int | None:
        """The characters the register's table stores for this column (None for a date)."""
        if self.type is Type.DATE:
            return None
        return self.width if self.width is not None else WIDTH[self.rule]


ENTRY_POINTS = frozenset(
    {"ALA-AIRPORT", "NQZ-AIRPORT", "SHYMKENT-AIRPORT", "KORDAI-ROAD", "ZHIBEK-ZHOLY-ROAD",
     "KAIRAK-ROAD", "SYRYM-ROAD", "AKTAU-PORT", "EVN-AIRPORT", "LRS-AIRPORT", "BAGRATASHEN-ROAD",
     "BAVRA-ROAD", "MEGHRI-ROAD", "MARGARA-ROAD"}
)  # fmt: skip
CITIZENSHIP_BASES = frozenset({"birth", "naturalisation", "restoration", "registration"})
CITIZEN_STATUSES = frozenset({"active", "renounced", "deceased", "lost"})
DECISIONS = frozenset({"warning", "fine", "expulsion", "entry_ban", "pending", "dismissed"})

# A person's names, sex and birth date: the same columns in both registers of persons.
PERSON = (
    Column("surname", rule=Rule.LOCAL_NAME),
    Column("given_name", rule=Rule.LOCAL_NAME),
    Column("patronymic", rule=Rule.LOCAL_NAME, required=False),
    Column("surname_latin", rule=Rule.LATIN_NAME),
    Column("given_name_latin", rule=Rule.LATIN_NAME),
    Column("sex", rule=Rule.SEX),
    Column("birth_date", Type.DATE),
)

COLUMNS: dict[Kind, tuple[Column, ...]] = {
    Kind.PERSONS_PRESENT: (
        Column("record_id", rule=Rule.RECORD_ID),
        *PERSON,
        Column("citizenship", rule=Rule.COUNTRY),
        Column("document_type", rule=Rule.DOCUMENT_TYPE),
        Column("document_number", rule=Rule.DOCUMENT_NUMBER),
        Column("national_id", rule=Rule.NATIONAL_ID, required=False),
        Column("entry_date", Type.DATE),
        Column("entry_point", rule=Rule.CODE, codes=ENTRY_POINTS, width=40),
        Column("purpose_of_stay", rule=Rule.CODE, codes=PURPOSES_OF_STAY),
        Column("registration_region", rule=Rule.REGION),
        Column("registration_address"),
        Column("inviting_party", rule=Rule.ORGANISATION_ID, required=False),
        Column("permit_type", rule=Rule.CODE, codes=PERMIT_TYPES, required=False, width=30),
        Column("permit_number", rule=Rule.RECORD_ID, required=False),
        Column("permit_valid_from", Type.DATE, required=False),
        Column("permit_valid_to", Type.DATE, required=False),
        Column("departure_date", Type.DATE, required=False),
        # The foreign document's issue date and the office that issued it (as the issuing
        # state's own code or name): what a document broker leaves in common.
        Column("document_issue_date", Type.DATE, required=False, extension=True),
        Column("document_issuing_office", required=False, extension=True),
    ),
    Kind.EMPLOYMENT: (
        Column("record_id", rule=Rule.RECORD_ID),
        Column("person_record_id", rule=Rule.RECORD_ID),
        Column("employer_id", rule=Rule.ORGANISATION_ID),
        Column("employer_name"),
        Column("occupation_isco08", rule=Rule.ISCO08),
        Column("region", rule=Rule.REGION),
        Column("start_date", Type.DATE),
        Column("end_date", Type.DATE, required=False),
    ),
    Kind.CITIZENS: (
        Column("national_id", rule=Rule.NATIONAL_ID),
        *PERSON,
        Column("birth_place", required=False),
        Column("passport_number", rule=Rule.DOCUMENT_NUMBER, required=False),
        Column("passport_issued", Type.DATE, required=False),
        Column("passport_expires", Type.DATE, required=False),
        Column("citizenship_basis", rule=Rule.CODE, codes=CITIZENSHIP_BASES),
        Column("citizenship_acquired", Type.DATE),
        Column("status", rule=Rule.CODE, codes=CITIZEN_STATUSES),
    ),
    Kind.VIOLATIONS: (
        Column("record_id", rule=Rule.RECORD_ID),
        Column("person_record_id", rule=Rule.RECORD_ID, required=False),
        Column("surname_latin", rule=Rule.LATIN_NAME),
        Column("given_name_latin", rule=Rule.LATIN_NAME),
        Column("birth_date", Type.DATE),
        Column("citizenship", rule=Rule.COUNTRY),
        Column("document_number", rule=Rule.DOCUMENT_NUMBER),
        Column("violation_type", rule=Rule.CODE, codes=VIOLATION_TYPES, width=30),
        Column("detected_on", Type.DATE),
        Column("region", rule=Rule.REGION),
        Column("legal_article"),
        Column("decision", rule=Rule.CODE, codes=DECISIONS),
        Column("decision_date", Type.DATE, required=False),
        Column("inviting_party", rule=Rule.ORGANISATION_ID, required=False),
        Column("employer_id", rule=Rule.ORGANISATION_ID, required=False),
    ),
}


def column_names(kind: Kind, *, extensions: bool = True) -> tuple[str, ...]:
    """The columns of `kind`, in order; without `extensions`, those of the first contract."""
    return tuple(c.name for c in COLUMNS[kind] if extensions or not c.extension)
