"""A synthetic population for both nodes: registries per state and kind, plus ground truth.

`persons` is the number of foreigners present in Kazakhstan; everything else scales from it:
Kazakh citizens about as many, Armenian citizens half, foreigners in Armenia a quarter,
violations about 3 % of persons present. Planted structures (the report's worker figures,
the dual citizens, the channels) are fixed in size, so they hold at every scale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrex.registry.columns import Kind
from migrex.synth.arrays import TODAY, Days, Frame, Ints, concat, digits, take, to_table, where
from migrex.synth.channels import Channel, ChannelOptions, plant_channels
from migrex.synth.citizens import background_citizens
from migrex.synth.documents import fill_documents
from migrex.synth.dual import DUAL_CITIZENS, NEAR_MISSES, plant_dual_citizens, plant_near_misses
from migrex.synth.employers import Context, make_employers
from migrex.synth.foreigners import (
    AM_FOREIGNERS,
    ARMENIANS_IN_KZ,
    EAEU,
    KAZAKHS_IN_AM,
    KZ_FOREIGNERS,
    Nationality,
    cohort,
    draw_purposes,
    identities,
)
from migrex.synth.lawful import lawful_clusters
from migrex.synth.permits import WORK
from migrex.synth.places import draw_regions, region_codes
from migrex.synth.spells import Spells, armenian_spells, employment_frame, random_spells
from migrex.synth.violations import background_violations, unregistered_violations

# Below this the fixed planted structures would crowd out the background population.
MIN_PERSONS = 10_000
NODES = ("KZ", "AM")
GENERATION_STEPS = ("citizens", "employers", "persons present KZ", "persons present AM")
ARMENIANS_NOT_WORKING = 420  # families and students of the Armenian workers in Kazakhstan
VIOLATION_SHARE = 0.028
# Careers of workers: how many recorded employment spells (0: informal or not yet hired).
SPELLS_PER_WORKER = (0.08, 0.74, 0.15, 0.03)

Listener = Callable[[str], None]


@dataclass(frozen=True)
class GroundTruth:
    """What was planted; it never appears in a registry."""

    dual_citizens: pa.Table  # one row per person in both citizens' registries
    near_misses: pa.Table  # pairs that look alike but are two people
    channels: tuple[Channel, ...]


@dataclass(frozen=True)
class Population:
    persons: int
    seed: int
    registries: dict[str, dict[Kind, pa.Table]]  # node -> kind -> table
    ground_truth: GroundTruth

    def table(self, node: str, kind: Kind) -> pa.Table:
        return self.registries[node][kind]


def generate(
    persons: int,
    seed: int,
    progress: Listener | None = None,
    channels: ChannelOptions | None = None,
) -> Population:
    """Generates both nodes' registries; the same (persons, seed, channels) always gives the
    same data. `channels` varies the planted channels (`ChannelOptions`); without it, or with
    its defaults, they are planted as they always were."""
    if seed < 0:
        raise ValueError(f"seed must be zero or positive; got {seed}")
    if persons < MIN_PERSONS:
        raise ValueError(
            f"persons must be at least {MIN_PERSONS:,} (the planted 2,623 Armenian workers "
            f"and channels need room in the population); got {persons:,}"
        )
    report = progress or (lambda step: None)
    ctx = Context(seed)
    dual, near = plant_dual_citizens(ctx), plant_near_misses(ctx)
    planted = DUAL_CITIZENS + sum(NEAR_MISSES.values())
    citizens = {
        "KZ": concat([dual.kz, near.kz, background_citizens(ctx, "KZ", persons - planted)]),
        "AM": concat([dual.am, near.am, background_citizens(ctx, "AM", persons // 2 - planted)]),
    }
    # Private inviters are living adult citizens.
    kz = citizens["KZ"]
    inviters = (np.asarray(kz["birth_date"]) < TODAY - 18 * 365) & np.asarray(
        pc.equal(kz["status"], "active"), dtype=bool
    )
    ctx.kz_citizen_ids = kz["national_id"].filter(pa.array(inviters))
    report("citizens")
    ctx.employers["KZ"] = make_employers(ctx, "KZ", max(400, persons // 40))
    ctx.employers["AM"] = make_employers(ctx, "AM", max(150, persons // 160))
    report("employers")
    registries: dict[str, dict[Kind, pa.Table]] = {}
    found_channels: list[Channel] = []
    for node, present in (("KZ", persons), ("AM", persons // 4)):
        tables, found = _node(ctx, node, present, citizens[node], channels)
        registries[node] = tables
        found_channels += found
        report(f"persons present {node}")
    return Population(
        persons, seed, registries, GroundTruth(dual.truth, near.truth, tuple(found_channels))
    )


@dataclass(frozen=True)
class _Present:
    """A node's persons present before numbering: rows, spells, planted violations."""

    persons: Frame
    spells: Spells
    planted_violations: Frame
    channels: list[Channel]


def _present(
    ctx: Context, node: str, total: int, options: ChannelOptions | None = None
) -> _Present:
    rng = ctx.rng(f"persons-{node}")
    frames: list[Frame] = []
    spells: list[Spells] = []

    def add(frame: Frame, worked: Spells) -> int:
        offset = sum(len(f["surname"]) for f in frames)
        frames.append(frame)
        spells.append(worked.shifted(offset))
        return offset

    if node == "KZ":
        worked, armenians = armenian_spells(ctx.rng("armenian-workers"), ctx.employers[node])
        idle = ARMENIANS_NOT_WORKING + total // 2000
        purpose = np.concatenate(
            [np.full(armenians, WORK), draw_purposes(rng, ARMENIANS_IN_KZ, idle)]
        )
        add(cohort(ctx, rng, node, ARMENIANS_IN_KZ, purpose, spells=worked), worked)
    planted = plant_channels(ctx, node, options)
    if planted.channels:
        offset = add(planted.persons, planted.spells)
        planted.violations["_person"] = planted.violations["_person"] + offset
    if options is not None and options.hard_negatives:
        add(*lawful_clusters(ctx, node))
    rest = total - sum(len(f["surname"]) for f in frames)
    nationalities: list[tuple[Nationality, int]] = []
    if node == "AM":
        kazakhs = 300 + total // 400  # several hundred Kazakh citizens at any scale
        nationalities.append((KAZAKHS_IN_AM, kazakhs))
        rest -= kazakhs
    background = KZ_FOREIGNERS if node == "KZ" else AM_FOREIGNERS
    shares = np.array([nat.share for nat in background])
    nationalities += zip(background, rng.multinomial(rest, shares / shares.sum()), strict=True)
    for nat, count in nationalities:
        purpose = draw_purposes(rng, nat, int(count))
        workers = np.flatnonzero(purpose == WORK)
        jobs: Ints = rng.choice(len(SPELLS_PER_WORKER), size=len(workers), p=SPELLS_PER_WORKER)
        worked = random_spells(rng, ctx.employers[node], workers, jobs)
        add(cohort(ctx, rng, node, nat, purpose, spells=worked), worked)
    persons = concat(frames)
    persons.setdefault("_channel", np.full(len(persons["surname"]), -1, dtype=np.int64))
    if options is not None and options.more_archetypes:
        # The register gives documents' issuing offices and dates (optional columns).
        fill_documents(ctx.rng(f"documents-{node}"), persons)
    return _Present(persons, Spells.join(spells), planted.violations, planted.channels)


def _strangers(ctx: Context, rng: np.random.Generator, node: str, n: int) -> Frame:
    """People caught without any registration (they never appear in persons present)."""
    background = KZ_FOREIGNERS if node == "KZ" else AM_FOREIGNERS
    shares = np.array([nat.share for nat in background])
    frames = []
    for nat, count in zip(background, rng.multinomial(n, shares / shares.sum()), strict=True):
        if count:
            frame = identities(ctx, rng, nat, np.full(count, WORK), np.full(count, TODAY, np.int32))
            frame["registration_region"] = region_codes(node, draw_regions(rng, node, count))
            frames.append(frame)
    return concat(frames)


def _violations(ctx: Context, node: str, present: _Present, total: int) -> Frame:
    rng = ctx.rng(f"violations-{node}")
    persons = present.persons
    wanted = round(VIOLATION_SHARE * total)
    unregistered = max(5, wanted // 12)
    planted = len(present.planted_violations.get("_person", ()))
    eligible = np.flatnonzero(persons["_channel"] < 0)
    eaeu = np.asarray(
        pc.is_in(persons["citizenship"], value_set=pa.array(sorted(EAEU))), dtype=bool
    )
    registered = background_violations(
        rng, node, persons, eligible=eligible, n=max(0, wanted - planted - unregistered), eaeu=eaeu
    )
    strangers = unregistered_violations(rng, node, _strangers(ctx, rng, node, unregistered))
    parts = [present.planted_violations, registered, strangers]
    found = concat([part for part in parts if part])
    found.setdefault("_channel", np.full(len(found["_person"]), -1, dtype=np.int64))
    return found


def _ids(node: str, letter: str, n: int) -> pa.Array:
    return digits(np.arange(1, n + 1), 8, f"{node}-{letter}-")


def _node(
    ctx: Context, node: str, total: int, citizens: Frame, options: ChannelOptions | None = None
) -> tuple[dict[Kind, pa.Table], list[Channel]]:
    present = _present(ctx, node, total, options)
    violations = _violations(ctx, node, present, total)
    rng = ctx.rng(f"registries-{node}")
    # Registry order says nothing about how a row was made: persons are shuffled, then
    # numbered; spells follow their person; violations are in order of detection.
    n = len(present.persons["surname"])
    order = rng.permutation(n)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    ids = _ids(node, "P", n)
    persons = take(present.persons, order)
    persons["record_id"] = ids
    spells = present.spells
    employment = take(
        employment_frame(rng, ctx.employers[node], spells),
        np.lexsort((spells.start, position[spells.person])),
    )
    employment["record_id"] = _ids(node, "E", len(spells.start))
    employment["person_record_id"] = ids.take(position[employment["_person"]])
    detected: Days = np.asarray(violations["detected_on"])
    violations = take(violations, np.lexsort((rng.random(len(detected)), detected)))
    violations["record_id"] = _ids(node, "V", len(detected))
    who: Ints = np.asarray(violations["_person"])
    violations["person_record_id"] = where(who >= 0, ids.take(position[np.maximum(who, 0)]))
    tables = {
        Kind.PERSONS_PRESENT: to_table(Kind.PERSONS_PRESENT, persons),
        Kind.EMPLOYMENT: to_table(Kind.EMPLOYMENT, employment),
        Kind.CITIZENS: to_table(
            Kind.CITIZENS, take(citizens, rng.permutation(len(citizens["surname"])))
        ),
        Kind.VIOLATIONS: to_table(Kind.VIOLATIONS, violations),
    }
    channels = []
    member_of: Ints = np.asarray(persons["_channel"])
    employed_by: Ints = np.asarray(present.persons["_channel"])[employment["_person"]]
    caught_in: Ints = np.asarray(violations["_channel"])
    for number, channel in enumerate(present.channels):
        channels.append(
            replace(
                channel,
                member_record_ids=_pick(ids, member_of == number),
                employment_record_ids=_pick(employment["record_id"], employed_by == number),
                violation_record_ids=_pick(violations["record_id"], caught_in == number),
            )
        )
    return tables, channels


def _pick(values: pa.Array, mask: Ints) -> tuple[str, ...]:
    return tuple(values.filter(pa.array(np.asarray(mask, dtype=bool))).to_pylist())
