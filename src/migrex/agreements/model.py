"""An agreement as plain, immutable objects and the questions the node asks of it.

Nothing here reads files or talks to a database: the loader builds an `Agreement` once, and
casework, exchange and statistics ask it whether a send is allowed, which fields a purpose may
receive and how long a partner has to answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from migrex.agreements.paths import path_matches, split_path
from migrex.errors import NotFound

# Every person attribute a data profile may grant. A profile naming anything else is rejected
# when the file loads, so a typo can never widen (or silently narrow) a disclosure.
PERSON_FIELDS: frozenset[str] = frozenset(
    {
        "surname",
        "given_name",
        "patronymic",
        "surname_latin",
        "given_name_latin",
        "sex",
        "birth_date",
        "citizenship",
        "document_type",
        "document_number",
        "national_id",
        "registration_region",
        "registration_address",
        "entry_date",
        "purpose_of_stay",
        "permit_type",
        "permit_valid_from",
        "permit_valid_to",
        "employer_id",
        "employer_name",
        "occupation_isco08",
        "employment_period",
        "violations",
        "citizenship_status",
    }
)

# The information categories the node has message types for. An agreement may use a subset;
# a category outside this set would have no casework behind it, so the loader refuses it.
KNOWN_CATEGORIES: frozenset[str] = frozenset(
    {
        "statistical",
        "legal",
        "methodological",
        "persons-present",
        "violations",
        "legal-status-consultation",
        "assistance",
        "citizenship-verification",
        "record-linkage",
    }
)

# The fields a record-linkage encoding can be built from (the segments of
# `migrex.linkage.layout.LAYOUT`). An agreement's linkage section may name only these, and a
# proposed run only those its agreement names.
LINKAGE_FIELDS: frozenset[str] = frozenset(
    {"surname", "given_name", "patronymic", "birth_date", "sex", "birth_place"}
)

# Screening findings that turn into a proposed refusal; the agreement says which ground each
# one proposes, and a reviewer confirms or changes it.
SCREENING_BREACHES: frozenset[str] = frozenset(
    {
        "category-not-allowed",
        "purpose-not-stated",
        "fields-outside-profile",
        "volume-exceeded",
    }
)


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


@dataclass(frozen=True)
class Party:
    state: str
    name: str


@dataclass(frozen=True)
class Ratification:
    state: str
    body: str
    on: date


@dataclass(frozen=True)
class Authority:
    """A competent authority; `names` maps language codes (ISO 639-1) to its name."""

    id: str
    state: str
    role: str
    original_language: str
    names: Mapping[str, str] = field(hash=False)

    @property
    def name_en(self) -> str:
        return self.names["en"]

    @property
    def name_original(self) -> str:
        return self.names[self.original_language]


@dataclass(frozen=True)
class Category:
    id: str
    title: str
    description: str
    personal_data: bool
    senders: frozenset[str]
    receivers: frozenset[str]


@dataclass(frozen=True)
class DataProfile:
    id: str
    description: str
    fields: frozenset[str]


@dataclass(frozen=True)
class Purpose:
    """Why data is exchanged; `profile` is None when the purpose carries no personal data."""

    id: str
    description: str
    categories: frozenset[str]
    article: str
    profile: str | None
    hit_no_hit_first: bool


@dataclass(frozen=True)
class RefusalGround:
    id: str
    description: str
    article: str


@dataclass(frozen=True)
class ResponsibleBody:
    state: str
    name: str
    authorities: frozenset[str]


@dataclass(frozen=True)
class VolumeLimits:
    max_persons_per_request: int
    max_persons_per_period: int
    period: timedelta


@dataclass(frozen=True)
class DataProtection:
    """Personal-data rules; `requested_party_may_verify` is the right to verify, study and
    refuse a doubtful request, and `responsible` the bodies answerable for the data."""

    article: str
    protected_channel_required: bool
    requested_party_may_verify: bool
    onward_transfer_allowed: bool
    retention: timedelta
    volume: VolumeLimits
    responsible: tuple[ResponsibleBody, ...]
    # Decisions ("disclosure", "refusal") a second officer must approve before they leave.
    second_officer: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ReferenceFigure:
    """A published figure that later statistics releases are checked against."""

    id: str
    description: str
    citizenship: str
    host_state: str
    year: int
    value: int
    reported_on: date


@dataclass(frozen=True)
class DatasetDimension:
    """A breakdown of a dataset: a dimension kind of `migrex.agreements.codelists` and its
    codelist."""

    id: str
    codelist: str


@dataclass(frozen=True)
class Dataset:
    """A statistics dataset the agreement provides for: who releases it, which records it
    counts (`population`, optionally only citizens of `citizenship`) in which host state,
    its breakdowns, and the tables (cross-classifications of some breakdowns) released."""

    id: str
    title: str
    population: str
    producer: str
    host_state: str
    citizenship: str | None
    dimensions: tuple[DatasetDimension, ...]
    tables: tuple[tuple[str, ...], ...]

    @property
    def dimension_ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.dimensions)


@dataclass(frozen=True)
class Linkage:
    """How the parties link their citizens' registers: for `purpose`, on `fields`, pairs
    scoring at least `threshold` are candidates, sent to the authorities `candidates_to`;
    `unit` is the linkage unit that compares the encodings, when the agreement names one;
    `hardening`, the encoder and hardening every run must use (`linkage.runs.HARDENING_VERSION`),
    when the agreement fixes one."""

    purpose: str
    fields: frozenset[str]
    threshold: float
    candidates_to: frozenset[str]
    unit: str | None = None
    hardening: str | None = None


@dataclass(frozen=True)
class Provenance:
    source: str
    configuration: tuple[str, ...]


@dataclass(frozen=True)
class Agreement:
    """One agreement as loaded from its file; mappings keep the file's order.

    Built only by the loader after every cross-reference was checked, so the query methods
    can rely on each referenced id existing.
    """

    id: str
    version: str
    title: str
    hypothetical: bool
    parties: tuple[Party, ...]
    signed_on: date
    signed_at: str
    ratifications: tuple[Ratification, ...]
    valid_from: date
    valid_until: date | None
    authorities: Mapping[str, Authority] = field(hash=False)
    categories: Mapping[str, Category] = field(hash=False)
    purposes: Mapping[str, Purpose] = field(hash=False)
    profiles: Mapping[str, DataProfile] = field(hash=False)
    refusal_grounds: Mapping[str, RefusalGround] = field(hash=False)
    screening: Mapping[str, str] = field(hash=False)
    data_protection: DataProtection = field(hash=False)
    deadlines: Mapping[str, Mapping[Urgency, timedelta]] = field(hash=False)
    disclosure_threshold: int = field(hash=False)
    # Each blank's feasible range reaches at least this far above its count, and as far below
    # as the count allows (a count is never negative): see `migrex.stats.intervals`.
    protection_interval: int = field(hash=False)
    rounding_base: int | None = field(hash=False)
    datasets: Mapping[str, Dataset] = field(hash=False)
    max_envelope_bytes: int = field(hash=False)
    message_lifetime: timedelta = field(hash=False)
    reference_figures: tuple[ReferenceFigure, ...] = field(hash=False)
    provenance: Provenance = field(hash=False)
    # None: the agreement provides for no record linkage.
    linkage: Linkage | None = field(default=None, hash=False)

    def authority(self, authority_id: str) -> Authority:
        """The authority with this id; raises NotFound when the agreement has none."""
        try:
            return self.authorities[authority_id]
        except KeyError:
            raise NotFound(f"agreement {self.id} has no authority {authority_id!r}") from None

    def authorities_of(self, state: str) -> tuple[Authority, ...]:
        """The state's competent authorities in file order (empty if it is not a party)."""
        return tuple(a for a in self.authorities.values() if a.state == state)

    def partner_states(self, state: str) -> frozenset[str]:
        """The other parties; empty when `state` is not a party at all."""
        states = frozenset(p.state for p in self.parties)
        return states - {state} if state in states else frozenset()

    def may_send(self, category: str, sender: str, recipient: str) -> bool:
        """Whether `sender` may send `category` to `recipient` under this agreement.

        Only cross-border sends count: an agreement between states does not govern two
        authorities of the same state talking to each other.
        """
        found = self.categories.get(category)
        if found is None or sender not in found.senders or recipient not in found.receivers:
            return False
        return self.authorities[sender].state != self.authorities[recipient].state

    def purpose(self, purpose_id: str) -> Purpose:
        """The purpose with this id; raises NotFound when the agreement has none."""
        try:
            return self.purposes[purpose_id]
        except KeyError:
            raise NotFound(f"agreement {self.id} has no purpose {purpose_id!r}") from None

    def profile_for(self, purpose_id: str) -> DataProfile | None:
        """The purpose's data profile, or None when the purpose carries no personal data."""
        profile = self.purpose(purpose_id).profile
        return None if profile is None else self.profiles[profile]

    def fields_allowed(self, purpose_id: str) -> frozenset[str]:
        """The person fields a reply for this purpose may carry (empty: none at all)."""
        profile = self.profile_for(purpose_id)
        return frozenset() if profile is None else profile.fields

    def fields_outside_profile(self, purpose_id: str, requested: Iterable[str]) -> frozenset[str]:
        """The requested fields the purpose's profile does not grant; empty when all fit."""
        return frozenset(requested) - self.fields_allowed(purpose_id)

    def deadline(self, category: str, urgency: Urgency = Urgency.NORMAL) -> timedelta:
        """How long the requested party has to answer; raises NotFound for a foreign category."""
        try:
            return self.deadlines[category][urgency]
        except KeyError:
            raise NotFound(f"agreement {self.id} has no category {category!r}") from None

    def refusal_ground(self, ground_id: str) -> RefusalGround:
        """The refusal ground with this id; raises NotFound when the agreement has none."""
        try:
            return self.refusal_grounds[ground_id]
        except KeyError:
            known = ", ".join(self.refusal_grounds)
            raise NotFound(
                f"agreement {self.id} has no refusal ground {ground_id!r}; its grounds: {known}"
            ) from None

    def proposed_ground(self, breach: str) -> RefusalGround:
        """The refusal ground a screening breach proposes (see SCREENING_BREACHES)."""
        try:
            return self.refusal_grounds[self.screening[breach]]
        except KeyError:
            raise NotFound(f"agreement {self.id} has no ground for {breach!r}") from None

    def is_in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)

    def is_configuration(self, path: str) -> bool:
        """Whether the value at this key path is configuration rather than a sourced fact.

        A path counts when a provenance pattern names it or any table or array it sits in;
        a malformed path raises ValueError.
        """
        segments = split_path(path)
        return any(
            path_matches(split_path(pattern), segments[:length])
            for pattern in self.provenance.configuration
            for length in range(1, len(segments) + 1)
        )

    def has_configuration(self, path: str) -> bool:
        """Whether the value at `path`, or anything inside it, is configuration."""
        segments = split_path(path)
        return self.is_configuration(path) or any(
            path_matches(split_path(pattern)[: len(segments)], segments)
            for pattern in self.provenance.configuration
        )


def agreements_of(authority_id: str, agreements: Iterable[Agreement]) -> tuple[Agreement, ...]:
    """The agreements in which this authority takes part; one node serves several."""
    return tuple(a for a in agreements if authority_id in a.authorities)
