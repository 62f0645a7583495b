"""Random registers for the channel detector, a generator apart from `migrex synth`: a
background with heavy-tailed parties, one address per person (a few shared by chance),
arrivals over three years and violations at a base rate; optionally planted channels, with
the cohesion and camouflage of FRAUDAR's protocol (members also employed by ordinary firms,
1:1 or 2:1 to their channel links, at random or biased toward popular firms).

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
    seed: int,
    persons: int = 3000,
    plant: Plant | None = None,
    base_rate: float = 0.03,
    channels: int = 1,
) -> tuple[Registers, list[frozenset[str]]]:
    """The registers and each planted channel's record ids (none without a plant)."""
    rng = np.random.default_rng(seed)
    n_parties = max(50, persons // 10)
    popularity = 1.0 / np.arange(1, n_parties + 1) ** 0.9
    popularity /= popularity.sum()
    ids = [f"P{i:07d}" for i in range(persons)]
    inviter = rng.choice(n_parties, size=persons, p=popularity)
    other = rng.choice(n_parties, persons, p=popularity)
    employer = np.where(rng.random(persons) < 0.7, inviter, other)
    address = rng.integers(0, int(persons * 1.5), persons)
    entry = rng.integers(0, 3 * 365, persons)
    point = rng.integers(0, len(POINTS), persons)
    violator = rng.random(persons) < base_rate
    extra: list[tuple[int, int]] = []
    planted: list[frozenset[str]] = []
    if plant is not None:
        chosen = rng.choice(persons, size=plant.members * channels, replace=False)
        for number in range(channels):
            members = chosen[number * plant.members : (number + 1) * plant.members]
            parties = n_parties + number * plant.parties + np.arange(plant.parties)
            flats = persons * 2 + number * plant.addresses + np.arange(plant.addresses)
            entry[members] = int(rng.integers(0, 2 * 365)) + rng.integers(
                0, plant.window_days, plant.members
            )
            point[members] = number % len(POINTS)
            violator[members] = rng.random(plant.members) < plant.caught
            for m in members:
                mine = [p for p in parties if rng.random() < plant.cohesion]
                inviter[m] = mine[0] if mine else inviter[m]
                employer[m] = mine[-1] if mine else employer[m]
                extra += [(int(m), int(p)) for p in mine[1:-1]]
                at_flat = rng.random() < plant.cohesion
                if at_flat:
                    address[m] = int(rng.choice(flats))
                # Camouflage: the member is also employed by ordinary firms.
                count = round(plant.camouflage * (len(mine) + at_flat))
                weights = popularity if plant.biased else None
                extra += [(int(m), int(p)) for p in rng.choice(n_parties, count, p=weights)]
            planted.append(frozenset(ids[i] for i in members))
    persons_table = pa.table({
        "record_id": ids,
        "entry_date": _days(entry),
        "entry_point": [POINTS[p] for p in point],
        "registration_address": [f"Almaty, Abay {a // 200}, flat {a % 200}" for a in address],
        "inviting_party": [f"{p:012d}" for p in inviter],
    })  # fmt: skip
    rows = [(i, int(employer[i])) for i in range(persons)] + extra
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
    return Registers(persons_table, employment, violations), planted
