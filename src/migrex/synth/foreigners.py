"""Foreigners present on a state's territory: who they are and how they stay.

A cohort is built in three steps: when each person arrived (from the spells of work, or
drawn), who the person is (names, sex, birth, travel document), and how the stay is
registered (purpose, permit, address, inviting party, national id, departure).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from migrex.synth.arrays import (
    Days,
    Frame,
    Ints,
    birth_days,
    day,
    labels,
    scatter,
    uniform_days,
    where,
)
from migrex.synth.employers import Context
from migrex.synth.names import draw_names, forms, render
from migrex.synth.numbers import document_numbers
from migrex.synth.permits import FAMILY, PURPOSES, STUDY, WORK, Arrivals, registration
from migrex.synth.places import entry_points
from migrex.synth.spells import Careers, Spells, careers

EAEU = frozenset({"ARM", "BLR", "KAZ", "KGZ", "RUS"})


@dataclass(frozen=True)
class Nationality:
    """How one state's citizens appear in the node's registry of persons present."""

    code: str  # ISO 3166-1 alpha-3
    forms: str  # names.forms key: the registry's script, the passport's Latin
    share: float  # among the background foreigners of the node
    purposes: tuple[float, ...]  # weights in PURPOSES order
    men: float  # share of men among those who come to work
    id_card: float = 0.0  # share travelling on an identity card
    patronymic: float = 0.0  # share of records with a patronymic


KZ_FOREIGNERS = (
    Nationality("UZB", "uzb.ru", 38, (62, 8, 10, 12, 3, 5), 0.82, patronymic=0.85),
    Nationality("RUS", "rus.ru", 20, (35, 5, 20, 20, 10, 10), 0.55, patronymic=0.95),
    Nationality("KGZ", "kgz.ru", 14, (55, 12, 12, 13, 3, 5), 0.7, id_card=0.3, patronymic=0.8),
    Nationality("CHN", "chn.ru", 12, (60, 10, 2, 0, 20, 8), 0.85),
    Nationality("TUR", "tur.ru", 7, (55, 8, 5, 0, 25, 7), 0.88),
    Nationality("BLR", "rus.ru", 3, (45, 0, 20, 15, 10, 10), 0.6, patronymic=0.95),
)
# Armenians in Kazakhstan who do not work come as family, students or on private visits.
ARMENIANS_IN_KZ = Nationality(
    "ARM", "arm.ru.am", 0, (0, 25, 55, 20, 0, 0), 0.8, id_card=0.1, patronymic=0.6
)
AM_FOREIGNERS = (
    Nationality("RUS", "rus.hy", 45, (35, 5, 15, 25, 10, 10), 0.6),
    Nationality("IRN", "irn.hy", 13, (15, 10, 10, 0, 30, 35), 0.7),
    Nationality("IND", "ind.hy", 10, (35, 55, 0, 0, 0, 10), 0.75),
    Nationality("GEO", "geo.hy", 8, (30, 0, 20, 0, 15, 35), 0.6),
    Nationality("BLR", "rus.hy", 4, (35, 5, 15, 25, 10, 10), 0.6),
)
KAZAKHS_IN_AM = Nationality("KAZ", "kaz.hy", 0, (30, 15, 10, 15, 0, 30), 0.6)


def draw_purposes(rng: np.random.Generator, nat: Nationality, n: int) -> Ints:
    w = np.asarray(nat.purposes, dtype=np.float64)
    return rng.choice(len(PURPOSES), size=n, p=w / w.sum()).astype(np.int64)


def _ages(rng: np.random.Generator, purpose: Ints) -> npt.NDArray[np.float64]:
    n = len(purpose)
    adult = 22 + rng.gamma(2.5, 7.0, n)
    child = rng.uniform(0, 17, n)
    return np.select(
        [purpose == WORK, purpose == STUDY, (purpose == FAMILY) & (rng.random(n) < 0.3)],
        [21 + rng.gamma(2.5, 6.0, n), 18 + rng.gamma(2.0, 1.6, n), child],
        adult,
    )


def identities(
    ctx: Context, rng: np.random.Generator, nat: Nationality, purpose: Ints, entry: Days
) -> Frame:
    """Names, sex, birth date and travel document of each person (born before arriving)."""
    n = len(purpose)
    men = np.where(purpose == WORK, nat.men, np.where(purpose == FAMILY, 0.4, 0.55))
    female = rng.random(n) >= men
    birth = np.minimum(birth_days(rng, _ages(rng, purpose), 80), entry - 1).astype(np.int32)
    names = render(forms(nat.forms), draw_names(rng, nat.forms[:3], female))
    patronymic = (
        pa.nulls(n, pa.string())
        if names.patronymic is None
        else where(rng.random(n) < nat.patronymic, names.patronymic)
    )
    card = rng.random(n) < nat.id_card
    parts = []
    for doc_type, rows in (("P", np.flatnonzero(~card)), ("I", np.flatnonzero(card))):
        if len(rows):
            parts.append((rows, document_numbers(ctx.book, rng, nat.code, doc_type, len(rows))))
    return {
        "surname": names.surname,
        "given_name": names.given,
        "patronymic": patronymic,
        "surname_latin": names.surname_latin,
        "given_name_latin": names.given_latin,
        "sex": labels(("M", "F"), female.astype(np.int64)),
        "birth_date": birth,
        "citizenship": labels((nat.code,), np.zeros(n, dtype=np.int64)),
        "document_type": labels(("P", "I"), card.astype(np.int64)),
        "document_number": scatter(n, parts),
        "_female": female,
    }


def arrivals(rng: np.random.Generator, purpose: Ints, life: Careers) -> Days:
    """Workers arrive a few days to weeks before their first job; others from mid-2022 on."""
    n = len(purpose)
    before_job = life.first_start.astype(np.int64) - rng.integers(2, 46, n)
    drawn = uniform_days(rng, day(2022, 6, 1), day(2025, 12, 20), n)
    return np.where(life.has_spell, before_job, drawn).astype(np.int32)


def cohort(
    ctx: Context,
    rng: np.random.Generator,
    node: str,
    nat: Nationality,
    purpose: Ints,
    *,
    spells: Spells,
    entry: Days | None = None,
) -> Frame:
    """The persons-present columns of one nationality's cohort (rows = cohort rows)."""
    n = len(purpose)
    life = careers(spells, n)
    arrived = arrivals(rng, purpose, life) if entry is None else entry
    person = identities(ctx, rng, nat, purpose, arrived)
    came = Arrivals(purpose, arrived, life, spells)
    stay = registration(ctx, rng, node, came, person, eaeu=nat.code in EAEU)
    return {
        **person,
        "entry_date": arrived,
        "entry_point": entry_points(rng, nat.code if node == "KZ" else f"AM:{nat.code}", n),
        "purpose_of_stay": labels(PURPOSES, purpose),
        **stay,
    }
