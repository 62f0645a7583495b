"""Lawful look-alikes of a channel, planted on request (`ChannelOptions.hard_negatives`).

A university's foreign students arrive within days of the term through one airport, invited
by the university and registered at its dormitory; a big employer's season hire arrives over
a few months through one crossing, invited and employed by it and housed in its hostel.
Both share an inviter, an address and an entry window as a channel does, and both are
lawful: their members are caught no more often than anyone else. They are not in the
ground truth; a detector that ranks them among its leads makes a false one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrex.synth.arrays import NO_DATE, Frame, concat, day, labels
from migrex.synth.employers import Context, organisation_ids
from migrex.synth.foreigners import AM_FOREIGNERS, KZ_FOREIGNERS, cohort
from migrex.synth.permits import STUDY, WORK
from migrex.synth.places import SECTOR_NAMES, addresses, firm_names, regions
from migrex.synth.spells import Spells, no_spells


@dataclass(frozen=True)
class LookAlike:
    node: str
    kind: str  # "dormitory" (a university's students) or "hostel" (an employer's hire)
    citizenship: str
    members: int
    entry_point: str
    region: str  # ISO 3166-2; a hostel is in its employer's region
    window_days: int


LOOK_ALIKES = (
    LookAlike("KZ", "dormitory", "CHN", 90, "ALA-AIRPORT", "KZ-75", 10),
    LookAlike("KZ", "hostel", "UZB", 120, "ZHIBEK-ZHOLY-ROAD", "", 120),
    LookAlike("AM", "dormitory", "IND", 70, "EVN-AIRPORT", "AM-ER", 10),
)


def _look_alike(ctx: Context, spec: LookAlike) -> tuple[Frame, Spells]:
    rng = ctx.rng(f"look-alike-{spec.node}-{spec.kind}-{spec.citizenship}")
    node, n = spec.node, spec.members
    codes = list(regions(node))
    employers = ctx.employers[node]
    if spec.kind == "hostel":
        # The biggest employer with a dormitory of its own.
        housed = np.asarray(pc.is_valid(employers.dormitory), dtype=bool)
        firm = int(np.argmax(np.where(housed, employers.weight, -1.0)))
        region = int(employers.region[firm])
        inviter, home = employers.ids[firm].as_py(), employers.dormitory[firm].as_py()
        opened = day(2024, 3, 1)
    else:
        region = codes.index(spec.region)
        education = np.array([SECTOR_NAMES.index("education")])
        university = organisation_ids(ctx, rng, node, 1, np.zeros(1, dtype=bool))
        names = firm_names(rng, node, education, np.zeros(1, dtype=bool))
        ctx.employers[node] = employers.with_extra(university, names, education, np.full(1, region))
        inviter = university[0].as_py()
        home = addresses(rng, node, np.full(1, region))[0].as_py()
        opened = day(2024, 8, 20)
    entry = (opened + rng.integers(0, spec.window_days + 1, n)).astype(np.int32)
    if spec.kind == "hostel":
        start = entry + rng.integers(3, 11, n)
        spells = Spells(
            np.arange(n, dtype=np.int64),
            start.astype(np.int32),
            np.full(n, NO_DATE, dtype=np.int32),
            np.full(n, firm, dtype=np.int64),
            np.full(n, region, dtype=np.int64),
        )
        purpose = np.full(n, WORK, dtype=np.int64)
    else:
        spells, purpose = no_spells(), np.full(n, STUDY, dtype=np.int64)
    nat = next(x for x in (*KZ_FOREIGNERS, *AM_FOREIGNERS) if x.code == spec.citizenship)
    persons = cohort(ctx, rng, node, nat, purpose, spells=spells, entry=entry)
    at_home = rng.random(n) < 0.92
    persons["registration_address"] = pc.if_else(
        pa.array(at_home),
        pa.array([home] * n, pa.string()),
        addresses(rng, node, np.full(n, region)),
    )
    persons["registration_region"] = labels(codes, np.full(n, region, dtype=np.int64))
    persons["entry_point"] = labels((spec.entry_point,), np.zeros(n, dtype=np.int64))
    persons["inviting_party"] = pa.array([inviter] * n, pa.string())
    persons["departure_date"] = np.full(n, NO_DATE, dtype=np.int32)
    return persons, spells


def lawful_clusters(ctx: Context, node: str) -> tuple[Frame, Spells]:
    """The node's look-alikes, rows numbered from 0 across them."""
    frames, spells, offset = [], [], 0
    for spec in (s for s in LOOK_ALIKES if s.node == node):
        persons, worked = _look_alike(ctx, spec)
        frames.append(persons)
        spells.append(worked.shifted(offset))
        offset += spec.members
    return concat(frames), Spells.join(spells)
