"""What the console's statistics pages read: the releases of an agreement with the messages
that carried ours to partners, and one release as its reader sees it (its cross-tables, one
breakdown, the earlier period beside it).

Releases are aggregates the agreement's parties share: an officer who may view statistics
for an authority of the agreement hosted here reads every release of it, ours and our
partners' (as `migrex stats list` and `show` do). What a reader is handed is the release as
it leaves the node (`Release.published`): every blank carries the one confidential code, so
neither a value nor the reason a cell is blank (primary or secondary) can reach a page.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from migrex.agreements import Agreement
from migrex.agreements.codelists import Code, codelists
from migrex.exchange.tables import OutboxMessage
from migrex.officers.model import Action, Officer, authorities_for, may
from migrex.stats.breakdown import Row, breakdown_rows
from migrex.stats.comparison import Change, compare
from migrex.stats.cube import TOTAL, CellKey
from migrex.stats.published import Observation
from migrex.stats.release import Release
from migrex.stats.service import OWN, PARTNER, ReleaseSummary, dataset_of, load, releases

KIND = "statistical-information"


def require_reader(officer: Officer, agreement: Agreement, hosted: Sequence[str]) -> None:
    """NotAuthorised unless the officer may view statistics for an authority of `agreement`
    that the node hosts."""
    parties = [a for a in hosted if a in agreement.authorities]
    authorities_for(officer, Action.VIEW_STATISTICS, parties, None)


def readable(
    officer: Officer, agreements: Mapping[str, Agreement], hosted: Sequence[str]
) -> list[Agreement]:
    """The agreements whose releases the officer may read, by id."""
    return [
        agreements[a] for a in sorted(agreements)
        if any(may(officer, Action.VIEW_STATISTICS, h) for h in hosted
               if h in agreements[a].authorities)
    ]  # fmt: skip


@dataclass(frozen=True)
class Sent:
    """One message that carried a version of our release to a partner."""

    recipient: str
    message_id: str
    status: str
    created_at: datetime


VersionKey = tuple[str, int, int]  # dataset, period, version


def sends(session: Session, agreement_id: str) -> dict[VersionKey, list[Sent]]:
    """The statistical-information messages of the agreement in our outbox that carry a
    release, by the version they carry, oldest first."""
    rows = session.execute(
        select(OutboxMessage.body, OutboxMessage.recipient, OutboxMessage.message_id,
               OutboxMessage.status, OutboxMessage.created_at)
        .where(OutboxMessage.agreement_id == agreement_id, OutboxMessage.type == KIND)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )  # fmt: skip
    found: dict[VersionKey, list[Sent]] = {}
    for body, recipient, message_id, status, created_at in rows:
        header = _release_header(body)
        if header is not None:
            found.setdefault(header, []).append(Sent(recipient, message_id, status, created_at))
    return found


def _release_header(body: str) -> VersionKey | None:
    try:
        header = json.loads(body).get("release")
        return str(header["dataset"]), int(header["period"]), int(header["version"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


@dataclass(frozen=True)
class Listed:
    """One stored version and, for ours, the messages that carried it."""

    summary: ReleaseSummary
    sent: list[Sent]


@dataclass(frozen=True)
class Releases:
    agreement: Agreement
    own: list[Listed]
    received: list[Listed]


def release_list(
    session: Session, officer: Officer, agreement: Agreement, hosted: Sequence[str]
) -> Releases:
    """Every version of the agreement's releases, ours and those partners sent, newest
    period and version first within each dataset."""
    require_reader(officer, agreement, hosted)
    sent = sends(session, agreement.id)
    listed = [
        Listed(s, sent.get((s.dataset_id, s.period, s.version), []) if s.origin == OWN else [])
        for s in releases(session, agreement.id)
    ]
    return Releases(
        agreement,
        [item for item in listed if item.summary.origin == OWN],
        [item for item in listed if item.summary.origin == PARTNER],
    )


@dataclass(frozen=True)
class CrossTable:
    """One table of a dataset as released: its rows are the codes of every dimension but the
    last, its columns the codes of the last, totals last; a cell is None where the release
    has no such observation."""

    dimensions: tuple[str, ...]
    rows: list[tuple[Code, ...]]
    columns: list[Code]
    cells: dict[tuple[tuple[str, ...], str], Observation | None]

    def cell(self, row: Sequence[Code], column: Code) -> Observation | None:
        return self.cells.get((tuple(c.id for c in row), column.id))


def _totals_last(codes: Iterable[Code]) -> list[Code]:
    listed = list(codes)
    return [c for c in listed if c.id != TOTAL] + [c for c in listed if c.id == TOTAL]


def cross_tables(release: Release, tables: Sequence[Sequence[str]]) -> list[CrossTable]:
    """The dataset's `tables` (each a list of dimension ids) laid out from `release`, every
    dimension not in a table at its total."""
    lists = codelists()
    codes_of = {d.id: _totals_last(lists[d.codelist].codes) for d in release.dimensions}
    ids = release.dimension_ids
    laid_out = []
    for table in tables:
        *across, last = table
        rows = list(itertools.product(*(codes_of[d] for d in across)))
        cells: dict[tuple[tuple[str, ...], str], Observation | None] = {}
        for row in rows:
            chosen = {d: code.id for d, code in zip(across, row, strict=True)}
            for column in codes_of[last]:
                key = tuple(column.id if d == last else chosen.get(d, TOTAL) for d in ids)
                cells[tuple(c.id for c in row), column.id] = release.get(key)
        laid_out.append(CrossTable(tuple(table), rows, codes_of[last], cells))
    return laid_out


@dataclass(frozen=True)
class Compared:
    """One observation in the earlier period and in this one; `code` is None for the grand
    total."""

    code: str | None
    label: str
    change: Change


def compared(previous: Release, current: Release, dimension_id: str) -> list[Compared]:
    """The grand total and each code of `dimension_id` (the others at their totals) in
    `previous` and `current`, with the change; a cell either release lacks is left out."""
    ids = current.dimension_ids
    codelist = {d.id: d.codelist for d in current.dimensions}[dimension_id]
    wanted: list[tuple[str | None, str, CellKey]] = [(None, "", current.grand_total_key)]
    for code in codelists()[codelist].codes:
        if code.id != TOTAL:
            key = tuple(code.id if d == dimension_id else TOTAL for d in ids)
            wanted.append((code.id, code.name, key))
    found = []
    for code_id, label, key in wanted:
        before, after = previous.get(key), current.get(key)
        if before is not None and after is not None:
            found.append(Compared(code_id, label, compare(before.value, after.value)))
    return found


@dataclass(frozen=True)
class YearTotal:
    """The grand total of a period's latest version, and its change from the period before
    it in the list (None for the first)."""

    period: int
    total: int | None
    change: Change | None


def totals_by_year(stored: Iterable[ReleaseSummary]) -> list[YearTotal]:
    """Per period, oldest first, the grand total of its latest version (None when blank)."""
    latest: dict[int, ReleaseSummary] = {}
    for summary in stored:
        if summary.period not in latest or summary.version > latest[summary.period].version:
            latest[summary.period] = summary
    years: list[YearTotal] = []
    for period in sorted(latest):
        total = latest[period].grand_total
        change = compare(years[-1].total, total) if years else None
        years.append(YearTotal(period, total, change))
    return years


@dataclass(frozen=True)
class ReleaseView:
    """One version of a release as a reader sees it."""

    agreement: Agreement
    release: Release  # published: every blank "C"
    summary: ReleaseSummary
    versions: list[ReleaseSummary]  # every version of this dataset and period, newest first
    tables: list[CrossTable]
    dimension: str  # the breakdown drawn and compared
    breakdown: list[Row]
    previous: Release | None  # the latest version of the latest earlier period, published
    comparison: list[Compared]
    years: list[YearTotal]  # every period stored of this dataset
    sent: list[Sent]
    may_send: bool  # ours, and the officer may release the producer's statistics


def release_view(
    session: Session, officer: Officer, agreement: Agreement, hosted: Sequence[str], *,
    dataset_id: str, period: int, version: int | None = None, dimension: str | None = None,
) -> ReleaseView:  # fmt: skip
    """Version `version` (the latest if None) of the dataset's release for `period`, its
    breakdown by `dimension` (the first if None; ChartInvalid for one it has not) and the
    comparison with the latest earlier period stored, if any. NotAuthorised unless the
    officer may read the agreement's statistics; NotFound when no such version is stored."""
    require_reader(officer, agreement, hosted)
    dataset = dataset_of(agreement, dataset_id)
    release = load(session, agreement, dataset_id, period, version=version).published()
    stored = releases(session, agreement.id, dataset_id)
    versions = [s for s in stored if s.period == period]
    [summary] = [s for s in versions if s.version == release.version]
    chosen = dimension or release.dimension_ids[0]
    breakdown = breakdown_rows(release, chosen)
    earlier = sorted({s.period for s in stored if s.period < period})
    previous = load(session, agreement, dataset_id, earlier[-1]).published() if earlier else None
    sent = sends(session, agreement.id).get((dataset_id, period, release.version), [])
    return ReleaseView(
        agreement, release, summary, versions, cross_tables(release, dataset.tables), chosen,
        breakdown, previous, [] if previous is None else compared(previous, release, chosen),
        totals_by_year(stored), sent if summary.origin == OWN else [],
        summary.origin == OWN and may(officer, Action.RELEASE_STATISTICS, release.producer),
    )  # fmt: skip
