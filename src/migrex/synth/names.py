"""Name pools and how each registry renders them.

A pool (Kazakh, Armenian, Chinese ...) is a list of surnames, male and female given names. A
`Forms` is one registry's rendering of a pool: the local script it writes, the Latin of the
passport the person holds, the patronymic form it uses. Every rendering is computed once per
pool entry and flattened into Arrow arrays, so naming a million rows is a few `take`s, and
the same drawn person can be rendered by both states (the dual citizens).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from migrex.synth import names_am, names_foreign, names_kz
from migrex.synth.translit import (
    am_passport_latin,
    armenian_genitive,
    cyrillic_to_armenian,
    kazakh_patronymic,
    kg_passport_latin,
    kz_passport_latin,
    ru_passport_latin,
    russian_female_surname,
    russian_patronymic,
    uz_passport_latin,
)

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
# How often a registry picks the first, second, third spelling of a name.
VARIANT_WEIGHTS = (0.72, 0.2, 0.08)


def _parse(table: str) -> list[list[list[str]]]:
    """Entries, each a list of fields, each a list of spelling variants."""
    entries = [entry.strip() for line in table.splitlines() for entry in line.split(";")]
    return [[field.strip().split("/") for field in entry.split("=")] for entry in entries if entry]


@dataclass(frozen=True)
class Pool:
    """The raw names of one pool: `fields[i][j]` are the variants of field j of entry i."""

    surnames: list[list[list[str]]]
    male: list[list[list[str]]]
    female: list[list[list[str]]]
    slavic_surnames: bool  # feminine surnames take -а/-ая (Kazakh, Russian, Kyrgyz, Uzbek)

    def weights(self, count: int) -> npt.NDArray[np.float64]:
        """Popularity falls with position in the table, but slowly (no name dominates)."""
        raw = 1.0 / np.arange(2, count + 2) ** 0.8
        return np.asarray(raw / raw.sum(), dtype=np.float64)


_TABLES = {**names_kz.POOLS, **names_am.POOLS, **names_foreign.POOLS}


@cache
def pool(name: str) -> Pool:
    surnames, male, female = (_parse(table) for table in _TABLES[name])
    return Pool(surnames, male, female, slavic_surnames=name in {"kaz", "rus", "kgz", "uzb"})


@dataclass(frozen=True)
class Forms:
    """One registry's rendering of a pool, flattened so that a row's name is one take.

    surname index:    (variant * 2 + female) * n_surnames + surname
    given index:      variant * (n_male + n_female) + (n_male + name if female else name)
    patronymic index: female * n_male + father (None: the registry records no patronymic)
    The Latin arrays are aligned with the local ones.
    """

    surname: pa.Array
    surname_latin: pa.Array
    given: pa.Array
    given_latin: pa.Array
    patronymic: pa.Array | None
    n_surnames: int
    n_male: int
    n_female: int
    surname_variants: int
    given_variants: int


Spell = Callable[[list[list[str]], int], str]  # (entry's fields, variant) -> one spelling
Patronymic = Callable[[list[list[str]], bool], str]  # (father's fields, female) -> patronymic


def _field(index: int) -> Spell:
    """Variant `v` of field `index` (the first variant when the entry has fewer)."""

    def spell(fields: list[list[str]], variant: int) -> str:
        variants = fields[min(index, len(fields) - 1)]
        return variants[min(variant, len(variants) - 1)]

    return spell


def _then(spell: Spell, transform: Callable[[str], str]) -> Spell:
    return lambda fields, variant: transform(spell(fields, variant))


def _variant_count(entries: list[list[list[str]]]) -> int:
    return min(max(len(fields[-1]) for fields in entries), len(VARIANT_WEIGHTS))


@dataclass(frozen=True)
class Rendering:
    """How a registry writes a pool: local script, passport Latin, patronymic form."""

    pool: str
    local: Spell
    latin: Spell
    patronymic: Patronymic | None = None
    variants: bool = False  # the last field lists spelling variants the registry mixes


def _build(r: Rendering) -> Forms:
    p = pool(r.pool)
    sv = _variant_count(p.surnames) if r.variants else 1
    gv = _variant_count(p.male + p.female) if r.variants else 1
    # Feminine surnames are formed in the source Cyrillic, before any transliteration.
    feminine = (
        [[[russian_female_surname(v) for v in field] for field in entry] for entry in p.surnames]
        if p.slavic_surnames
        else p.surnames
    )
    surnames: list[str] = []
    surnames_latin: list[str] = []
    for v in range(sv):
        for entries in (p.surnames, feminine):
            surnames += [r.local(fields, v) for fields in entries]
            surnames_latin += [r.latin(fields, v) for fields in entries]
    everyone = p.male + p.female
    patronymics = None
    if r.patronymic is not None:
        fathers = r.patronymic
        patronymics = pa.array(
            [fathers(fields, female) for female in (False, True) for fields in p.male], pa.string()
        )
    return Forms(
        surname=pa.array(surnames, pa.string()),
        surname_latin=pa.array(surnames_latin, pa.string()),
        given=pa.array([r.local(f, v) for v in range(gv) for f in everyone], pa.string()),
        given_latin=pa.array([r.latin(f, v) for v in range(gv) for f in everyone], pa.string()),
        patronymic=patronymics,
        n_surnames=len(p.surnames),
        n_male=len(p.male),
        n_female=len(p.female),
        surname_variants=sv,
        given_variants=gv,
    )


def _russian_patronymic(index: int) -> Patronymic:
    return lambda fields, female: russian_patronymic(fields[index][0], female)


def _kazakh_patronymic(fields: list[list[str]], female: bool) -> str:
    return kazakh_patronymic(fields[0][0], female)


def _listed_patronymic(fields: list[list[str]], female: bool) -> str:
    """Russian names list both patronymics (Юрий → Юрьевич / Юрьевна)."""
    return fields[2 if female else 1][0]


def _genitive_of(index: int) -> Patronymic:
    """The Armenian patronymic of a Cyrillic father's name: Нурлан → Նուրլանի."""
    return lambda fields, female: armenian_genitive(cyrillic_to_armenian(fields[index][0]))


def _listed_genitive(fields: list[list[str]], female: bool) -> str:
    return fields[1][0]


def _renderings() -> dict[str, Rendering]:
    """Every rendering, named pool.script[.passport state when not the script's own]."""
    first, last = _field(0), _field(-1)
    hy_first, hy_last = _then(first, cyrillic_to_armenian), _then(last, cyrillic_to_armenian)
    return {
        # Kazakhs: Kazakh- or Russian-spelling records at home; in Armenia, in Armenian
        # letters with a Kazakh passport, or naturalised there with an Armenian one.
        "kaz.kk": Rendering("kaz", first, _then(first, kz_passport_latin), _kazakh_patronymic),
        "kaz.ru": Rendering("kaz", last, _then(last, kz_passport_latin), _russian_patronymic(-1)),
        "kaz.hy": Rendering("kaz", hy_last, _then(last, kz_passport_latin)),
        "kaz.hy.am": Rendering("kaz", hy_last, _then(hy_last, am_passport_latin), _genitive_of(-1)),
        # Russians (and Belarusians): Russian passports at home, Kazakh ones for Kazakh citizens.
        "rus.ru": Rendering("rus", first, _then(first, ru_passport_latin), _listed_patronymic),
        "rus.ru.kz": Rendering("rus", first, _then(first, kz_passport_latin), _listed_patronymic),
        "rus.hy": Rendering("rus", hy_first, _then(first, ru_passport_latin)),
        "rus.hy.am": Rendering(
            "rus", hy_first, _then(hy_first, am_passport_latin), _genitive_of(0)
        ),
        # Armenians at home; Kazakh citizens of Armenian origin (Cyrillic, Kazakh passport);
        # Armenian citizens in Kazakhstan (a Cyrillic record, the Armenian passport's Latin).
        "arm.hy": Rendering("arm", first, _then(first, am_passport_latin), _listed_genitive),
        "arm.ru.kz": Rendering(
            "arm", last, _then(last, kz_passport_latin), _russian_patronymic(-1), variants=True
        ),
        "arm.ru.am": Rendering(
            "arm", last, _then(first, am_passport_latin), _russian_patronymic(-1), variants=True
        ),
        "kgz.ru": Rendering("kgz", first, _then(first, kg_passport_latin), _russian_patronymic(0)),
        "uzb.ru": Rendering("uzb", first, _then(first, uz_passport_latin), _russian_patronymic(0)),
        "uzb.ru.kz": Rendering(
            "uzb", first, _then(first, kz_passport_latin), _russian_patronymic(0)
        ),
        # Names whose Latin is written out in the table.
        "chn.ru": Rendering("chn", first, _field(1)),
        "tur.ru": Rendering("tur", first, _field(1)),
        "irn.hy": Rendering("irn", first, _field(1)),
        "geo.hy": Rendering("geo", first, _field(1)),
        "ind.hy": Rendering("ind", first, _field(1)),
    }


RENDERINGS = tuple(_renderings())


@cache
def forms(key: str) -> Forms:
    """The flattened names of rendering `key` (see `RENDERINGS`), built on first use."""
    return _build(_renderings()[key])


@dataclass(frozen=True)
class NameDraw:
    """Who a row is within a pool; rendering it in any `Forms` of that pool gives its names."""

    female: Bools
    surname: Ints
    given: Ints  # index among names of the row's sex
    father: Ints  # index among male names
    variant: npt.NDArray[np.float64]  # uniform in [0, 1): picks the spelling variant


def draw_names(
    rng: np.random.Generator, pool_name: str, female: Bools, *, surname: Ints | None = None
) -> NameDraw:
    """Draws names for rows of the given sexes (optionally with surnames already chosen)."""
    p = pool(pool_name)
    n = len(female)
    male_names = rng.choice(len(p.male), size=n, p=p.weights(len(p.male)))
    female_names = rng.choice(len(p.female), size=n, p=p.weights(len(p.female)))
    return NameDraw(
        female=female,
        surname=(
            rng.choice(len(p.surnames), size=n, p=p.weights(len(p.surnames)))
            if surname is None
            else surname
        ),
        given=np.where(female, female_names, male_names),
        father=rng.choice(len(p.male), size=n, p=p.weights(len(p.male))),
        variant=rng.random(n),
    )


def _variant(u: npt.NDArray[np.float64], count: int) -> Ints:
    weights = np.asarray(VARIANT_WEIGHTS[:count])
    edges = np.cumsum(weights / weights.sum())[:-1]
    return np.searchsorted(edges, u, side="right").astype(np.int64)


@dataclass(frozen=True)
class RenderedNames:
    surname: pa.Array
    given: pa.Array
    patronymic: pa.Array | None
    surname_latin: pa.Array
    given_latin: pa.Array


def render(f: Forms, d: NameDraw) -> RenderedNames:
    female = d.female.astype(np.int64)
    sv = _variant(d.variant, f.surname_variants)
    # A second, independent uniform from the same draw picks the given name's spelling.
    gv = _variant((d.variant * 7.0) % 1.0, f.given_variants)
    s = (sv * 2 + female) * f.n_surnames + d.surname
    g = gv * (f.n_male + f.n_female) + np.where(d.female, f.n_male + d.given, d.given)
    p = female * f.n_male + d.father
    return RenderedNames(
        surname=f.surname.take(s),
        given=f.given.take(g),
        patronymic=None if f.patronymic is None else f.patronymic.take(p),
        surname_latin=f.surname_latin.take(s),
        given_latin=f.given_latin.take(g),
    )
