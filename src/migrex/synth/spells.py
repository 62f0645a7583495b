"""Employment spells: random careers, the exact Armenian cohort, and the employment table.

The report's figures are facts the generated Kazakh registries must reproduce at any scale
and seed: 2,623 Armenian citizens employed at some time in 2024, 2,134 in 2025. They are
planted by construction: every Armenian worker belongs to one category (both years, 2024
only, 2025 only, 2023 only), and each category's spells are drawn inside windows that make
"overlaps the year" true or false for certain. A spell without an end date is ongoing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from migrex.synth.arrays import NO_DATE, TODAY, Days, Frame, Integers, Ints, day, uniform_days
from migrex.synth.employers import Employers, employer_region_or_branch
from migrex.synth.places import occupations, region_codes

WORKERS_2024 = 2_623
WORKERS_2025 = 2_134
# How the 2,623 and 2,134 split: both years, 2024 only, 2025 only (sums give the facts).
BOTH_YEARS = 1_480
ONLY_2024 = WORKERS_2024 - BOTH_YEARS
ONLY_2025 = WORKERS_2025 - BOTH_YEARS
ONLY_2023 = 320  # worked in 2023 and left: counted in neither year


@dataclass(frozen=True)
class Spells:
    person: Ints  # row of the cohort the spell belongs to
    start: Days
    end: Days  # NO_DATE: ongoing
    employer: Ints  # index into the node's Employers
    region: Ints  # index into places.regions(node)

    @staticmethod
    def join(parts: list[Spells]) -> Spells:
        return Spells(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in Spells.__dataclass_fields__)
        )

    def shifted(self, offset: int) -> Spells:
        """The same spells with cohort rows renumbered from `offset`."""
        return Spells(self.person + offset, self.start, self.end, self.employer, self.region)


def no_spells() -> Spells:
    empty = np.empty(0, dtype=np.int64)
    return Spells(empty, empty.astype(np.int32), empty.astype(np.int32), empty, empty)


@dataclass(frozen=True)
class Careers:
    """Per cohort row: the first start, the last end (NO_DATE if ongoing), the first spell."""

    has_spell: np.ndarray
    first_start: Days
    last_end: Days
    ongoing: np.ndarray
    first: Ints  # index of the row's first spell, -1 without one


def careers(spells: Spells, n: int) -> Careers:
    order = np.lexsort((spells.start, spells.person))
    person = spells.person[order]
    has = np.zeros(n, dtype=bool)
    has[person] = True
    first = np.full(n, -1, dtype=np.int64)
    starts, index = np.unique(person, return_index=True)
    first[starts] = order[index]
    first_start = np.full(n, NO_DATE, dtype=np.int32)
    first_start[has] = spells.start[first[has]]
    ongoing = np.zeros(n, dtype=bool)
    ongoing[spells.person[spells.end == NO_DATE]] = True
    last_end = np.full(n, NO_DATE, dtype=np.int32)
    np.maximum.at(last_end, spells.person, spells.end)
    last_end[ongoing] = NO_DATE
    return Careers(has, first_start, last_end, ongoing, first)


def _durations(rng: np.random.Generator, n: int) -> Ints:
    return np.clip(rng.lognormal(np.log(260), 0.75, n), 20, 1500).astype(np.int64)


def random_spells(
    rng: np.random.Generator, employers: Employers, person: Ints, count: Ints
) -> Spells:
    """Careers of `count` consecutive spells (a gap between jobs), from mid-2022 on."""
    parts = []
    start = uniform_days(rng, day(2022, 6, 1), day(2025, 11, 30), len(person))
    active = np.ones(len(person), dtype=bool)
    for round_ in range(int(count.max(initial=0))):
        active &= count > round_
        rows = np.flatnonzero(active)
        s = start[rows]
        end = s.astype(np.int64) + _durations(rng, len(rows))
        ongoing = end > TODAY
        employer = employers.pick(rng, len(rows))
        parts.append(
            Spells(
                person[rows],
                s,
                np.where(ongoing, NO_DATE, end).astype(np.int32),
                employer,
                employer_region_or_branch(rng, employers, employer),
            )
        )
        # The next job starts after a gap; a career with an ongoing job has no next one.
        nxt = end + rng.integers(7, 120, len(rows))
        active[rows] = ~ongoing & (nxt < TODAY - 10)
        start[rows] = np.minimum(nxt, TODAY).astype(np.int32)
    return Spells.join(parts) if parts else no_spells()


def armenian_spells(rng: np.random.Generator, employers: Employers) -> tuple[Spells, int]:
    """Spells of the Armenian workers in Kazakhstan and how many workers there are.

    Rows 0.. are: BOTH_YEARS, then ONLY_2024, ONLY_2025, ONLY_2023 workers.
    """
    y23, y24 = day(2023, 1, 1), day(2024, 1, 1)
    dec23, dec24 = day(2023, 12, 31), day(2024, 12, 31)
    people: list[Integers] = []
    starts: list[Integers] = []
    ends: list[Integers] = []

    def add(person: Integers, start: Integers, end: Integers) -> None:
        people.append(person)
        starts.append(start)
        ends.append(end)

    # Both years: one spell across New Year 2025, or a 2024 job then a 2025 job.
    both = np.arange(BOTH_YEARS)
    two = rng.random(BOTH_YEARS) < 0.3
    one = both[~two]
    s = uniform_days(rng, day(2023, 2, 1), day(2024, 12, 20), len(one))
    e = uniform_days(rng, day(2025, 1, 10), TODAY, len(one))
    add(one, s, np.where(rng.random(len(one)) < 0.55, NO_DATE, e))
    pair = both[two]
    s1 = uniform_days(rng, day(2023, 3, 1), day(2024, 10, 31), len(pair))
    e1 = uniform_days(rng, np.maximum(s1 + 30, y24), dec24, len(pair))
    s2 = uniform_days(rng, day(2025, 1, 5), day(2025, 10, 31), len(pair))
    e2 = uniform_days(rng, s2 + 30, TODAY, len(pair))
    add(pair, s1, e1)
    add(pair, s2, np.where(rng.random(len(pair)) < 0.6, NO_DATE, e2))

    # 2024 only: the job ends in 2024; some had an earlier job in 2023.
    only24 = BOTH_YEARS + np.arange(ONLY_2024)
    earlier = rng.random(ONLY_2024) < 0.2
    e0 = np.full(ONLY_2024, day(2022, 12, 1), dtype=np.int64)
    prior = only24[earlier]
    s0 = uniform_days(rng, day(2023, 1, 10), day(2023, 6, 30), len(prior))
    e0[earlier] = uniform_days(rng, s0 + 30, day(2023, 11, 30), len(prior))
    add(prior, s0, e0[earlier])
    s = uniform_days(rng, np.maximum(e0 + 10, day(2023, 1, 15)), day(2024, 11, 15), ONLY_2024)
    add(only24, s, uniform_days(rng, np.maximum(s + 30, y24), dec24, ONLY_2024))

    # 2025 only: started in 2025.
    only25 = BOTH_YEARS + ONLY_2024 + np.arange(ONLY_2025)
    s = uniform_days(rng, day(2025, 1, 8), day(2025, 11, 20), ONLY_2025)
    e = uniform_days(rng, s + 30, TODAY, ONLY_2025)
    add(only25, s, np.where(rng.random(ONLY_2025) < 0.7, NO_DATE, e))

    # 2023 only: ended before 2024.
    only23 = BOTH_YEARS + ONLY_2024 + ONLY_2025 + np.arange(ONLY_2023)
    s = uniform_days(rng, day(2022, 4, 1), day(2023, 9, 30), ONLY_2023)
    add(only23, s, uniform_days(rng, np.maximum(s + 30, y23), dec23, ONLY_2023))

    person = np.concatenate(people).astype(np.int64)
    employer = employers.pick(rng, len(person))
    spells = Spells(
        person,
        np.concatenate(starts).astype(np.int32),
        np.concatenate(ends).astype(np.int32),
        employer,
        employer_region_or_branch(rng, employers, employer),
    )
    return spells, BOTH_YEARS + ONLY_2024 + ONLY_2025 + ONLY_2023


def employment_frame(rng: np.random.Generator, employers: Employers, spells: Spells) -> Frame:
    """The employment registry's columns; `_person` is the global row of the person."""
    return {
        "employer_id": employers.ids.take(spells.employer),
        "employer_name": employers.names.take(spells.employer),
        "occupation_isco08": occupations(rng, employers.sector[spells.employer]),
        "region": region_codes(employers.node, spells.region),
        "start_date": spells.start,
        "end_date": spells.end,
        "_person": spells.person,
    }
