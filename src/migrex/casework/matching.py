"""Finding the person an inquiry names in the register of persons present. Pure.

The rule (what a partner must give to get an answer):
1. A document number or a national id is required: names alone never identify anyone, so an
   inquiry about a person named only by names gets no answer for that person — screening
   flags it at receipt, and the reviewer asks for what is missing (a "no hit" would be a
   false negative).
2. Candidates are every record holding that document number (of any issuing state) or that
   national id. Every other identifier the inquiry gives — citizenship, birth date, names in
   either script, document type — must agree with the record (names compared as passports
   write them: case and outer blanks do not count). A partner need not know the citizenship
   the register holds to be answered.
3. Exactly one agreeing record is the person; none is a true "no hit"; more than one cannot be
   told apart, so the reviewer asks for more rather than guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from migrex.casework.messages import PersonIdentifiers
from migrex.registry.model import PersonPresent

_COMPARED = (
    "surname", "given_name", "patronymic", "surname_latin", "given_name_latin", "birth_date",
    "citizenship", "document_type", "document_number", "national_id",
)  # fmt: skip


@dataclass(frozen=True)
class Match:
    outcome: Literal["found", "none", "ambiguous", "unidentified"]
    person: PersonPresent | None = None

    @property
    def determined(self) -> bool:
        return self.outcome in {"found", "none"}


def identifies(who: PersonIdentifiers) -> bool:
    """Whether the identifiers are enough to look a person up at all."""
    return who.document_number is not None or who.national_id is not None


def _same(given: object, held: object) -> bool:
    if isinstance(given, str) and isinstance(held, str):
        return given.strip().casefold() == held.strip().casefold()
    return given == held


def agrees(who: PersonIdentifiers, record: PersonPresent) -> bool:
    """Every identifier the inquiry gives agrees with the record."""
    for name in _COMPARED:
        given = getattr(who, name)
        if given is not None and not _same(given, getattr(record, name)):
            return False
    return True


def match_present(who: PersonIdentifiers, candidates: Sequence[PersonPresent]) -> Match:
    """The register's answer about `who` among the records holding its document or id."""
    if not identifies(who):
        return Match("unidentified")
    found = [record for record in candidates if agrees(who, record)]
    if not found:
        return Match("none")
    if len(found) > 1:
        return Match("ambiguous")
    return Match("found", found[0])
