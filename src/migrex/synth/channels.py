"""Planted illegal-migration channels: the ground truth a graph analysis should find.

A channel is one inviting party bringing in dozens of people of one citizenship through one
crossing within a few weeks, registering most of them at one or two flats, often "employing"
them at a front firm, with violations following (illegal employment, a stated purpose that is
not the real one, false invitations, overstays). Legitimate large employers with dormitories
make similar-looking clusters in the background; only these are channels.

`ChannelOptions` varies the planting for benchmarks: the cohesion (the chance a member links
to each of the channel's entities: its inviter, its front firm, its flats, its crossing and
arrival window, or a broker's documents), camouflage as in FRAUDAR's protocol (members also
employed by ordinary firms, one or two such links per channel link, at random or biased
toward the big employers), and a null world without channels. The defaults plant today's
channels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrex.synth.arrays import (
    NO_DATE,
    TODAY,
    Bools,
    Days,
    Frame,
    Ints,
    concat,
    day,
    labels,
    to_date,
    uniform_days,
    where,
)
from migrex.synth.documents import ISSUED, OFFICE, broker_documents, draw_documents
from migrex.synth.employers import Context, Employers, organisation_ids
from migrex.synth.foreigners import AM_FOREIGNERS, KZ_FOREIGNERS, cohort
from migrex.synth.permits import PURPOSES
from migrex.synth.places import SECTOR_NAMES, addresses, firm_names, regions
from migrex.synth.spells import Spells, careers, no_spells
from migrex.synth.violations import (
    FALSE_INVITATION,
    ILLEGAL_EMPLOYMENT,
    NO_REGISTRATION,
    OVERSTAY,
    PURPOSE_MISMATCH,
    violation_rows,
)


@dataclass(frozen=True)
class ChannelPlan:
    node: str
    citizenship: str
    members: int
    entry_point: str
    region: str  # ISO 3166-2
    purpose: str  # the purpose of stay the members declare
    inviter: str  # "firm", "person" (a citizen's IIN), or "front" (the front firm itself)
    front_sector: str | None  # the front firm's sector; None: no registered employment
    window_days: int  # arrivals spread over this many days
    addresses: int  # flats most members are registered at
    violation_share: float
    shells: int = 1  # front firms in a chain members are moved between (same owners)
    # A document broker: members come each their own way (own inviter, flat, crossing and
    # time) with foreign documents one small office issued within a fortnight.
    broker: bool = False


_C = ChannelPlan
# node, citizenship, members, crossing, region, declared purpose, inviter, front firm's
# sector, arrival window (days), shared flats, share of members caught
PLANS = (
    _C(
        "KZ",
        "UZB",
        64,
        "ZHIBEK-ZHOLY-ROAD",
        "KZ-79",
        "business",
        "firm",
        "construction",
        21,
        2,
        0.7,
    ),
    _C("KZ", "KGZ", 48, "KORDAI-ROAD", "KZ-75", "private", "person", "trade", 35, 1, 0.6),
    _C("KZ", "CHN", 37, "ALA-AIRPORT", "KZ-19", "work", "front", "agriculture", 14, 2, 0.55),
    _C("KZ", "TUR", 29, "NQZ-AIRPORT", "KZ-71", "business", "firm", None, 28, 1, 0.65),
    _C("KZ", "UZB", 55, "KAIRAK-ROAD", "KZ-61", "private", "firm", "services", 42, 3, 0.6),
    _C("AM", "IND", 34, "EVN-AIRPORT", "AM-ER", "study", "firm", "construction", 30, 2, 0.65),
    _C("AM", "IRN", 26, "MEGHRI-ROAD", "AM-SU", "tourism", "firm", None, 21, 1, 0.6),
)
# Archetypes planted only on request (`ChannelOptions.more_archetypes`): a chain of three
# shell employers the members are moved between, so no one firm employs most of them.
# And document brokers: only the documents' issuing office and fortnight tie the members.
MORE_PLANS = (
    _C("KZ", "KGZ", 42, "KORDAI-ROAD", "KZ-75", "work", "front", "construction", 28, 2, 0.6, 3),
    _C("AM", "IRN", 24, "MEGHRI-ROAD", "AM-SU", "business", "firm", "trade", 28, 1, 0.6, 3),
    _C("KZ", "UZB", 38, "ZHIBEK-ZHOLY-ROAD", "KZ-79", "private", "person", None, 0, 1, 0.6,
       broker=True),
    _C("AM", "IND", 26, "EVN-AIRPORT", "AM-ER", "study", "person", None, 0, 1, 0.6,
       broker=True),
)  # fmt: skip
BROKER_DAYS: Final = 14  # a broker's batch of documents is issued within a fortnight
# What members are caught for: (illegal_employment, purpose_mismatch, false_invitation,
# overstay, no_registration); a declared "work" stay cannot mismatch.
_VIOLATION_MIX = (35, 25, 15, 20, 5)
_VIOLATION_KINDS = (
    ILLEGAL_EMPLOYMENT,
    PURPOSE_MISMATCH,
    FALSE_INVITATION,
    OVERSTAY,
    NO_REGISTRATION,
)


CAMOUFLAGE: Final = {"none": (0.0, False), "1:1": (1.0, False), "2:1": (2.0, False),
                     "biased": (1.0, True)}  # fmt: skip


@dataclass(frozen=True)
class ChannelOptions:
    """How channels are planted; the defaults are each plan's own shares and no camouflage."""

    planted: bool = True  # False: a null world without channels
    more_archetypes: bool = False  # also MORE_PLANS (shell-employer chains)
    hard_negatives: bool = False  # also lawful look-alikes (`lawful_clusters`)
    cohesion: float | None = None  # chance of each channel link; None: each plan's own shares
    camouflage: str = "none"  # a key of CAMOUFLAGE

    def __post_init__(self) -> None:
        if self.cohesion is not None and not 0.0 < self.cohesion <= 1.0:
            raise ValueError(f"cohesion must be in (0, 1]; got {self.cohesion}")
        if self.camouflage not in CAMOUFLAGE:
            raise ValueError(f"camouflage must be one of {', '.join(CAMOUFLAGE)}")


@dataclass(frozen=True)
class Channel:
    """A planted channel as ground truth; record ids refer to the node's registries."""

    channel_id: str
    node: str
    citizenship: str
    inviting_party: str
    employer_id: str  # where members work: the front firm, or an undeclared workplace
    employer_name: str
    front_firm: bool  # the employer registers members' employment (a front)
    addresses: tuple[str, ...]
    entry_point: str
    arrivals_from: date
    arrivals_to: date
    declared_purpose: str
    region: str
    member_record_ids: tuple[str, ...] = ()
    employment_record_ids: tuple[str, ...] = ()
    violation_record_ids: tuple[str, ...] = ()
    # A document broker's office and the days its members' documents were issued between.
    document_office: str | None = None
    documents_from: date | None = None
    documents_to: date | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            name: (
                value.isoformat()
                if isinstance(value, date)
                else list(value)
                if isinstance(value, tuple)
                else value
            )
            for name, value in self.__dict__.items()
            if value is not None or not name.startswith("document")
        }


@dataclass(frozen=True)
class PlantedChannels:
    persons: Frame  # with `_channel`: index into `channels`
    spells: Spells
    violations: Frame  # `_person` indexes `persons`
    channels: list[Channel]  # record id fields still empty


def _organisers(
    ctx: Context, rng: np.random.Generator, plan: ChannelPlan, region: int
) -> tuple[str, int]:
    """The inviting party's id and the index of the front firm among the node's employers.

    Two firms are set up for every channel (an inviting "consultancy" and a front employer);
    nobody else picks them at random. A private inviter is a citizen of the state."""
    node = plan.node
    employers = ctx.employers[node]
    sectors = np.array(
        [SECTOR_NAMES.index("finance"), SECTOR_NAMES.index(plan.front_sector or "services")]
    )
    ids = organisation_ids(ctx, rng, node, 2, np.zeros(2, dtype=bool))
    names = firm_names(rng, node, sectors, np.zeros(2, dtype=bool))
    ctx.employers[node] = employers.with_extra(ids, names, sectors, np.full(2, region))
    inviter = {"firm": ids[0].as_py(), "front": ids[1].as_py()}.get(plan.inviter)
    if inviter is None:
        inviter = ctx.kz_citizen_ids[int(rng.integers(0, len(ctx.kz_citizen_ids)))].as_py()
    if plan.shells > 1:
        more = plan.shells - 1
        kinds = np.full(more, sectors[1])
        ctx.employers[node] = ctx.employers[node].with_extra(
            organisation_ids(ctx, rng, node, more, np.zeros(more, dtype=bool)),
            firm_names(rng, node, kinds, np.zeros(more, dtype=bool)),
            kinds,
            np.full(more, region),
        )
    return str(inviter), len(employers) + 1


def _front_spells(
    rng: np.random.Generator,
    plan: ChannelPlan,
    entry: Days,
    front: int,
    region: int,
    *,
    cohesion: float | None = None,
) -> Spells:
    """Most members are "hired" by the front firm soon after arriving."""
    if plan.front_sector is None:
        return no_spells()
    hired = np.flatnonzero(rng.random(len(entry)) < (0.6 if cohesion is None else cohesion))
    start = entry[hired] + rng.integers(5, 41, len(hired))
    end = start + rng.integers(60, 301, len(hired))
    ongoing = (rng.random(len(hired)) < 0.5) | (end > TODAY)
    spells = Spells(
        hired,
        start.astype(np.int32),
        np.where(ongoing, NO_DATE, end).astype(np.int32),
        np.full(len(hired), front),
        np.full(len(hired), region),
    )
    if plan.shells <= 1:
        return spells
    return _chain(rng, spells, front, plan.shells)


def _chain(rng: np.random.Generator, hired: Spells, front: int, shells: int) -> Spells:
    """Members moved along a chain of shells: the first spell at a random firm of the chain
    (the front and the shells `_organisers` set up right after it), then, when it ends,
    one at the next firm of the chain."""
    n = len(hired.person)
    chain = front + np.arange(shells)
    at = rng.integers(0, shells, n)
    moved = (hired.end != NO_DATE) & (rng.random(n) < 0.8)
    start = hired.end[moved].astype(np.int64) + rng.integers(1, 15, int(moved.sum()))
    end = start + rng.integers(60, 241, len(start))
    ongoing = (rng.random(len(start)) < 0.5) | (end > TODAY)
    start = np.minimum(start, TODAY - 1)
    return Spells.join([
        Spells(hired.person, hired.start, hired.end, chain[at], hired.region),
        Spells(
            hired.person[moved],
            start.astype(np.int32),
            np.where(ongoing, NO_DATE, end).astype(np.int32),
            chain[(at[moved] + 1) % shells],
            hired.region[moved],
        ),
    ])  # fmt: skip


def _departures(rng: np.random.Generator, entry: Days, spells: Spells) -> Days:
    """Most are still there: a channel delivers people to stay and work."""
    n = len(entry)
    life = careers(spells, n)
    first = entry.astype(np.int64)
    leave = uniform_days(rng, first + 90, first + 400, n).astype(np.int64)
    leave = np.where(life.has_spell, np.maximum(leave, life.last_end.astype(np.int64) + 1), leave)
    gone = (rng.random(n) < 0.25) & ~life.ongoing & (leave <= TODAY)
    return np.where(gone, leave, NO_DATE).astype(np.int32)


def _camouflage(
    rng: np.random.Generator,
    employers: Employers,
    links: Ints,
    entry: Days,
    departure: Days,
    *,
    camouflage: str,
) -> Spells:
    """Employment at ordinary firms, `ratio` spells per channel link of each member, at
    firms drawn uniformly or (biased) by size; within the member's stay."""
    ratio, biased = CAMOUFLAGE[camouflage]
    count = np.rint(ratio * links).astype(np.int64)
    person = np.repeat(np.arange(len(links)), count)
    ordinary = np.flatnonzero(employers.weight > 0)
    if biased:
        employer = employers.pick(rng, len(person))
    else:
        employer = ordinary[rng.integers(0, len(ordinary), len(person))]
    gone = departure[person] != NO_DATE
    last = np.where(gone, departure[person], TODAY).astype(np.int64)
    first = np.minimum(entry[person].astype(np.int64) + 5, last - 1)
    start = uniform_days(rng, first, np.maximum(first, last - 30), len(person)).astype(np.int64)
    end = uniform_days(rng, np.minimum(start + 30, last), last, len(person)).astype(np.int64)
    ongoing = ~gone & (rng.random(len(person)) < 0.5)
    return Spells(
        person.astype(np.int64),
        start.astype(np.int32),
        np.where(ongoing, NO_DATE, end).astype(np.int32),
        employer.astype(np.int64),
        employers.region[employer],
    )


def _link_columns(
    persons: Frame, plan: ChannelPlan, inviter: str, linked: dict[str, Bools] | None
) -> None:
    """The crossing and the inviter: the channel's for linked members, else their own."""
    n = len(persons["surname"])
    crossing = labels((plan.entry_point,), np.zeros(n, dtype=np.int64))
    invited = pa.array([inviter] * n, pa.string())
    if linked is None:
        persons["entry_point"] = crossing
        persons["inviting_party"] = invited
    else:
        persons["entry_point"] = pc.if_else(
            pa.array(linked["window"]), crossing, persons["entry_point"]
        )
        persons["inviting_party"] = pc.if_else(
            pa.array(linked["inviter"]), invited, persons["inviting_party"]
        )


def _arrivals(
    rng: np.random.Generator, plan: ChannelPlan, opened: int, cohesion: float | None
) -> tuple[Days, dict[str, Bools] | None]:
    """Members' entry days, and with a cohesion set, which of the channel's links each
    member has, drawn on its own: who invited them, the crossing and window they came
    through, the flat (None: each plan's own shares)."""
    n = plan.members
    entry = (opened + rng.integers(0, plan.window_days + 1, n)).astype(np.int32)
    linked = (
        {name: rng.random(n) < cohesion for name in ("inviter", "window", "flat")}
        if cohesion is not None
        else None
    )
    if plan.broker:
        # Each member comes their own way, within half a year of the batch of documents.
        linked = {name: np.zeros(n, dtype=bool) for name in ("inviter", "window", "flat")}
        entry = (opened + BROKER_DAYS + rng.integers(20, 181, n)).astype(np.int32)
    elif linked is not None:
        scattered = uniform_days(rng, day(2023, 1, 1), day(2025, 9, 30), n)
        entry = np.where(linked["window"], entry, scattered).astype(np.int32)
    return entry, linked


def _plan_rows(
    ctx: Context, plan: ChannelPlan, number: int, options: ChannelOptions | None = None
) -> tuple[Frame, Spells, Frame, Channel]:
    rng = ctx.rng(f"channel-{plan.node}-{number}")
    n = plan.members
    node = plan.node
    region = list(regions(node)).index(plan.region)
    employers = ctx.employers[node]
    inviter, front = _organisers(ctx, rng, plan, region)
    cohesion = options.cohesion if options else None
    opened = int(uniform_days(rng, day(2023, 3, 1), day(2025, 4, 30), 1)[0])
    entry, linked = _arrivals(rng, plan, opened, cohesion)
    spells = _front_spells(rng, plan, entry, front, region, cohesion=cohesion)
    nat = next(x for x in (*KZ_FOREIGNERS, *AM_FOREIGNERS) if x.code == plan.citizenship)
    purpose = np.full(n, PURPOSES.index(plan.purpose), dtype=np.int64)
    persons = cohort(ctx, rng, node, nat, purpose, spells=spells, entry=entry)

    flats = addresses(rng, node, np.full(plan.addresses, region))
    at_flat = rng.random(n) < 0.85 if linked is None else linked["flat"]
    flat = flats.take(rng.integers(0, plan.addresses, n))
    persons["registration_address"] = pc.if_else(
        pa.array(at_flat), flat, addresses(rng, node, np.full(n, region))
    )
    persons["registration_region"] = labels((plan.region,), np.zeros(n, dtype=np.int64))
    _link_columns(persons, plan, inviter, linked)
    persons["departure_date"] = _departures(rng, entry, spells)
    documented = _broker_documents(rng, plan, persons, opened, cohesion) if plan.broker else None
    if options is not None and options.camouflage != "none":
        hired = np.bincount(spells.person, minlength=n) > 0
        links = at_flat.astype(np.int64) + hired
        links += linked["inviter"].astype(np.int64) + linked["window"] if linked else 2
        if documented is not None:
            links += documented[0]
        extra = _camouflage(
            rng,
            ctx.employers[node],
            links,
            entry,
            persons["departure_date"],
            camouflage=options.camouflage,
        )
        spells = Spells.join([spells, extra])
    persons["_channel"] = np.full(n, number, dtype=np.int64)

    caught = np.flatnonzero(rng.random(n) < plan.violation_share)
    mix = np.array(_VIOLATION_MIX, dtype=np.float64)
    if plan.purpose == "work":
        mix[1] = 0.0
    kind = np.asarray(_VIOLATION_KINDS)[rng.choice(5, size=len(caught), p=mix / mix.sum())]
    # Caught weeks to months after arriving, while still in the country.
    left = persons["departure_date"][caught].astype(np.int64)
    last = np.where(left == NO_DATE, TODAY, left)
    detected = uniform_days(rng, np.minimum(entry[caught] + 45, last), last, len(caught))
    # Without a front firm they work undeclared at one ordinary employer, where they are caught.
    workplace = front if plan.front_sector else int(employers.pick(rng, 1)[0])
    employer_id = ctx.employers[node].ids[workplace].as_py()
    caught_at: str | pa.Array = employer_id
    if plan.broker:
        # A broker's clients work wherever each found work: no workplace in common.
        caught_at = ctx.employers[node].ids.take(pa.array(employers.pick(rng, len(caught))))
    violations = violation_rows(
        rng,
        node,
        persons,
        caught,
        kind=kind,
        detected=detected,
        inviting_party=persons["inviting_party"].take(caught),
        employer_id=where(kind == ILLEGAL_EMPLOYMENT, caught_at),
    )
    violations["_channel"] = np.full(len(caught), number, dtype=np.int64)
    # The window is the channel's: members who came another way are outside it.
    window = entry[linked["window"]] if linked is not None and linked["window"].any() else entry
    channel = Channel(
        channel_id=f"{node}-CH-{number + 1}",
        node=node,
        citizenship=plan.citizenship,
        inviting_party=inviter,
        employer_id=employer_id,
        employer_name=ctx.employers[node].names[workplace].as_py(),
        front_firm=plan.front_sector is not None,
        addresses=tuple(flats.to_pylist()),
        entry_point=plan.entry_point,
        arrivals_from=to_date(int(window.min())),
        arrivals_to=to_date(int(window.max())),
        declared_purpose=plan.purpose,
        region=plan.region,
    )
    if documented is not None:
        channel = replace(channel, document_office=documented[1], documents_from=to_date(opened),
                          documents_to=to_date(opened + BROKER_DAYS - 1))  # fmt: skip
    return persons, spells, violations, channel


def _broker_documents(
    rng: np.random.Generator, plan: ChannelPlan, persons: Frame, opened: int,
    cohesion: float | None,
) -> tuple[Bools, str]:  # fmt: skip
    """The broker's documents for most members (each with the chance `cohesion`, else 0.9),
    documents of the background for the others; which members, and the broker's office."""
    n = plan.members
    birth = np.asarray(persons["birth_date"])
    office, issued, code = broker_documents(rng, persons["citizenship"], birth, opened, BROKER_DAYS)
    own_office, own_issued = draw_documents(
        rng, persons["citizenship"], np.asarray(persons["entry_date"]), birth
    )
    brokered = rng.random(n) < (0.9 if cohesion is None else cohesion)
    persons[OFFICE] = pc.if_else(pa.array(brokered), office, own_office)
    persons[ISSUED] = np.where(brokered, issued, own_issued).astype(np.int32)
    return brokered, code


def plant_channels(
    ctx: Context, node: str, options: ChannelOptions | None = None
) -> PlantedChannels:
    """The node's planted channels; persons' rows are numbered from 0 across channels."""
    if options is not None and not options.planted:
        return PlantedChannels({}, no_spells(), {}, [])
    persons, spells, violations, channels = [], [], [], []
    offset = 0
    plans = PLANS + MORE_PLANS if options is not None and options.more_archetypes else PLANS
    for number, plan in enumerate(p for p in plans if p.node == node):
        rows, worked, caught, channel = _plan_rows(ctx, plan, number, options)
        caught["_person"] = caught["_person"] + offset
        persons.append(rows)
        spells.append(worked.shifted(offset))
        violations.append(caught)
        channels.append(channel)
        offset += plan.members
    return PlantedChannels(concat(persons), Spells.join(spells), concat(violations), channels)
