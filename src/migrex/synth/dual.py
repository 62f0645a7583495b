"""Planted dual citizens, and near misses that a careless matcher would take for them.

A dual citizen is one person in both citizens' registries: in Kazakhstan under an IIN, in
Cyrillic (Оганесян Арам Ашотович, OGANESYAN in the Kazakh passport); in Armenia under a
public-service number, in Armenian (Հովհաննիսյան Արամ Աշոտի, HOVHANNISYAN). Birth date and sex
agree, except for a few recorded one-day typos on the Armenian side. Near misses are pairs
that are NOT one person: namesakes, siblings, twins, same surname and birthday.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrex.synth.arrays import (
    TODAY,
    Bools,
    Days,
    Frame,
    Ints,
    birth_days,
    concat,
    day,
    digits,
    join,
    labels,
)
from migrex.synth.citizens import (
    BIRTH,
    NATURALISATION,
    REGISTRATION,
    acquisition,
    citizen_frame,
    native_birthplaces,
)
from migrex.synth.employers import Context
from migrex.synth.names import NameDraw, draw_names, pool

DUAL_CITIZENS = 300
BIRTH_DATE_TYPOS = 6
# Kazakh citizens of Armenian origin, and Kazakhs and Russians naturalised in Armenia.
ORIGINS = {"armenian": 240, "kazakh": 36, "russian": 24}
NEAR_MISSES = {"namesake": 60, "sibling": 40, "twin": 30, "same_birth_date": 20}
_ARMENIAN_TOWNS = (("Ереван", "Երևան"), ("Гюмри", "Գյումրի"), ("Ванадзор", "Վանաձոր"),
                   ("Абовян", "Աբովյան"), ("Эчмиадзин", "Վաղարշապատ"))  # fmt: skip
_KAZAKH_TOWNS_HY = ("Ալմաթի", "Աստանա", "Կարագանդա", "Շիմքենտ", "Ակտաու")
_INDEPENDENCE_AM = day(1991, 9, 21)


@dataclass(frozen=True)
class Planted:
    """Rows to add to each citizens' registry and the truth about them."""

    kz: Frame
    am: Frame
    truth: pa.Table


def _armenian_birthplaces(rng: np.random.Generator, birth: Days) -> tuple[pa.Array, pa.Array]:
    """(Kazakh record, Armenian record) of a birth in Armenia; Soviet-era births say ССР."""
    town = rng.integers(0, len(_ARMENIAN_TOWNS), len(birth))
    ru = labels([ru for ru, _ in _ARMENIAN_TOWNS], town)
    soviet = pa.array(birth < _INDEPENDENCE_AM)
    kz = pc.if_else(soviet, join("Армянская ССР, г. ", ru), join("Армения, г. ", ru))
    return kz, labels([hy for _, hy in _ARMENIAN_TOWNS], town)


def _pair(
    ctx: Context,
    rng: np.random.Generator,
    keys: tuple[str, str],
    draws: tuple[NameDraw, NameDraw],
    births: tuple[Days, Days],
    *,
    born_in_armenia: Bools,
) -> tuple[Frame, Frame]:
    """The Kazakh and the Armenian citizens' rows of pairs of people."""
    n = len(births[0])
    kz_basis = np.where(born_in_armenia, NATURALISATION, BIRTH)
    # Armenia has allowed dual citizenship since 2007: Armenians abroad acquire it by
    # registration, others (spouses) by naturalisation.
    am_basis = np.where(
        born_in_armenia, BIRTH, REGISTRATION if keys[1] == "arm.hy" else NATURALISATION
    )
    kz_abroad, am_home = _armenian_birthplaces(rng, births[0])
    kz_place = pc.if_else(pa.array(born_in_armenia), kz_abroad, native_birthplaces(rng, "KZ", n))
    am_abroad = join("Ղազախստան, ", labels(_KAZAKH_TOWNS_HY, rng.integers(0, 5, n)))
    am_place = pc.if_else(pa.array(born_in_armenia), am_home, am_abroad)
    kz = citizen_frame(
        ctx,
        rng,
        "KZ",
        keys[0],
        draw=draws[0],
        birth=births[0],
        patronymic=0.8,
        basis=kz_basis,
        acquired=acquisition(rng, kz_basis, births[0], day(1995, 1, 1)),
        birth_place=kz_place,
        settled=True,
    )
    am = citizen_frame(
        ctx,
        rng,
        "AM",
        keys[1],
        draw=draws[1],
        birth=births[1],
        patronymic=0.85,
        basis=am_basis,
        acquired=acquisition(rng, am_basis, births[1], day(2008, 1, 1)),
        birth_place=am_place,
        settled=True,
    )
    return kz, am


_TRUTH_COLUMNS = (
    "national_id", "surname", "given_name", "patronymic", "surname_latin", "given_name_latin",
    "sex", "birth_date",
)  # fmt: skip


def _truth(kz: Frame, am: Frame, extra: dict[str, pa.Array]) -> pa.Table:
    """Side-by-side columns kz_* and am_* of paired rows, after the `extra` columns."""
    columns = dict(extra)
    for side, frame in (("kz", kz), ("am", am)):
        for name in _TRUTH_COLUMNS:
            value = frame[name]
            if name == "birth_date":
                value = pa.array(np.asarray(value, dtype=np.int32)).cast(pa.date32())
            columns[f"{side}_{name}"] = value
    return pa.table(columns)


# One group per rendering pair: (origin, Kazakh registry's forms, Armenian registry's forms).
_GROUPS = (
    ("armenian", "arm.ru.kz", "arm.hy", ORIGINS["armenian"]),
    ("kazakh", "kaz.kk", "kaz.hy.am", ORIGINS["kazakh"] // 2),
    ("kazakh", "kaz.ru", "kaz.hy.am", ORIGINS["kazakh"] - ORIGINS["kazakh"] // 2),
    ("russian", "rus.ru.kz", "rus.hy.am", ORIGINS["russian"]),
)


def plant_dual_citizens(ctx: Context) -> Planted:
    rng = ctx.rng("dual-citizens")
    n = DUAL_CITIZENS
    birth = birth_days(rng, rng.uniform(20, 75, n))
    typo = np.zeros(n, dtype=bool)
    typo[rng.choice(n, BIRTH_DATE_TYPOS, replace=False)] = True
    # A typo is the Armenian clerk's: the Kazakh birth date is the one the IIN encodes.
    am_birth = (birth + np.where(typo, rng.choice([-1, 1], n), 0)).astype(np.int32)
    kz_frames, am_frames, origins = [], [], []
    start = 0
    for origin, kz_key, am_key, count in _GROUPS:
        rows = slice(start, start + count)
        start += count
        draw = draw_names(rng, kz_key[:3], rng.random(count) < 0.45)
        in_armenia = (rng.random(count) < 0.65) if origin == "armenian" else np.zeros(count, bool)
        kz, am = _pair(
            ctx,
            rng,
            (kz_key, am_key),
            (draw, draw),
            (birth[rows], am_birth[rows]),
            born_in_armenia=in_armenia,
        )
        kz_frames.append(kz)
        am_frames.append(am)
        origins += [origin] * count
    kz, am = concat(kz_frames), concat(am_frames)
    truth = _truth(kz, am, {
        "pair_id": digits(np.arange(1, n + 1), 4, "DUAL-"),
        "origin": pa.array(origins, pa.string()),
        "birth_date_typo": pa.array(typo),
    })  # fmt: skip
    return Planted(kz, am, truth)


def _another_given(rng: np.random.Generator, female: Bools, other: NameDraw) -> Ints:
    """A given name for each row, never the `other` row's name when the sexes agree."""
    p = pool("arm")
    size = np.where(female, len(p.female), len(p.male))
    drawn = np.floor(rng.random(len(female)) * size).astype(np.int64)
    clash = (female == other.female) & (drawn == other.given)
    return np.where(clash, (drawn + 1) % size, drawn)


def plant_near_misses(ctx: Context) -> Planted:
    """Armenian-origin pairs in both registries that are two different people."""
    rng = ctx.rng("near-misses")
    kz_frames, am_frames, kinds = [], [], []
    for kind, count in NEAR_MISSES.items():
        female = rng.random(count) < 0.45
        kz_draw = draw_names(rng, "arm", female)
        kz_birth = birth_days(rng, rng.uniform(22, 70, count))
        fresh = draw_names(rng, "arm", female if kind == "namesake" else rng.random(count) < 0.45)
        if kind == "namesake":  # same names, another father, born years apart
            am_draw = NameDraw(female, kz_draw.surname, kz_draw.given, fresh.father, fresh.variant)
            apart = rng.integers(400, 9000, count) * rng.choice([-1, 1], count)
        else:  # siblings and twins share the father; the same-birthday pair shares nothing else
            father = fresh.father if kind == "same_birth_date" else kz_draw.father
            given = _another_given(rng, fresh.female, kz_draw)
            am_draw = NameDraw(fresh.female, kz_draw.surname, given, father, fresh.variant)
            apart = rng.integers(365, 3650, count) * rng.choice([-1, 1], count)
            apart = np.where(kind == "sibling", apart, 0)
        # Kept at least 12 years old: a sibling may be younger, but not unborn.
        am_birth = np.minimum(kz_birth + apart, TODAY - 12 * 365).astype(np.int32)
        in_armenia = rng.random(count) < 0.5
        kz, am = _pair(
            ctx,
            rng,
            ("arm.ru.kz", "arm.hy"),
            (kz_draw, am_draw),
            (kz_birth, am_birth),
            born_in_armenia=in_armenia,
        )
        kz_frames.append(kz)
        am_frames.append(am)
        kinds += [kind] * count
    kz, am = concat(kz_frames), concat(am_frames)
    return Planted(kz, am, _truth(kz, am, {"kind": pa.array(kinds, pa.string())}))
