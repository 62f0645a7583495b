"""Demo step: Kazakhstan's Ministry of Labour releases the 2024 and 2025 figures on Armenian
workers, sends them to Armenia's node as SDMX, and Armenia compares the years and draws them."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from rich.table import Table

from migrex.casework.service import OpenRequest, node_context, open_request
from migrex.console import out
from migrex.node import Node
from migrex.stats import sources
from migrex.stats.charts import breakdown_chart, year_over_year_chart
from migrex.stats.messaging import release_body
from migrex.stats.release import Release
from migrex.stats.service import OWN, load, prepare, releases, store, year_over_year

AGREEMENT = "kz-am-2024"
DATASET = "am-workers-in-kz"
PERIODS = (2024, 2025)


def _release(kz: Node, period: int) -> Release:
    agreement = kz.agreements[AGREEMENT]
    now = datetime.now(UTC)
    with kz.unit_of_work() as uow:
        prepared = prepare(sources.from_database(uow.session, "workers"), agreement, DATASET,
                           period, now=now)  # fmt: skip
        stored = store(uow.session, prepared, origin=OWN, actor="demo:statistician", now=now)
        uow.commit()
    release = stored.release
    out.print(
        f"  kz-mlsp releases {DATASET} {period} v{release.version}: "
        f"{len(release.observations)} cells, {release.primary_count} below the threshold of "
        f"{agreement.disclosure_threshold} and {release.secondary_count} more blanked so they "
        "cannot be recomputed"
    )
    return release


def _send(kz: Node, release: Release) -> None:
    with kz.unit_of_work() as uow:
        opened = open_request(
            uow, node_context(kz),
            OpenRequest(AGREEMENT, "kz-mlsp", "am-mcs", "statistical-information",
                        release_body(release), "demo:statistician"),
            datetime.now(UTC),
        )  # fmt: skip
    out.print(f"  kz-mlsp → am-mcs: SDMX-CSV of {release.period} [dim]{opened.message_id}[/]")


def _received(am: Node) -> int:
    with am.unit_of_work() as uow:
        return len(releases(uow.session, AGREEMENT, DATASET))


def run_statistics(kz: Node, am: Node, charts: Path) -> tuple[dict[int, int | None], str]:
    """Releases, sends, compares; returns the totals Armenia received by year and the change
    it computed between the last two."""
    out.rule("[bold]9. Statistics: released in Kazakhstan, compared in Armenia")
    for period in PERIODS:
        _send(kz, _release(kz, period))
    deadline = time.monotonic() + 30
    while _received(am) < len(PERIODS) and time.monotonic() < deadline:
        time.sleep(0.2)
    agreement = am.agreements[AGREEMENT]
    with am.unit_of_work() as uow:
        comparison = year_over_year(uow.session, agreement, DATASET, list(PERIODS))
        latest = load(uow.session, agreement, DATASET, PERIODS[-1])
    table = Table("year", "Armenian citizens working in Kazakhstan", "change", "reference")
    references = {f.year: f.value for f in agreement.reference_figures}
    steps = ["", *(change.label() for _, _, change in comparison.changes)]
    for (year, value), step in zip(comparison.points, steps, strict=True):
        table.add_row(str(year), "suppressed" if value is None else f"{value:,}", step,
                      f"{references.get(year, 0):,} (ratification debate)")  # fmt: skip
    out.print("Armenia's node received the partner's releases and compares them:")
    out.print(table)
    label = comparison.changes[-1][2].label()
    files = [
        *year_over_year_chart(comparison.points, title=latest.title, change_label=label,
                              directory=charts, stem=f"{DATASET}-year-over-year"),
        *breakdown_chart(latest, "region", by="sex", directory=charts,
                         stem=f"{DATASET}-{PERIODS[-1]}-region"),
    ]  # fmt: skip
    out.print("charts: " + ", ".join(f"[cyan]{path}[/]" for path in files))
    return dict(comparison.points), label
