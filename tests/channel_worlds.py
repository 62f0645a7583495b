"""Random registers for the channel detector: a background with heavy-tailed parties, one
address per person (a few shared by chance), arrivals over three years and violations at a
base rate; optionally one planted channel, with FRAUDAR's camouflage.

Only the columns the graph reads are filled; every cell is text, as `registry.files` reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from migrex.channels.graph import Registers

START = date(2023, 1, 2)
POINTS = ("ALA-AIRPORT", "NQZ-AIRPORT", "KORDAI-ROAD", "ZHIBEK-ZHOLY-ROAD")


@dataclass(frozen=True)
class Plant:
    members: int = 40
    parties: int = 2  # the inviting consultancy and the front employer
    addresses: int = 2
    cohesion: float = 0.8  # chance a member links to each of the channel's entities
    camouflage: float = 1.0  # extra links to ordinary entities per channel link (1:1, 2:1)
    biased: bool = False  # camouflage toward popular entities rather than at random
    caught: float = 0.6
    window_days: int = 21  # members arrive within this many days


def _days(values: np.ndarray) -> list[str]:
    return [(START + timedelta(days=int(v))).isoformat() for v in values]


def random_registers(
    seed: int, persons: int = 3000, plant: Plant | None = None, base_rate: float = 0.03
) -> tuple[Registers, frozenset[str]]:
    """The registers and the planted channel's record ids (empty without a plant)."""
    rng = np.random.default_rng(seed)
    n_parties = max(50, persons // 10)
    popularity = 1.0 / np.arange(1, n_parties + 1) ** 0.9
    popularity /= popularity.sum()
    ids = [f"P{i:06d}" for i in range(persons)]
    inviter = rng.choice(n_parties, size=persons, p=popularity)
    employer = np.where(
        rng.random(persons) < 0.7, inviter, rng.choice(n_parties, persons, p=popularity)
    )
    address = rng.integers(0, int(persons * 1.5), persons)
    entry = rng.integers(0, 3 * 365, persons)
    point = rng.integers(0, len(POINTS), persons)
    violator = rng.random(persons) < base_rate
    extra_employment: list[tuple[int, int]] = []
    members = np.array([], dtype=np.int64)
    if plant is not None:
        members = rng.choice(persons, size=plant.members, replace=False)
        parties = n_parties + np.arange(plant.parties)
        flats = persons * 2 + np.arange(plant.addresses)
        opened = int(rng.integers(0, 2 * 365))
        entry[members] = opened + rng.integers(0, plant.window_days, plant.members)
        point[members] = 0
        violator[members] = rng.random(plant.members) < plant.caught
        links = 0
        for m in members:
            mine = [p for p in parties if rng.random() < plant.cohesion]
            inviter[m] = mine[0] if mine else inviter[m]
            employer[m] = mine[-1] if mine else employer[m]
            extra_employment += [(int(m), int(p)) for p in mine[1:-1]]
            if rng.random() < plant.cohesion:
                address[m] = int(rng.choice(flats))
            links += len(mine) + 1
            # Camouflage: the member is also employed by ordinary firms.
            count = round(plant.camouflage * (len(mine) + 1))
            weights = popularity if plant.biased else None
            extra_employment += [(int(m), int(p)) for p in rng.choice(n_parties, count, p=weights)]
    persons_table = pa.table({
        "record_id": ids,
        "entry_date": _days(entry),
        "entry_point": [POINTS[p] for p in point],
        "registration_address": [f"Almaty, Abay {a // 200}, flat {a % 200}" for a in address],
        "inviting_party": [f"{p:012d}" for p in inviter],
    })  # fmt: skip
    rows = [(i, int(employer[i])) for i in range(persons)] + extra_employment
    employment = pa.table({
        "person_record_id": [ids[i] for i, _ in rows],
        "employer_id": [f"{p:012d}" for _, p in rows],
        "employer_name": [f"Firm {p} LLP" for _, p in rows],
    })  # fmt: skip
    caught = np.flatnonzero(violator)
    violations = pa.table({
        "person_record_id": [ids[i] for i in caught],
        "inviting_party": pa.nulls(len(caught), pa.string()),
        "employer_id": pa.nulls(len(caught), pa.string()),
    })  # fmt: skip
    planted = frozenset(ids[i] for i in members)
    return Registers(persons_table, employment, violations), planted
