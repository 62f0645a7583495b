"""Employers of each state and the context every generation step shares.

Kazakh employers are identified by a BIN, or by the owner's IIN for a sole trader (ИП), as
Kazakh law has it; Armenian ones by a taxpayer number. Employer sizes are heavy-tailed: a few
large contractors employ hundreds of foreigners (and house them in one dormitory), which is
legitimate clustering an analyst must tell apart from a planted channel.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from migrex.synth.arrays import Ints, birth_days, day, uniform_days, where
from migrex.synth.numbers import NumberBook, am_tax_ids, bins, iins
from migrex.synth.places import SECTOR_NAMES, addresses, draw_regions, draw_sectors, firm_names


@dataclass(frozen=True)
class Employers:
    node: str
    ids: pa.Array
    names: pa.Array
    sector: Ints
    region: Ints  # index into places.regions(node)
    weight: npt.NDArray[np.float64]  # probability of being picked; 0 for planted front firms
    dormitory: pa.Array  # address where it houses its foreign workers, or null

    def __len__(self) -> int:
        return len(self.sector)

    def pick(self, rng: np.random.Generator, n: int, sector: str | None = None) -> Ints:
        weight = self.weight
        in_sector = self.sector == SECTOR_NAMES.index(sector) if sector else None
        if in_sector is not None and (weight * in_sector).sum() > 0:
            weight = np.where(in_sector, weight, 0.0)
        return rng.choice(len(weight), size=n, p=weight / weight.sum()).astype(np.int64)

    def with_extra(self, ids: pa.Array, names: pa.Array, sector: Ints, region: Ints) -> Employers:
        """These employers plus firms nobody picks at random (the planted channels' fronts)."""
        return replace(
            self,
            ids=pa.concat_arrays([self.ids, ids]),
            names=pa.concat_arrays([self.names, names]),
            sector=np.concatenate([self.sector, sector]),
            region=np.concatenate([self.region, region]),
            weight=np.concatenate([self.weight, np.zeros(len(sector))]),
            dormitory=pa.concat_arrays([self.dormitory, pa.nulls(len(sector), pa.string())]),
        )


@dataclass
class Context:
    """What generation steps share: the seed, the issued numbers, the employers."""

    seed: int
    book: NumberBook = field(default_factory=NumberBook)
    employers: dict[str, Employers] = field(default_factory=dict)
    kz_citizen_ids: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))

    def rng(self, step: str) -> np.random.Generator:
        """A generator of its own per step, so one step's draws never shift another's."""
        return np.random.default_rng([self.seed, zlib.crc32(step.encode())])


def organisation_ids(
    ctx: Context, rng: np.random.Generator, node: str, n: int, sole_trader: npt.NDArray[np.bool_]
) -> pa.Array:
    """KZ: BINs (some of foreign companies' branches), or the owner's IIN for a sole trader;
    AM: taxpayer numbers."""
    if node == "AM":
        return am_tax_ids(ctx.book, rng, n)
    registered = uniform_days(rng, day(1996, 1, 1), day(2024, 12, 31), n)
    firm_ids = bins(ctx.book, rng, registered, rng.random(n) < 0.06)
    owners = np.flatnonzero(sole_trader)
    if not len(owners):
        return firm_ids
    owner_birth = birth_days(rng, rng.uniform(25, 65, len(owners)))
    owner_ids = iins(ctx.book, rng, owner_birth, rng.random(len(owners)) < 0.4)
    merged = firm_ids.to_numpy(zero_copy_only=False).astype(object)
    merged[owners] = owner_ids.to_numpy(zero_copy_only=False)
    return pa.array(merged, pa.string())


def make_employers(ctx: Context, node: str, n: int) -> Employers:
    rng = ctx.rng(f"employers-{node}")
    sector = draw_sectors(rng, node, n)
    region = draw_regions(rng, node, n)
    sole_trader = rng.random(n) < (0.15 if node == "KZ" else 0.1)
    ids = organisation_ids(ctx, rng, node, n, sole_trader)
    # Zipf-like sizes in random order: rank r gets weight 1 / r^0.8.
    rank = rng.permutation(n) + 1
    weight = 1.0 / rank**0.8
    big = rank <= max(5, n // 20)
    dormitory = where(big, addresses(rng, node, region))
    return Employers(
        node=node,
        ids=ids,
        names=firm_names(rng, node, sector, sole_trader),
        sector=sector,
        region=region,
        weight=weight / weight.sum(),
        dormitory=dormitory,
    )


def employer_region_or_branch(
    rng: np.random.Generator, employers: Employers, employer: Ints
) -> Ints:
    """Most spells are in the employer's own region; one in ten at a branch elsewhere."""
    branch = rng.random(len(employer)) < 0.1
    return np.where(
        branch, draw_regions(rng, employers.node, len(employer)), employers.region[employer]
    )
