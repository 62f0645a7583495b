"""Registries held in memory: the `Registries` port over plain records.

Answers the same questions as the database (`registry.sql.SqlRegistries`) in the same order,
so a use case that reads the registries only through the port can be run on a handful of
records without a database: the tests of the reply rules do, with registers hypothesis
draws; an embedding that receives records from a national system's API could too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from migrex.registry.columns import Kind
from migrex.registry.model import Citizen, EmploymentSpell, PersonPresent, Violation


class InMemoryRegistries:
    def __init__(
        self,
        present: Iterable[PersonPresent] = (),
        employment: Iterable[EmploymentSpell] = (),
        citizens: Iterable[Citizen] = (),
        violations: Iterable[Violation] = (),
    ) -> None:
        # Kept in the order given, as the database keeps rows in the order imported.
        self._present = list(present)
        self._employment = list(employment)
        self._citizens = list(citizens)
        self._violations = list(violations)

    def count(self, kind: Kind) -> int:
        records: dict[Kind, list[Any]] = {
            Kind.PERSONS_PRESENT: self._present,
            Kind.EMPLOYMENT: self._employment,
            Kind.CITIZENS: self._citizens,
            Kind.VIOLATIONS: self._violations,
        }
        return len(records[kind])

    def find_present(self, *, citizenship: str, document_number: str) -> PersonPresent | None:
        return next(
            (
                p
                for p in self._present
                if p.citizenship == citizenship and p.document_number == document_number
            ),
            None,
        )

    def present_holding(
        self, *, document_number: str | None = None, national_id: str | None = None
    ) -> list[PersonPresent]:
        if document_number is None and national_id is None:
            return []
        return [
            p
            for p in self._present
            if (document_number is None or p.document_number == document_number)
            and (national_id is None or p.national_id == national_id)
        ]

    def employment_of(self, person_record_id: str) -> list[EmploymentSpell]:
        spells = [s for s in self._employment if s.person_record_id == person_record_id]
        return sorted(spells, key=lambda spell: spell.start_date)

    def find_citizen(self, national_id: str) -> Citizen | None:
        return next((c for c in self._citizens if c.national_id == national_id), None)

    def violations_of(self, *, citizenship: str, document_number: str) -> list[Violation]:
        found = [
            v
            for v in self._violations
            if v.citizenship == citizenship and v.document_number == document_number
        ]
        return sorted(found, key=lambda violation: violation.detected_on)

    def workers_in_year(self, citizenship: str, year: int) -> int:
        of_citizenship = {p.record_id for p in self._present if p.citizenship == citizenship}
        return len(
            {
                s.person_record_id
                for s in self._employment
                if s.person_record_id in of_citizenship and s.overlaps_year(year)
            }
        )
