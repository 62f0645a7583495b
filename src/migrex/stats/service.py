"""Use cases of statistics: prepare and publish a release, store a partner's, read, compare.

Publishing is one unit of work: the release and its observations are stored together, as the
next version of the dataset and period, with what changed since the previous version, and the
decision is an audit entry written in the same transaction (G5). An officer publishes: the
permission (`Action.RELEASE_STATISTICS` for the dataset's producer) is checked inside that unit
of work, and the officer is recorded as the releaser.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from migrex.agreements import Agreement
from migrex.agreements.model import Dataset
from migrex.audit import events
from migrex.audit.pending import record
from migrex.errors import Conflict, NotFound
from migrex.officers.model import Action, Officer, require
from migrex.stats.aggregate import Counts, count, dimensions_of
from migrex.stats.comparison import Change, compare
from migrex.stats.cube import CellKey
from migrex.stats.linked import protect_linked
from migrex.stats.linked_design import LinkedTables
from migrex.stats.published import ConfStatus, Observation
from migrex.stats.release import Release, ReleaseDimension, ReleaseInvalid, ReleaseTemplate
from migrex.stats.tables import ObservationRow, ReleaseRow
from migrex.stats.vintages import from_versions
from migrex.uow import UnitOfWork

OWN = "own"
PARTNER = "partner"
_UNITS = {"workers": "PS", "persons-present": "PS", "violations": "NR"}


def dataset_of(agreement: Agreement, dataset_id: str) -> Dataset:
    try:
        return agreement.datasets[dataset_id]
    except KeyError:
        known = ", ".join(agreement.datasets) or "none"
        raise NotFound(
            f"agreement {agreement.id} defines no dataset {dataset_id!r} (it has: {known})"
        ) from None


def unit_of(dataset: Dataset) -> str:
    """The SDMX unit of measure of what the dataset counts."""
    return _UNITS[dataset.population]


def template_of(
    agreement: Agreement, dataset: Dataset, *, version: int, prepared_at: datetime,
    rounding_base: int | None,
) -> ReleaseTemplate:  # fmt: skip
    """Everything a release of `dataset` says besides its period and figures."""
    return ReleaseTemplate(
        agreement_id=agreement.id,
        dataset_id=dataset.id,
        title=dataset.title,
        producer=dataset.producer,
        host_state=dataset.host_state,
        citizenship=dataset.citizenship,
        unit=unit_of(dataset),
        dimensions=tuple(ReleaseDimension(d.id, d.codelist) for d in dataset.dimensions),
        version=version,
        prepared_at=prepared_at,
        rounding_base=rounding_base,
    )


def prepare(
    connection: duckdb.DuckDBPyConnection,
    agreement: Agreement,
    dataset_id: str,
    period: int,
    *,
    now: datetime,
    version: int = 1,
    earlier: Sequence[Release] = (),
) -> Release:
    """Count, protect and (when the agreement says so) round one period of a dataset;
    `earlier` are the versions of it already released (see `earlier_versions`)."""
    counts = count(connection, dataset_of(agreement, dataset_id), period)
    return release_of(agreement, counts, now=now, version=version, earlier=earlier)


def release_of(
    agreement: Agreement, counts: Counts, *, now: datetime, version: int = 1,
    earlier: Sequence[Release] = (),
) -> Release:  # fmt: skip
    """The release of counted tables: linked disclosure control against an attacker who also
    holds the `earlier` versions, then optional rounding."""
    dataset = counts.dataset
    tables = LinkedTables.from_tables(tuple(dimensions_of(dataset).values()), counts.tables)
    threshold = agreement.disclosure_threshold
    knowledge, withheld = from_versions(
        tables.design.keys, tables.values, [r.observations for r in earlier], threshold
    )
    protected = protect_linked(
        tables, threshold, protection=agreement.protection_interval, forced=withheld,
        knowledge=knowledge,
    )  # fmt: skip
    observations = list(protected.observations())
    if agreement.rounding_base is not None:
        observations = [_rounded(o, agreement.rounding_base) for o in observations]
    template = template_of(agreement, dataset, version=version, prepared_at=now,
                           rounding_base=agreement.rounding_base)  # fmt: skip
    return template.release(counts.period, tuple(observations))


def earlier_versions(
    session: Session, agreement: Agreement, dataset_id: str, period: int
) -> list[Release]:
    """Every version of our own release of `dataset_id` for `period`, oldest first."""
    dataset = dataset_of(agreement, dataset_id)
    numbers = session.scalars(
        select(ReleaseRow.version)
        .where(
            ReleaseRow.agreement_id == agreement.id,
            ReleaseRow.dataset_id == dataset_id,
            ReleaseRow.producer == dataset.producer,
            ReleaseRow.origin == OWN,
            ReleaseRow.period == period,
        )
        .order_by(ReleaseRow.version)
    ).all()
    return [load(session, agreement, dataset_id, period, version=n) for n in numbers]


def _rounded(observation: Observation, base: int) -> Observation:
    if observation.value is None:
        return observation
    # Counts are never negative, so half away from zero is half up.
    value = (observation.value * 2 + base) // (2 * base) * base
    return Observation(observation.key, value, observation.status)


@dataclass(frozen=True)
class Stored:
    release: Release
    changes: list[dict[str, object]] | None


def _key_text(key: CellKey) -> str:
    return ".".join(key)


def _latest(
    session: Session, agreement_id: str, dataset_id: str, producer: str, period: int
) -> ReleaseRow | None:
    return session.scalars(
        select(ReleaseRow)
        .where(
            ReleaseRow.agreement_id == agreement_id,
            ReleaseRow.dataset_id == dataset_id,
            ReleaseRow.producer == producer,
            ReleaseRow.period == period,
        )
        .order_by(ReleaseRow.version.desc())
        .limit(1)
    ).first()


def _observations(session: Session, release_id: int) -> dict[str, tuple[int | None, str]]:
    rows = session.execute(
        select(ObservationRow.key, ObservationRow.value, ObservationRow.status).where(
            ObservationRow.release_id == release_id
        )
    )
    return {key: (value, status) for key, value, status in rows}


def changes_between(
    before: dict[str, tuple[int | None, str]], after: dict[str, tuple[int | None, str]]
) -> list[dict[str, object]]:
    """Each observation whose value or status differs, with both versions' value and status."""

    def shown(entry: tuple[int | None, str] | None) -> dict[str, object] | None:
        return None if entry is None else {"value": entry[0], "status": entry[1]}

    return [
        {"key": key, "before": shown(before.get(key)), "after": shown(after.get(key))}
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    ]


def store(
    session: Session, release: Release, *, origin: str, actor: str, now: datetime,
    reason: str | None = None, message_id: str | None = None,
) -> Stored:  # fmt: skip
    """Store `release` as the next version (own) or as the version it names (partner); an
    own version's audit entry ("released" or "revised") is queued for the commit.

    An own release identical to the latest version is refused: there is nothing to revise.
    A partner version already stored with the same content is accepted once (a repeated
    message); with other content it is a conflict, and the stored version stays.
    """
    latest = _latest(session, release.agreement_id, release.dataset_id, release.producer,
                     release.period)  # fmt: skip
    observations = {_key_text(o.key): (o.value, str(o.status)) for o in release.observations}
    before = _observations(session, latest.id) if latest is not None else None
    if origin == OWN:
        version = 1 if latest is None else latest.version + 1
        if before == observations:
            raise Conflict(
                f"{release.dataset_id} {release.period} version {latest.version} "  # type: ignore[union-attr]
                "already holds exactly these figures: nothing to revise"
            )
    else:
        version = release.version
        if latest is not None and version <= latest.version:
            raise Conflict(
                f"{release.producer} already sent version {latest.version} of "
                f"{release.dataset_id} {release.period}; version {version} is not newer"
            )
    changes = changes_between(before, observations) if before is not None else None
    row = ReleaseRow(
        agreement_id=release.agreement_id, dataset_id=release.dataset_id,
        producer=release.producer, origin=origin, period=release.period, version=version,
        prepared_at=release.prepared_at, stored_at=now, stored_by=actor,
        rounding_base=release.rounding_base, message_id=message_id,
        changes=None if changes is None else json.dumps(changes), reason=reason,
    )  # fmt: skip
    session.add(row)
    session.flush()
    session.execute(
        insert(ObservationRow),
        [
            {"release_id": row.id, "key": key, "value": value, "status": status}
            for key, (value, status) in observations.items()
        ],
    )
    stored = dataclasses.replace(release, version=version)
    if origin == OWN:
        # Every own version stored, by whatever path, is its producer's audited decision; a
        # partner's is audited as the message that brought it is filed.
        event = "revised" if changes is not None else "released"
        record_release_decision(session, stored, event=event, actor=actor, now=now)
    return Stored(stored, changes)


def release_reference(release: Release) -> str:
    """How the audit log names one version of a release (a release has no case)."""
    return f"release-{release.dataset_id}-{release.period}-v{release.version}"


def record_release_decision(
    session: Session, release: Release, *, event: str, actor: str, now: datetime,
    message_id: str | None = None,
) -> None:  # fmt: skip
    """The audit entry of a decision on one version of our release ("released", "revised",
    "sent"), appended when the use case commits. A decision, not administration: it is taken
    for the producing authority, which the entry names, by an officer allowed to release."""
    entry = events.decision(at=now, actor=actor, authority=release.producer,
                            case_id=release_reference(release), event=event,
                            purpose="migration-statistics", message_id=message_id)  # fmt: skip
    record(session, entry)


@dataclass(frozen=True)
class Publish:
    """Release one period of a dataset: `connection` reaches the registries to count."""

    agreement: Agreement
    dataset_id: str
    period: int
    connection: duckdb.DuckDBPyConnection
    reason: str | None = None


def publish(uow: UnitOfWork, officer: Officer, command: Publish, now: datetime) -> Stored:
    """Count, protect and store the next version of our release, audited, in one commit.

    NotAuthorised unless the officer may release statistics for the dataset's producer;
    ReleaseInvalid for a period without records; Conflict when nothing changed."""
    dataset = dataset_of(command.agreement, command.dataset_id)
    require(officer, Action.RELEASE_STATISTICS, dataset.producer)
    earlier = earlier_versions(uow.session, command.agreement, dataset.id, command.period)
    release = prepare(command.connection, command.agreement, dataset.id, command.period,
                      now=now, earlier=earlier)  # fmt: skip
    stored = store(uow.session, release, origin=OWN, actor=officer.actor, now=now,
                   reason=command.reason)  # fmt: skip
    uow.commit()
    return stored


def load(
    session: Session, agreement: Agreement, dataset_id: str, period: int, *,
    producer: str | None = None, version: int | None = None,
) -> Release:  # fmt: skip
    """A stored release: the latest version unless `version` is given."""
    dataset = dataset_of(agreement, dataset_id)
    producer = producer or dataset.producer
    statement = select(ReleaseRow).where(
        ReleaseRow.agreement_id == agreement.id,
        ReleaseRow.dataset_id == dataset_id,
        ReleaseRow.producer == producer,
        ReleaseRow.period == period,
    )
    if version is not None:
        statement = statement.where(ReleaseRow.version == version)
    row = session.scalars(statement.order_by(ReleaseRow.version.desc()).limit(1)).first()
    if row is None:
        which = f"version {version} of " if version is not None else ""
        raise NotFound(f"no release {which}{dataset_id} for {period} by {producer}")
    observations = [
        Observation(tuple(key.split(".")), value, ConfStatus(status))
        for key, (value, status) in sorted(_observations(session, row.id).items())
    ]
    template = template_of(
        agreement, dataset, version=row.version, prepared_at=row.prepared_at,
        rounding_base=row.rounding_base,
    )  # fmt: skip
    return template.release(period, tuple(observations))


@dataclass(frozen=True)
class ReleaseSummary:
    dataset_id: str
    producer: str
    origin: str
    period: int
    version: int
    prepared_at: datetime
    stored_at: datetime
    grand_total: int | None
    changed: int | None
    reason: str | None


def releases(
    session: Session, agreement_id: str, dataset_id: str | None = None
) -> list[ReleaseSummary]:
    """Every stored version, newest period and version first."""
    statement = select(ReleaseRow).where(ReleaseRow.agreement_id == agreement_id)
    if dataset_id is not None:
        statement = statement.where(ReleaseRow.dataset_id == dataset_id)
    rows = session.scalars(
        statement.order_by(
            ReleaseRow.dataset_id, ReleaseRow.period.desc(), ReleaseRow.version.desc()
        )
    ).all()
    return [
        ReleaseSummary(
            r.dataset_id,
            r.producer,
            r.origin,
            r.period,
            r.version,
            r.prepared_at,
            r.stored_at,
            _grand_total(session, r.id),
            None if r.changes is None else len(json.loads(r.changes)),
            r.reason,
        )
        for r in rows
    ]


def _grand_total(session: Session, release_id: int) -> int | None:
    values = _observations(session, release_id)
    width = len(next(iter(values)).split(".")) if values else 0
    return values.get(".".join(["_T"] * width), (None, ""))[0]


@dataclass(frozen=True)
class YearOverYear:
    key: CellKey
    points: list[tuple[int, int | None]]
    changes: list[tuple[int, int, Change]]


def year_over_year(
    session: Session, agreement: Agreement, dataset_id: str, periods: Sequence[int], *,
    producer: str | None = None, key: CellKey | None = None,
) -> YearOverYear:  # fmt: skip
    """One observation (the grand total by default) across periods, latest version of each,
    with the change from each period to the next."""
    if len(periods) < 2:
        raise ReleaseInvalid("a comparison needs at least two periods")
    ordered = sorted(periods)
    found = [load(session, agreement, dataset_id, p, producer=producer) for p in ordered]
    wanted = key or found[0].grand_total_key
    points = [(r.period, r.value(wanted)) for r in found]
    changes = [(a[0], b[0], compare(a[1], b[1])) for a, b in itertools.pairwise(points)]
    return YearOverYear(wanted, points, changes)


def count_releases(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ReleaseRow)) or 0
