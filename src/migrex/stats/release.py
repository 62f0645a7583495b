"""A statistics release as it travels and is stored: one dataset, one period, one version.

Keys are in the dataset's dimension order with `_T` where a table does not break a dimension
down, so the cells tables share (the totals by sex, the grand total) appear once. A suppressed
observation has no value at all, only its CONF_STATUS; nothing about it can leak from here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime

from migrex.agreements.codelists import codelists
from migrex.errors import MigrexError
from migrex.stats.cube import TOTAL, CellKey
from migrex.stats.published import ConfStatus, Observation


class ReleaseInvalid(MigrexError):
    type_slug = "release-invalid"
    title = "The statistics release is invalid"
    status = 422
    exit_code = 19


@dataclass(frozen=True)
class ReleaseDimension:
    id: str
    codelist: str


@dataclass(frozen=True)
class ReleaseTemplate:
    """Everything a release says besides its period and observations: what a producer fills
    in from its agreement, and what a receiver expects from its own copy of the agreement and
    the exchange a payload came in. `unit` is an SDMX CL_UNIT_MEASURE code (PS persons, NR
    number of events); `rounding_base` is set when published values were rounded to its
    multiples."""

    agreement_id: str
    dataset_id: str
    title: str
    producer: str
    host_state: str
    citizenship: str | None
    unit: str
    dimensions: tuple[ReleaseDimension, ...]
    version: int
    prepared_at: datetime
    rounding_base: int | None = None

    @classmethod
    def of(cls, release: ReleaseTemplate) -> ReleaseTemplate:
        """The template of a release (or a copy of a template)."""
        return cls(**{f.name: getattr(release, f.name) for f in fields(ReleaseTemplate)})

    def release(self, period: int, observations: tuple[Observation, ...]) -> Release:
        header = {f.name: getattr(self, f.name) for f in fields(ReleaseTemplate)}
        return Release(**header, period=period, observations=observations)


@dataclass(frozen=True, kw_only=True)
class Release(ReleaseTemplate):
    """A template filled in: one period's observations."""

    period: int
    observations: tuple[Observation, ...]
    _index: Mapping[CellKey, Observation] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.version < 1:
            raise ReleaseInvalid("a release version starts at 1")
        lists = codelists()
        allowed = []
        for dimension in self.dimensions:
            if dimension.codelist not in lists:
                raise ReleaseInvalid(f"unknown codelist {dimension.codelist!r}")
            allowed.append(frozenset(lists[dimension.codelist].ids))
        index: dict[CellKey, Observation] = {}
        for observation in self.observations:
            self._check(observation, allowed)
            if observation.key in index:
                raise ReleaseInvalid(f"observation {observation.key} is given twice")
            index[observation.key] = observation
        if not index:
            raise ReleaseInvalid("a release has at least one observation")
        object.__setattr__(self, "_index", index)

    def _check(self, observation: Observation, allowed: list[frozenset[str]]) -> None:
        if len(observation.key) != len(self.dimensions):
            raise ReleaseInvalid(
                f"observation {observation.key} does not have one code per dimension"
            )
        for code, codes, dimension in zip(observation.key, allowed, self.dimensions, strict=True):
            if code not in codes:
                raise ReleaseInvalid(f"{code!r} is not a code of {dimension.codelist}")
        value, free = observation.value, observation.status is ConfStatus.FREE
        if (value is None or value < 0) if free else value is not None:
            raise ReleaseInvalid(
                f"observation {observation.key}: a free value is a count, a suppressed one empty"
            )

    @property
    def dimension_ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.dimensions)

    @property
    def grand_total_key(self) -> CellKey:
        return tuple(TOTAL for _ in self.dimensions)

    def get(self, key: CellKey) -> Observation | None:
        return self._index.get(key)

    def value(self, key: CellKey) -> int | None:
        observation = self._index.get(key)
        return None if observation is None else observation.value

    def __iter__(self) -> Iterator[Observation]:
        return iter(self.observations)

    def published(self) -> Release:
        """The release as it leaves the node: every blank with the one confidential code."""
        shown = tuple(Observation(o.key, o.value, o.status.published) for o in self.observations)
        return dataclasses.replace(self, observations=shown)

    @property
    def blank_count(self) -> int:
        return sum(o.status is not ConfStatus.FREE for o in self.observations)

    @property
    def primary_count(self) -> int:
        return sum(o.status is ConfStatus.PRIMARY for o in self.observations)

    @property
    def secondary_count(self) -> int:
        return sum(o.status is ConfStatus.SECONDARY for o in self.observations)
