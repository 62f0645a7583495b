"""What the node asks of a state's registries.

The embedded SQL implementation (`registry.sql.SqlRegistries`) serves imported files; a
national system can be plugged in instead by implementing this protocol.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from migrex.registry.columns import Kind
from migrex.registry.model import Citizen, EmploymentSpell, PersonPresent, Violation


@runtime_checkable
class Registries(Protocol):
    def count(self, kind: Kind) -> int:
        """How many records the registry of `kind` holds."""
        ...

    def find_present(self, *, citizenship: str, document_number: str) -> PersonPresent | None:
        """The person present holding this document, or None when there is none."""
        ...

    def present_holding(
        self, *, document_number: str | None = None, national_id: str | None = None
    ) -> list[PersonPresent]:
        """Every person present holding this document number (of any issuing state) or this
        national id; an inquiry that does not name the citizenship is matched through it."""
        ...

    def employment_of(self, person_record_id: str) -> list[EmploymentSpell]:
        """The person's employment spells, earliest first."""
        ...

    def find_citizen(self, national_id: str) -> Citizen | None:
        """The citizen with this national id, or None."""
        ...

    def violations_of(self, *, citizenship: str, document_number: str) -> list[Violation]:
        """Violations recorded against this document, earliest first."""
        ...

    def workers_in_year(self, citizenship: str, year: int) -> int:
        """Distinct persons of `citizenship` with an employment spell overlapping `year`."""
        ...
