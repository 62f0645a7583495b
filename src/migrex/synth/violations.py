"""Detected violations of migration law, for registered foreigners and for unregistered ones.

The legal references are illustrative: the Kazakh ones name the Code of Administrative
Offences (КоАП РК) article on foreigners' breaches of migration rules and the Criminal Code
(УК РК) articles on forged documents, illegal border crossing and organising illegal
migration; the Armenian ones the Code of Administrative Offences (ՎԻՎՕ) and Criminal Code
(ՔՕ). A ministry's export carries its own references; the importer treats them as text.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from migrex.synth.arrays import (
    NO_DATE,
    TODAY,
    Bools,
    Days,
    Frame,
    Ints,
    choose,
    day,
    labels,
    take,
    uniform_days,
    where,
)

VIOLATION_TYPES = (
    "overstay", "no_registration", "illegal_employment", "purpose_mismatch", "forged_document",
    "illegal_entry", "false_invitation", "smuggling_facilitation",
)  # fmt: skip
(OVERSTAY, NO_REGISTRATION, ILLEGAL_EMPLOYMENT, PURPOSE_MISMATCH, FORGED_DOCUMENT, ILLEGAL_ENTRY,
 FALSE_INVITATION, SMUGGLING) = range(8)  # fmt: skip
# Registered persons' breaches; illegal entries are found among the unregistered.
BACKGROUND_MIX = {"overstay": 40, "no_registration": 23, "illegal_employment": 15,
                  "purpose_mismatch": 10, "forged_document": 3, "illegal_entry": 0,
                  "false_invitation": 2, "smuggling_facilitation": 1}  # fmt: skip
LEGAL_ARTICLES = {
    "KZ": ("КоАП РК, ст. 517 ч. 1", "КоАП РК, ст. 517 ч. 1", "КоАП РК, ст. 517 ч. 3",
           "КоАП РК, ст. 517 ч. 1", "УК РК, ст. 385", "УК РК, ст. 392", "КоАП РК, ст. 518",
           "УК РК, ст. 394"),
    "AM": ("ՎԻՎՕ, հոդված 201.1", "ՎԻՎՕ, հոդված 201.1", "ՎԻՎՕ, հոդված 201.3",
           "ՎԻՎՕ, հոդված 201.1", "ՔՕ, հոդված 324", "ՔՕ, հոդված 451", "ՎԻՎՕ, հոդված 201.2",
           "ՔՕ, հոդված 452"),
}  # fmt: skip
DECISIONS = ("pending", "warning", "fine", "expulsion", "entry_ban", "dismissed")
_DECISION_MIX = {
    "pending": 10,
    "warning": 20,
    "fine": 45,
    "expulsion": 15,
    "entry_ban": 5,
    "dismissed": 5,
}
_IDENTITY = ("surname_latin", "given_name_latin", "birth_date", "citizenship", "document_number")


def violation_rows(
    rng: np.random.Generator,
    node: str,
    persons: Frame,
    rows: Ints,
    *,
    kind: Ints,
    detected: Days,
    inviting_party: pa.Array | None = None,
    employer_id: pa.Array | None = None,
) -> Frame:
    """Violations by the persons at `rows` of `persons`; `_person` keeps the row."""
    n = len(rows)
    who = take({k: persons[k] for k in (*_IDENTITY, "registration_region")}, rows)
    decision = choose(rng, _DECISION_MIX, n)
    decided = np.minimum(detected.astype(np.int64) + rng.integers(0, 61, n), TODAY)
    return {
        **{k: who[k] for k in _IDENTITY},
        "violation_type": labels(VIOLATION_TYPES, kind),
        "detected_on": detected,
        "region": who["registration_region"],
        "legal_article": labels(LEGAL_ARTICLES[node], kind),
        "decision": labels(DECISIONS, decision),
        "decision_date": np.where(decision == 0, NO_DATE, decided).astype(np.int32),
        "inviting_party": inviting_party
        if inviting_party is not None
        else pa.nulls(n, pa.string()),
        "employer_id": employer_id if employer_id is not None else pa.nulls(n, pa.string()),
        "_person": rows,
    }


def detection_days(rng: np.random.Generator, persons: Frame, rows: Ints, kind: Ints) -> Days:
    """A day while the person was present; an overstay is found after the permit expired."""
    entry = np.asarray(persons["entry_date"])[rows].astype(np.int64)
    left = np.asarray(persons["departure_date"])[rows].astype(np.int64)
    last = np.where(left == NO_DATE, TODAY, left)
    valid_to = np.asarray(persons["permit_valid_to"])[rows].astype(np.int64)
    expired = (kind == OVERSTAY) & (valid_to != NO_DATE) & (valid_to < last)
    low = np.where(expired, valid_to + 1, entry + 1)
    return uniform_days(rng, np.minimum(low, last), last, len(rows))


def background_violations(
    rng: np.random.Generator, node: str, persons: Frame, *, eligible: Ints, n: int, eaeu: Bools
) -> Frame:
    """`n` violations by registered persons drawn from the `eligible` rows."""
    rows = rng.choice(eligible, size=min(n, len(eligible)), replace=False).astype(np.int64)
    kind = choose(rng, BACKGROUND_MIX, len(rows))
    # Union citizens may work without a permit: their breach is a missing registration.
    kind = np.where((kind == ILLEGAL_EMPLOYMENT) & eaeu[rows], NO_REGISTRATION, kind)
    detected = detection_days(rng, persons, rows, kind)
    invited = persons["inviting_party"].take(rows)
    shows_inviter = np.isin(kind, (FALSE_INVITATION, PURPOSE_MISMATCH)) | (
        rng.random(len(rows)) < 0.1
    )
    return violation_rows(
        rng,
        node,
        persons,
        rows,
        kind=kind,
        detected=detected,
        inviting_party=where(shows_inviter, invited),
    )


def unregistered_violations(rng: np.random.Generator, node: str, strangers: Frame) -> Frame:
    """Violations by people the registry of persons present does not know (no record id):
    illegal entries and forged documents found at the border or in a raid."""
    n = len(strangers["surname_latin"])
    kind = np.where(rng.random(n) < 0.7, ILLEGAL_ENTRY, FORGED_DOCUMENT)
    detected = uniform_days(rng, day(2023, 1, 1), TODAY, n)
    adult = np.asarray(strangers["birth_date"]).astype(np.int64) + 16 * 365
    detected = np.minimum(np.maximum(detected, adult), TODAY).astype(np.int32)
    region = strangers["registration_region"]
    who = {**strangers, "registration_region": region}
    frame = violation_rows(rng, node, who, np.arange(n), kind=kind, detected=detected)
    frame["_person"] = np.full(n, -1, dtype=np.int64)
    return frame
