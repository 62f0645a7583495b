"""How a stay is registered: purpose, permit, address, inviting party, national id, departure.

Citizens of the Eurasian Economic Union (Armenia, Belarus, Kazakhstan, Kyrgyzstan, Russia) work
in each other's states without a work permit: their stay is registered for the term of the
employment contract (`eaeu_worker`, no permit number). Others need a work permit, issued for a
year and renewed while they work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrex.synth.arrays import (
    NO_DATE,
    TODAY,
    Bools,
    Days,
    Frame,
    Ints,
    add_years,
    labels,
    scatter,
    where,
)
from migrex.synth.employers import Context
from migrex.synth.numbers import iins, permit_numbers, psns
from migrex.synth.places import addresses, draw_regions, region_codes
from migrex.synth.spells import Careers, Spells

PURPOSES = ("work", "study", "family", "private", "business", "tourism")
WORK, STUDY, FAMILY, PRIVATE, BUSINESS, TOURISM = range(6)
PERMITS = ("work_permit", "eaeu_worker", "temporary_residence", "permanent_residence", "student")
WORK_PERMIT, EAEU_WORKER, TEMPORARY, PERMANENT, STUDENT = range(5)
_PERMIT_PREFIX = {WORK_PERMIT: "WP", TEMPORARY: "TRP", PERMANENT: "PRP", STUDENT: "SV"}
# Share of each purpose's visitors that the state gave a personal number (IIN / PSN).
_NATIONAL_ID_SHARE = np.array([0.8, 0.6, 0.9, 0.3, 0.15, 0.02])


def departures(rng: np.random.Generator, purpose: Ints, life: Careers, entry: Days) -> Days:
    """When each person left, or NO_DATE while still present on TODAY."""
    n = len(purpose)
    # Days of stay by purpose (index into PURPOSES); families stay for years.
    low = np.array([30, 280, 60, 20, 3, 4])[purpose]
    high = np.array([400, 1500, 4000, 181, 61, 31])[purpose]
    stay = np.where(
        purpose == FAMILY,
        np.clip(rng.lognormal(np.log(900), 0.6, n), 60, 4000).astype(np.int64),
        low + np.floor(rng.random(n) * (high - low)).astype(np.int64),
    )
    left = entry.astype(np.int64) + stay
    # A worker whose last job ended usually leaves within weeks; one still working stays.
    ended = life.has_spell & ~life.ongoing
    after_job = life.last_end.astype(np.int64) + rng.integers(1, 41, n)
    leaves = rng.random(n) < 0.75
    left = np.where(life.has_spell, np.where(ended & leaves, after_job, TODAY + 1), left)
    return np.where(left <= TODAY, left, NO_DATE).astype(np.int32)


def permit_types(rng: np.random.Generator, eaeu: bool, purpose: Ints) -> Ints:
    """Index into PERMITS, -1 for a stay that needs no permit."""
    u = rng.random(len(purpose))
    family = np.where(u < 0.7, TEMPORARY, PERMANENT)
    worker = EAEU_WORKER if eaeu else WORK_PERMIT
    return np.select(
        [purpose == WORK, purpose == STUDY, purpose == FAMILY, (purpose == PRIVATE) & (u < 0.35)],
        [worker, STUDENT, family, TEMPORARY],
        -1,
    ).astype(np.int64)


def permit_dates(
    rng: np.random.Generator, kind: Ints, life: Careers, entry: Days
) -> tuple[Days, Days]:
    n = len(kind)
    e = entry.astype(np.int64)
    base = np.where(life.has_spell, life.first_start, e + rng.integers(3, 31, n))
    covered = np.where(life.has_spell & ~life.ongoing, life.last_end, TODAY)
    wp_from = np.maximum(base - rng.integers(0, 11, n), e)
    years = np.clip(np.ceil((covered - wp_from + 1) / 365), 1, 3).astype(np.int64)
    start = np.select(
        [kind == WORK_PERMIT, kind == EAEU_WORKER, kind == STUDENT, kind == TEMPORARY],
        [wp_from, base, e + rng.integers(0, 16, n), e + rng.integers(5, 91, n)],
        e + rng.integers(60, 401, n),
    )
    start = np.minimum(start, TODAY).astype(np.int32)
    end = np.select(
        [kind == WORK_PERMIT, kind == EAEU_WORKER, kind == STUDENT, kind == TEMPORARY],
        [start + 365 * years - 1, np.where(life.has_spell & ~life.ongoing, life.last_end, NO_DATE),
         start + 365 * rng.integers(1, 5, n) - 1, start + rng.integers(364, 1096, n)],
        add_years(start, 10) - 1,
    )  # fmt: skip
    none = kind < 0
    return (
        np.where(none, NO_DATE, start).astype(np.int32),
        np.where(none, NO_DATE, end).astype(np.int32),
    )


def _inviting_parties(
    ctx: Context,
    rng: np.random.Generator,
    node: str,
    purpose: Ints,
    *,
    first_employer: Ints,
    eaeu: bool,
) -> pa.Array:
    n = len(purpose)
    employers = ctx.employers[node]
    org = np.select(
        [(purpose == WORK) & (first_employer >= 0), purpose == STUDY, purpose == TOURISM],
        [first_employer, employers.pick(rng, n, "education"), employers.pick(rng, n, "services")],
        employers.pick(rng, n),
    )
    inviter = employers.ids.take(org)
    shares = [0.3 if eaeu else 0.9, 0.95, 0.9, 0.6, 0.8, 0.3]
    if node == "KZ" and len(ctx.kz_citizen_ids):
        # Family and private visits are invited by a Kazakh citizen, named by IIN.
        relatives = ctx.kz_citizen_ids.take(rng.integers(0, len(ctx.kz_citizen_ids), n))
        by_person = (purpose == FAMILY) | (purpose == PRIVATE)
        inviter = pc.if_else(pa.array(by_person), relatives, inviter)
    else:
        shares = [0.3 if eaeu else 0.85, 0.95, 0.0, 0.0, 0.6, 0.0]
    return where(rng.random(n) < np.asarray(shares)[purpose], inviter)


@dataclass(frozen=True)
class Arrivals:
    """What is known of a cohort before its stay is registered."""

    purpose: Ints  # index into PURPOSES
    entry: Days
    life: Careers
    spells: Spells


def registration(
    ctx: Context,
    rng: np.random.Generator,
    node: str,
    came: Arrivals,
    person: Frame,
    *,
    eaeu: bool,
) -> Frame:
    """Permit, address, inviting party, national id and departure of each person."""
    purpose, life, spells, entry = came.purpose, came.life, came.spells, came.entry
    n = len(purpose)
    employers = ctx.employers[node]
    has = life.has_spell
    first_employer = np.full(n, -1, dtype=np.int64)
    first_employer[has] = spells.employer[life.first[has]]
    region = draw_regions(rng, node, n)
    region[has] = spells.region[life.first[has]]
    # Half of a big employer's foreign staff are registered at its dormitory.
    dormitory = employers.dormitory.take(np.maximum(first_employer, 0))
    at_dormitory = has & (rng.random(n) < 0.5) & np.asarray(pc.is_valid(dormitory), dtype=bool)
    region[at_dormitory] = employers.region[first_employer[at_dormitory]]
    address = pc.if_else(pa.array(at_dormitory), dormitory, addresses(rng, node, region))

    kind = permit_types(rng, eaeu, purpose)
    valid_from, valid_to = permit_dates(rng, kind, life, entry)
    numbers = [
        (rows, permit_numbers(ctx.book, rng, f"{node}-{prefix}", len(rows)))
        for k, prefix in _PERMIT_PREFIX.items()
        if len(rows := np.flatnonzero(kind == k))
    ]
    numbered: Bools = rng.random(n) < _NATIONAL_ID_SHARE[purpose]
    rows = np.flatnonzero(numbered)
    birth: Days = np.asarray(person["birth_date"])[rows]
    national = (
        iins(ctx.book, rng, birth, np.asarray(person["_female"])[rows])
        if node == "KZ"
        else psns(ctx.book, rng, birth)
    )
    return {
        "national_id": scatter(n, [(rows, national)]),
        "registration_region": region_codes(node, region),
        "registration_address": address,
        "inviting_party": _inviting_parties(
            ctx, rng, node, purpose, first_employer=first_employer, eaeu=eaeu
        ),
        "permit_type": where(kind >= 0, labels(PERMITS, np.maximum(kind, 0))),
        "permit_number": scatter(n, numbers),
        "permit_valid_from": valid_from,
        "permit_valid_to": valid_to,
        "departure_date": departures(rng, purpose, life, entry),
    }
