"""Valid registry rows built by hand, for tests that need a few records they fully control."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from migrex.registry.columns import Kind, column_names
from migrex.registry.identifiers import iin_check_digit


def make_iin(birth: str, sex_century_digit: int, serial: int) -> str:
    """A valid IIN for birth date YYMMDD, century/sex digit and a serial number."""
    for bump in range(10_000):
        first = f"{birth}{sex_century_digit}{(serial + bump) % 10_000:04d}"
        digit = iin_check_digit(first)
        if digit is not None:
            return f"{first}{digit}"
    raise AssertionError("no valid IIN found")  # pragma: no cover


def person_present(n: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "record_id": f"KZ-PP-{n:07d}",
        "surname": "Оганесян",
        "given_name": "Арам",
        "patronymic": "Ашотович",
        "surname_latin": "HOVHANNISYAN",
        "given_name_latin": "ARAM",
        "sex": "M",
        "birth_date": "1985-03-14",
        "citizenship": "ARM",
        "document_type": "P",
        "document_number": f"AM{n % 10_000_000:07d}",
        "national_id": make_iin("850314", 3, n),
        "entry_date": "2023-05-01",
        "entry_point": "ALA-AIRPORT",
        "purpose_of_stay": "work",
        "registration_region": "KZ-75",
        "registration_address": "Almaty, Abay avenue 10, flat 4",
        "inviting_party": "",
        "permit_type": "eaeu_worker",
        "permit_number": f"EAEU-{n}",
        "permit_valid_from": "2023-05-02",
        "permit_valid_to": "2026-05-01",
        "departure_date": "",
        "document_issue_date": "",
        "document_issuing_office": "",
    }
    row.update(overrides)
    return row


def employment(n: int, person: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "record_id": f"KZ-EM-{n:07d}",
        "person_record_id": f"KZ-PP-{person:07d}",
        "employer_id": "940540000012",
        "employer_name": "Alatau Construction LLP",
        "occupation_isco08": "7112",
        "region": "KZ-75",
        "start_date": "2024-02-01",
        "end_date": "",
    }
    row.update(overrides)
    return row


def citizen(n: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "national_id": make_iin("900101", 3, n),
        "surname": "Әлібеков",
        "given_name": "Нұрлан",
        "patronymic": "Серікұлы",
        "surname_latin": "ALIBEKOV",
        "given_name_latin": "NURLAN",
        "sex": "M",
        "birth_date": "1990-01-01",
        "birth_place": "Almaty",
        "passport_number": f"N{n % 100_000_000:08d}",
        "passport_issued": "2020-06-01",
        "passport_expires": "2030-05-31",
        "citizenship_basis": "birth",
        "citizenship_acquired": "1990-01-01",
        "status": "active",
    }
    row.update(overrides)
    return row


def violation(n: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "record_id": f"KZ-VI-{n:07d}",
        "person_record_id": "",
        "surname_latin": "HOVHANNISYAN",
        "given_name_latin": "ARAM",
        "birth_date": "1985-03-14",
        "citizenship": "ARM",
        "document_number": "AM7654321",
        "violation_type": "overstay",
        "detected_on": "2025-03-02",
        "region": "KZ-75",
        "legal_article": "Code of Administrative Offences, art. 517",
        "decision": "fine",
        "decision_date": "2025-03-05",
        "inviting_party": "",
        "employer_id": "",
    }
    row.update(overrides)
    return row


def write_csv(path: Path, kind: Kind, rows: list[dict[str, Any]], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(column_names(kind)))
        writer.writeheader()
        writer.writerows(rows)
    return path
