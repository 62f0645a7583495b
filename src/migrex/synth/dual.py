"""Planted dual citizens, and near misses that a careless matcher would take for them.

A dual citizen is one person in both citizens' registries: in Kazakhstan under an IIN, in
Cyrillic (Оганесян Арам Ашотович, OGANESYAN in the Kazakh passport); in Armenia under a
public-service number, in Armenian (Հովհաննիսյան Արամ Աշոտի, HOVHANNISYAN). Sex agrees; the
rest carries the variation of two clerks years apart (`synth.variation`): Russified
surnames, -ов and -янц, a patronymic on one side only, day and month swapped or a day off in
the Armenian birth date, typos, a woman's maiden and married surnames, earlier passports'
Latin. The ground truth lists each pair's kinds of variation in `variations`. Near misses
are pairs that are NOT one person: namesakes, siblings, twins, same surname and birthday, and
people born the same day with similar names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
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
from migrex.synth.names import NameDraw, RenderedNames, draw_names, forms, pool, render
from migrex.synth.translit import cyrillic_to_armenian
from migrex.synth.variation import (
    passport_variants,
    russified_ov,
    swap_day_month,
    swappable,
    typo,
    with_yants,
)

DUAL_CITIZENS = 300
BIRTH_DATE_TYPOS = 6
DAY_MONTH_SWAPS = 9
# The share of pairs with each variation (of women, for a maiden name; of Armenians, for the
# surname's Russified -ов and older -янц).
SHARES = {"surname_ov": 0.05, "surname_yants": 0.06, "typo": 0.1, "maiden_name": 0.12,
          "passport_latin": 0.12}  # fmt: skip
# Kazakh citizens of Armenian origin, and Kazakhs and Russians naturalised in Armenia.
ORIGINS = {"armenian": 240, "kazakh": 36, "russian": 24}
# 150 in all, as before the similar names came: the background registers keep their size.
NEAR_MISSES = {
    "namesake": 45, "sibling": 30, "twin": 25, "same_birth_date": 20, "similar_names": 30,
}  # fmt: skip
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
    towns: np.random.Generator | None = None,
) -> tuple[Frame, Frame]:
    """The Kazakh and the Armenian citizens' rows of pairs of people; both records name one
    birthplace (one person's, or one family's) unless `towns` draws the Armenian record's
    (two people; a generator of its own, so the people drawn stay those of `rng`)."""
    n = len(births[0])
    kz_basis = np.where(born_in_armenia, NATURALISATION, BIRTH)
    # Armenia has allowed dual citizenship since 2007: Armenians abroad acquire it by
    # registration, others (spouses) by naturalisation.
    am_basis = np.where(
        born_in_armenia, BIRTH, REGISTRATION if keys[1] == "arm.hy" else NATURALISATION
    )
    kz_abroad, am_home = _armenian_birthplaces(rng, births[0])
    kz_native = native_birthplaces(rng, "KZ", n)
    kz_place = pc.if_else(pa.array(born_in_armenia), kz_abroad, kz_native)
    other_town = labels(_KAZAKH_TOWNS_HY, rng.integers(0, len(_KAZAKH_TOWNS_HY), n))
    if towns is None:
        kz_towns = pc.utf8_slice_codeunits(kz_native, 3).to_pylist()  # without "г. "
        am_abroad = join("Ղազախստան, ", pa.array([cyrillic_to_armenian(t) for t in kz_towns]))
    else:  # two people: each born where chance put them
        am_abroad = join("Ղազախստան, ", other_town)
        am_home = labels([hy for _, hy in _ARMENIAN_TOWNS], towns.integers(0, 5, n))
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
    # Who varies how is drawn apart, so the people drawn stay those of earlier versions.
    vary = ctx.rng("dual-variation")
    n = DUAL_CITIZENS
    birth = birth_days(rng, rng.uniform(20, 75, n))
    typo = np.zeros(n, dtype=bool)
    typo[rng.choice(n, BIRTH_DATE_TYPOS, replace=False)] = True
    # A typo is the Armenian clerk's: the Kazakh birth date is the one the IIN encodes.
    am_birth = (birth + np.where(typo, rng.choice([-1, 1], n), 0)).astype(np.int32)
    swap = np.zeros(n, dtype=bool)
    swap[vary.choice(np.flatnonzero(swappable(birth) & ~typo), DAY_MONTH_SWAPS, replace=False)] = (
        True
    )
    am_birth = np.where(swap, swap_day_month(birth), am_birth).astype(np.int32)
    kz_frames, am_frames, origins, kinds = [], [], [], []
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
        kinds += _vary(vary, (kz_key, am_key), draw, kz, am)
        origins += [origin] * count
    for i in np.flatnonzero(typo | swap):
        kinds[i].add("birth_date_typo" if typo[i] else "day_month_swap")
    kz, am = concat(kz_frames), concat(am_frames)
    truth = _truth(kz, am, {
        "pair_id": digits(np.arange(1, n + 1), 4, "DUAL-"),
        "origin": pa.array(origins, pa.string()),
        "birth_date_typo": pa.array(typo),
        "variations": pa.array([",".join(sorted(k)) for k in kinds], pa.string()),
    })  # fmt: skip
    return Planted(kz, am, truth)


Names = dict[str, list[str | None]]


def _names(frame: Frame) -> Names:
    columns = ("surname", "surname_latin", "given_name", "given_name_latin", "patronymic")
    return {c: frame[c].to_pylist() for c in columns}


def _vary_surname(
    i: int, u: npt.NDArray[np.float64], sides: tuple[Names, Names], *,
    married: list[RenderedNames], armenian: bool, female: bool,
) -> str | None:  # fmt: skip
    """Vary pair i's surname on one side (`u[5]` picks which); the kind, if any."""
    side = int(u[5] < 0.5)
    if female and u[3] < SHARES["maiden_name"]:
        sides[side]["surname"][i] = married[side].surname[i].as_py()
        sides[side]["surname_latin"][i] = married[side].surname_latin[i].as_py()
        return "maiden_name"
    if armenian and u[0] < SHARES["surname_ov"]:
        varied = russified_ov(
            str(sides[0]["surname"][i]), str(sides[0]["surname_latin"][i]), female
        )
        if varied:
            sides[0]["surname"][i], sides[0]["surname_latin"][i] = varied
            return "surname_ov"
    elif armenian and u[0] < SHARES["surname_ov"] + SHARES["surname_yants"]:
        varied = with_yants(str(sides[side]["surname"][i]), str(sides[side]["surname_latin"][i]))
        if varied:
            sides[side]["surname"][i], sides[side]["surname_latin"][i] = varied
            return "surname_yants"
    return None


def _vary_spelling(i: int, u: npt.NDArray[np.float64], sides: tuple[Names, Names]) -> set[str]:
    """An earlier passport's Latin on one side, a typo on the other (`u[5]`); the kinds."""
    side = int(u[5] < 0.5)
    found = set()
    if u[1] < SHARES["passport_latin"]:
        row = sides[1 - side]
        field = "surname_latin" if u[1] < SHARES["passport_latin"] / 2 else "given_name_latin"
        variants = passport_variants(str(row[field][i]), ("KZ", "AM")[1 - side])
        if variants:
            row[field][i] = variants[int(u[4] * len(variants))]
            found.add("passport_latin")
    if u[2] < SHARES["typo"]:
        row = sides[side]
        field = "surname" if u[2] < SHARES["typo"] / 2 else "given_name"
        slipped = typo(str(row[field][i]), int(u[4] * 3), u[3])
        if slipped != row[field][i]:
            row[field][i] = slipped
            found.add("typo")
    return found


def _vary(
    vary: np.random.Generator, keys: tuple[str, str], draw: NameDraw, kz: Frame, am: Frame
) -> list[set[str]]:
    """Vary the names of one group's pairs in place (`synth.variation`); the kinds per pair."""
    n = len(draw.female)
    sides = (_names(kz), _names(am))
    u = vary.random((n, 6))
    armenian = keys[0].startswith("arm")
    # The pool's other surnames, in each side's spelling: a husband's (or a maiden) name.
    surnames = len(pool(keys[0][:3]).surnames)
    husband = (draw.surname + 1 + vary.integers(0, surnames - 1, n)) % surnames
    married = [
        render(forms(key), NameDraw(draw.female, husband, draw.given, draw.father, draw.variant))
        for key in keys
    ]
    first_latin = (list(sides[0]["surname_latin"]), list(sides[1]["surname_latin"]))
    patronymics = (list(sides[0]["patronymic"]), list(sides[1]["patronymic"]))
    kinds: list[set[str]] = []
    for i in range(n):
        surname = _vary_surname(
            i, u[i], sides, married=married, armenian=armenian, female=bool(draw.female[i])
        )
        found = _vary_spelling(i, u[i], sides) | ({surname} if surname else set())
        kz_has, am_has = patronymics[0][i] is not None, patronymics[1][i] is not None
        if am_has and not kz_has:
            found.add("patronymic_dropped")
        if kz_has and not am_has:
            found.add("patronymic_added")
        if armenian and first_latin[0][i] != first_latin[1][i]:
            found.add("russified_surname")
        kinds.append(found)
    for frame, names in zip((kz, am), sides, strict=True):
        for column, values in names.items():
            frame[column] = pa.array(values, pa.string())
    return kinds


def _another_given(rng: np.random.Generator, female: Bools, other: NameDraw) -> Ints:
    """A given name for each row, never the `other` row's name when the sexes agree."""
    p = pool("arm")
    size = np.where(female, len(p.female), len(p.male))
    drawn = np.floor(rng.random(len(female)) * size).astype(np.int64)
    clash = (female == other.female) & (drawn == other.given)
    return np.where(clash, (drawn + 1) % size, drawn)


def _neighbour(rng: np.random.Generator, field: str, draw: NameDraw) -> Ints:
    """Another surname or given name (of the row's sex) next to the row's in the Armenian
    alphabetical order: Արամ and Արման, Սարգսյան and Սահակյան."""
    p = pool("arm")
    out = np.empty(len(draw.female), dtype=np.int64)
    step = rng.choice([-1, 1], len(draw.female))
    for i, female in enumerate(draw.female.tolist()):
        if field == "surnames":
            entries, current = p.surnames, int(draw.surname[i])
        else:
            entries, current = (p.female if female else p.male), int(draw.given[i])
        order = sorted(range(len(entries)), key=lambda e: entries[e][0][0])
        at = order.index(current)
        out[i] = order[(at + int(step[i])) % len(order)]
    return out


def plant_near_misses(ctx: Context) -> Planted:
    """Armenian-origin pairs in both registries that are two different people."""
    rng = ctx.rng("near-misses")
    towns = ctx.rng("near-miss-towns")
    kz_frames, am_frames, kinds = [], [], []
    for kind, count in NEAR_MISSES.items():
        female = rng.random(count) < 0.45
        kz_draw = draw_names(rng, "arm", female)
        kz_birth = birth_days(rng, rng.uniform(22, 70, count))
        fresh = draw_names(rng, "arm", female if kind == "namesake" else rng.random(count) < 0.45)
        if kind == "namesake":  # same names, another father, born years apart
            am_draw = NameDraw(female, kz_draw.surname, kz_draw.given, fresh.father, fresh.variant)
            apart = rng.integers(400, 9000, count) * rng.choice([-1, 1], count)
        elif kind == "similar_names":  # born the same day, of the same sex, names alike
            surname = np.where(
                rng.random(count) < 0.5, kz_draw.surname, _neighbour(rng, "surnames", kz_draw)
            )
            given = _neighbour(rng, "given", kz_draw)
            am_draw = NameDraw(female, surname, given, fresh.father, fresh.variant)
            apart = np.zeros(count, dtype=np.int64)
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
            towns=None if kind in {"sibling", "twin"} else towns,
        )
        kz_frames.append(kz)
        am_frames.append(am)
        kinds += [kind] * count
    kz, am = concat(kz_frames), concat(am_frames)
    return Planted(kz, am, _truth(kz, am, {"kind": pa.array(kinds, pa.string())}))
