"""Who a message is about: the persons it names and the fields it carries about each.

Pure and schema-light on purpose: it reads the message body as JSON, the way it was signed,
so the ledger records what actually travelled. A reply names its persons by their index in
the request it answers, so the opening body is passed along to resolve them.

A person is identified by canonical identifiers ("document:N1234567", "national-id:...");
the ledger keeps only keyed hashes of them, and a data-subject request is answered by hashing
the identifiers the person presents in the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from migrex.agreements import PERSON_FIELDS


@dataclass(frozen=True)
class Subject:
    identifiers: tuple[str, ...]
    fields: tuple[str, ...]


def _clean(value: str) -> str:
    return "".join(value.split()).upper()


def identifiers_of(person: Mapping[str, Any]) -> tuple[str, ...]:
    """The canonical identifiers a person record carries (empty: none that identifies)."""
    found = []
    if isinstance(person.get("document_number"), str) and person["document_number"].strip():
        found.append(document_identifier(person["document_number"]))
    if isinstance(person.get("national_id"), str) and person["national_id"].strip():
        found.append(national_id_identifier(person["national_id"]))
    return tuple(found)


def document_identifier(number: str) -> str:
    return f"document:{_clean(number)}"


def national_id_identifier(number: str) -> str:
    return f"national-id:{_clean(number)}"


def _fields(record: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(k for k, v in record.items() if k in PERSON_FIELDS and v is not None))


def _persons(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    persons = body.get("persons")
    if isinstance(persons, Sequence) and not isinstance(persons, str):
        return [p for p in persons if isinstance(p, Mapping)]
    person = body.get("person")
    return [person] if isinstance(person, Mapping) else []


def subjects_in(body: Mapping[str, Any], opening: Mapping[str, Any] | None = None) -> list[Subject]:
    """The identified persons of a message body, each with the person fields it carries.

    Persons with no identifier (names only) cannot be matched to a data-subject request and
    are left out: the ledger answers "what was disclosed about this document holder".
    """
    subjects = [Subject(identifiers_of(p), _fields(p)) for p in _persons(body)]
    results = body.get("results")
    asked = _persons(opening) if opening is not None else []
    if isinstance(results, Sequence) and not isinstance(results, str):
        for result in results:
            index = result.get("person") if isinstance(result, Mapping) else None
            if not isinstance(index, int) or not 0 <= index < len(asked):
                continue
            carried = result.get("fields")
            fields = _fields(carried) if isinstance(carried, Mapping) else ()
            if result.get("hit") is not None or fields:
                subjects.append(Subject(identifiers_of(asked[index]), fields or ("hit",)))
    return [s for s in subjects if s.identifiers]
