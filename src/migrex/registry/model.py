"""The registries as the rest of the node sees them: plain records, no database types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class PersonPresent:
    record_id: str
    surname: str
    given_name: str
    patronymic: str | None
    surname_latin: str
    given_name_latin: str
    sex: str
    birth_date: date
    citizenship: str
    document_type: str
    document_number: str
    national_id: str | None
    entry_date: date
    purpose_of_stay: str
    registration_region: str
    registration_address: str
    permit_type: str | None
    permit_valid_from: date | None
    permit_valid_to: date | None


@dataclass(frozen=True)
class EmploymentSpell:
    record_id: str
    person_record_id: str
    employer_id: str
    employer_name: str
    occupation_isco08: str
    region: str
    start_date: date
    end_date: date | None

    def overlaps_year(self, year: int) -> bool:
        return self.start_date <= date(year, 12, 31) and (
            self.end_date is None or self.end_date >= date(year, 1, 1)
        )


@dataclass(frozen=True)
class Citizen:
    national_id: str
    surname: str
    given_name: str
    patronymic: str | None
    surname_latin: str
    given_name_latin: str
    sex: str
    birth_date: date
    passport_number: str | None
    status: str


@dataclass(frozen=True)
class Violation:
    record_id: str
    person_record_id: str | None
    citizenship: str
    document_number: str
    violation_type: str
    detected_on: date
    region: str
    legal_article: str
    decision: str
    decision_date: date | None
