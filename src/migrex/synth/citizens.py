"""Each state's own citizens: the registry a dual-citizenship check compares.

Kazakhstan writes its citizens in Cyrillic (Kazakh or Russian spelling) with an IIN and a
passport N########; Armenia in Armenian letters with a public-service number and a passport
such as AM1234567. Both record a patronymic (Нұрланұлы / Нурланович; Արամի).
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
    add_years,
    birth_days,
    choose,
    concat,
    day,
    labels,
    scatter,
    uniform_days,
    where,
)
from migrex.synth.employers import Context
from migrex.synth.names import NameDraw, draw_names, forms, render
from migrex.synth.numbers import document_numbers, iins, psns
from migrex.synth.places import draw_regions, regions

BASES = ("birth", "naturalisation", "restoration", "registration")
BIRTH, NATURALISATION, RESTORATION, REGISTRATION = range(4)
STATUSES = ("active", "renounced", "deceased", "lost")
# Background citizens by rendering: (forms key, share).
KZ_PEOPLE = {"kaz.kk": 39.0, "kaz.ru": 32.0, "rus.ru.kz": 24.5, "uzb.ru.kz": 4.3, "arm.ru.kz": 0.2}
AM_PEOPLE = {"arm.hy": 98.0, "rus.hy.am": 2.0}
# Where naturalised citizens were born: returning Kazakhs (qandas) from neighbouring states;
# the Armenian diaspora.
KZ_FOREIGN_BIRTHPLACES = ("Узбекистан", "Китай", "Монголия", "Туркменистан", "Россия", "Кыргызстан")
AM_FOREIGN_BIRTHPLACES = ("Ռուսաստան", "Սիրիա", "Իրան", "Վրաստան", "Լիբանան", "Ուկրաինա")
# Citizenship by a passport N######## is Kazakh; AM1234567-style is Armenian.
PASSPORT_STATE = {"KZ": "KAZ", "AM": "ARM"}


def native_birthplaces(rng: np.random.Generator, node: str, n: int) -> pa.Array:
    """Home towns, drawn by population ("г. Алматы", "Գյումրի")."""
    towns = [town for town, _ in regions(node).values()]
    return labels(towns, draw_regions(rng, node, n, population=True))


def citizen_frame(
    ctx: Context,
    rng: np.random.Generator,
    node: str,
    key: str,
    *,
    draw: NameDraw,
    birth: Days,
    patronymic: float,
    basis: Ints,
    acquired: Days,
    birth_place: pa.Array,
    settled: bool = False,
) -> Frame:
    """Citizens' rows; `settled` ones are alive and active (the planted dual citizens)."""
    n = len(birth)
    names = render(forms(key), draw)
    has_patronymic = rng.random(n) < patronymic
    age = (TODAY - birth.astype(np.int64)) / 365.25
    # Passports are issued from 16; a passport is valid ten years.
    has_passport: Bools = (age >= 16.5) & (rng.random(n) < (0.65 if node == "KZ" else 0.7))
    earliest = np.maximum(add_years(birth, 16), day(2015, 6, 1))
    issued = uniform_days(rng, earliest, TODAY, n)
    rows = np.flatnonzero(has_passport)
    numbers = document_numbers(ctx.book, rng, PASSPORT_STATE[node], "P", len(rows))
    u = rng.random(n)
    status = np.where(
        age > 50,
        np.select([u < 0.06, u < 0.065], [2, 1], 0),
        np.select([u < 0.004, u < 0.007], [1, 3], 0),
    )
    if settled:
        status[:] = 0
    return {
        "national_id": (
            iins(ctx.book, rng, birth, draw.female) if node == "KZ" else psns(ctx.book, rng, birth)
        ),
        "surname": names.surname,
        "given_name": names.given,
        "patronymic": where(has_patronymic, names.patronymic),
        "surname_latin": names.surname_latin,
        "given_name_latin": names.given_latin,
        "sex": labels(("M", "F"), draw.female.astype(np.int64)),
        "birth_date": birth,
        "birth_place": birth_place,
        "passport_number": scatter(n, [(rows, numbers)]),
        "passport_issued": np.where(has_passport, issued, NO_DATE).astype(np.int32),
        "passport_expires": np.where(has_passport, add_years(issued, 10) - 1, NO_DATE).astype(
            np.int32
        ),
        "citizenship_basis": labels(BASES, basis),
        "citizenship_acquired": acquired,
        "status": labels(STATUSES, status),
    }


def acquisition(rng: np.random.Generator, basis: Ints, birth: Days, since: int) -> Days:
    """Born citizens acquire at birth; the others as adults (children with their parents),
    not before `since`."""
    low = np.minimum(np.maximum(add_years(birth, 18), since), TODAY)
    later = uniform_days(rng, low, TODAY, len(birth))
    return np.where(basis == BIRTH, birth, np.maximum(later, birth)).astype(np.int32)


def background_citizens(ctx: Context, node: str, n: int) -> Frame:
    """Citizens of `node` other than the planted ones, in the node's own mix of peoples."""
    rng = ctx.rng(f"citizens-{node}")
    people = KZ_PEOPLE if node == "KZ" else AM_PEOPLE
    shares = np.fromiter(people.values(), dtype=np.float64)
    counts = rng.multinomial(n, shares / shares.sum())
    frames = []
    for key, count in zip(people, counts, strict=True):
        if not count:
            continue
        female = rng.random(count) < 0.515
        shape = 2.0 if node == "KZ" else 2.4
        birth = birth_days(rng, rng.gamma(shape, 17.0, count))
        weights = {"birth": 93, "naturalisation": 5, "restoration": 1, "registration": 1}
        if node == "AM":
            weights = {"birth": 90, "naturalisation": 3, "restoration": 3, "registration": 4}
        basis = choose(rng, weights, count)
        foreign = KZ_FOREIGN_BIRTHPLACES if node == "KZ" else AM_FOREIGN_BIRTHPLACES
        place = pa.compute.if_else(
            pa.array(basis == BIRTH),
            native_birthplaces(rng, node, count),
            labels(foreign, rng.integers(0, len(foreign), count)),
        )
        known = rng.random(count) < 0.92
        frames.append(
            citizen_frame(
                ctx,
                rng,
                node,
                key,
                draw=draw_names(rng, key[:3], female),
                birth=birth,
                patronymic=0.93,
                basis=basis,
                acquired=acquisition(rng, basis, birth, day(1992, 1, 1)),
                birth_place=where(known, place),
            )
        )
    return concat(frames)
