"""`migrex stats`: release, list, show, export, compare, chart and send statistics releases.

Every command acts as a named officer (`officers.cli_identity`), with the permission table the
officers' API uses, checked inside the unit of work that reads or writes:

* `release`, `send` and `export` decide what leaves the node: they need
  `Action.RELEASE_STATISTICS` for the dataset's producer (an authority hosted here, so a
  partner's release is neither re-released nor exported from this node);
* `list`, `show`, `compare` and `chart` read releases, which are aggregates the agreement's
  parties share: they need `Action.VIEW_STATISTICS` for at least one authority of the
  agreement hosted here, and then show every release of that agreement, ours and our
  partners'.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from migrex.agreements import Agreement
from migrex.casework.service import node_context
from migrex.console import json_array_option, out, print_json_array
from migrex.context import node_from
from migrex.errors import NotFound
from migrex.node import Node
from migrex.officers.cli_identity import Token, acting, signed_in
from migrex.officers.model import Action, Officer
from migrex.stats import sources
from migrex.stats.charts import breakdown_chart, year_over_year_chart
from migrex.stats.cube import TOTAL
from migrex.stats.messaging import SendRelease, send_release
from migrex.stats.published import ConfStatus
from migrex.stats.queries import require_reader
from migrex.stats.release import Release
from migrex.stats.sdmx_data import release_to_sdmx_csv, release_to_sdmx_ml
from migrex.stats.sdmx_structure import structures_to_sdmx_ml
from migrex.stats.service import (
    Publish,
    changes_between,
    dataset_of,
    load,
    publish,
    releases,
    year_over_year,
)
from migrex.uow import UnitOfWork

app = typer.Typer(no_args_is_help=True)

AgreementOption = Annotated[
    str | None, typer.Option("--agreement", help="agreement id (default: the node's only one)")
]
DatasetOption = Annotated[str, typer.Option("--dataset", help="dataset id from the agreement")]
PeriodOption = Annotated[int, typer.Option("--period", help="reference year")]
VersionOption = Annotated[int | None, typer.Option(help="version (default: the latest)")]
ProducerOption = Annotated[
    str | None, typer.Option(help="producing authority (default: the dataset's producer)")
]


class Format(StrEnum):
    SDMX_ML = "sdmx-ml"
    SDMX_CSV = "sdmx-csv"
    STRUCTURE = "structure"


def _reader(uow: UnitOfWork, token: str | None, node: Node, agreement: Agreement) -> Officer:
    """The officer holding `token`, once allowed to view statistics for an authority of
    `agreement` hosted here; NotAuthenticated or NotAuthorised otherwise."""
    officer = signed_in(uow, token)
    require_reader(officer, agreement, node.settings.authorities)
    return officer


def _agreement(node: Node, agreement_id: str | None) -> Agreement:
    agreements = node.agreements
    if agreement_id is None:
        if len(agreements) != 1:
            raise typer.BadParameter(f"--agreement is one of: {', '.join(sorted(agreements))}")
        return next(iter(agreements.values()))
    if agreement_id not in agreements:
        raise NotFound(f"the node serves no agreement {agreement_id!r}")
    return agreements[agreement_id]


def _count(value: int | None, status: ConfStatus) -> str:
    return f"{value:,}" if value is not None else f"[dim]suppressed ({status})[/]"


@app.command("release")
def release_command(
    ctx: typer.Context,
    dataset: DatasetOption,
    period: PeriodOption,
    agreement: AgreementOption = None,
    parquet: Annotated[
        Path | None, typer.Option(help="count registry files in this folder, not the database")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="why a new version is released")] = None,
    token: Token = None,
) -> None:
    """Count a dataset for a year, protect it and store it as its next version."""
    node = node_from(ctx)
    chosen = _agreement(node, agreement)
    producer = dataset_of(chosen, dataset).producer
    population = dataset_of(chosen, dataset).population
    with node.unit_of_work() as uow:
        officer = acting(uow, token, Action.RELEASE_STATISTICS, producer)
        connection = (
            sources.from_parquet(parquet, population)
            if parquet is not None
            else sources.from_database(uow.session, population)
        )
        command = Publish(chosen, dataset, period, connection, reason)
        stored = publish(uow, officer, command, datetime.now(UTC))
    released = stored.release
    total = released.value(released.grand_total_key)
    out.print(
        f"{released.dataset_id} {released.period} version {released.version}: "
        f"{len(released.observations)} cells, total {_count(total, ConfStatus.FREE)}, "
        f"{released.primary_count} primary and {released.secondary_count} secondary blanks"
    )
    if stored.changes is not None:
        out.print(
            f"  {len(stored.changes)} observations differ from version {released.version - 1}"
        )


@app.command("list")
def list_command(
    ctx: typer.Context,
    agreement: AgreementOption = None,
    dataset: Annotated[str | None, typer.Option(help="only this dataset")] = None,
    as_json: Annotated[bool, json_array_option("release version")] = False,
    token: Token = None,
) -> None:
    """Every stored release version, ours and our partners'."""
    node = node_from(ctx)
    chosen = _agreement(node, agreement)
    with node.unit_of_work() as uow:
        _reader(uow, token, node, chosen)
        found = releases(uow.session, chosen.id, dataset)
    if as_json:
        # A suppressed total is null, as in the release itself.
        print_json_array(
            {"dataset_id": r.dataset_id, "period": r.period, "version": r.version,
             "producer": r.producer, "origin": r.origin, "grand_total": r.grand_total,
             "changed": r.changed, "stored_at": r.stored_at}
            for r in found
        )  # fmt: skip
        return
    table = Table("dataset", "period", "version", "producer", "origin", "total", "changed",
                  "stored")  # fmt: skip
    for r in found:
        table.add_row(
            r.dataset_id, str(r.period), str(r.version), r.producer, r.origin,
            "suppressed" if r.grand_total is None else f"{r.grand_total:,}",
            "" if r.changed is None else str(r.changed), f"{r.stored_at:%Y-%m-%d %H:%M}",
        )  # fmt: skip
    out.print(table)


def _loaded(
    node: Node, token: str | None, agreement: str | None, dataset: str, period: int,
    version: int | None, producer: str | None,
) -> Release:  # fmt: skip
    """A stored release, for an officer allowed to view the agreement's statistics."""
    chosen = _agreement(node, agreement)
    with node.unit_of_work() as uow:
        _reader(uow, token, node, chosen)
        return load(uow.session, chosen, dataset, period, producer=producer, version=version)


@app.command("show")
def show_command(
    ctx: typer.Context,
    dataset: DatasetOption,
    period: PeriodOption,
    agreement: AgreementOption = None,
    version: VersionOption = None,
    producer: ProducerOption = None,
    by: Annotated[
        str | None, typer.Option(help="show one breakdown, e.g. region (default: the totals)")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print JSON: the release, with every observation")
    ] = False,
    token: Token = None,
) -> None:
    """A release's figures: the totals, or one breakdown with the others at their totals."""
    node = node_from(ctx)
    release = _loaded(node, token, agreement, dataset, period, version, producer)
    if as_json:
        rows = [
            {"key": dict(zip(release.dimension_ids, o.key, strict=True)), "value": o.value,
             "conf_status": str(o.status)}
            for o in release.observations
        ]  # fmt: skip
        print(json.dumps({"dataset": dataset, "period": period, "version": release.version,
                          "observations": rows}, indent=2))  # fmt: skip
        return
    out.print(f"[bold]{release.title}[/], {release.period}, version {release.version} "
              f"({release.producer})")  # fmt: skip
    names = release.dimension_ids
    wanted = [by] if by else []
    if by is not None and by not in names:
        raise typer.BadParameter(f"--by is one of: {', '.join(names)}")
    table = Table(*(wanted or ["total"]), "value", "status")
    for observation in release.observations:
        free = [n for n, code in zip(names, observation.key, strict=True) if code != TOTAL]
        if free == wanted:
            label = [observation.key[names.index(by)]] if by else ["all"]
            table.add_row(*label, _count(observation.value, observation.status),
                          str(observation.status))  # fmt: skip
    out.print(table)


@app.command("export")
def export_command(
    ctx: typer.Context,
    dataset: DatasetOption,
    period: PeriodOption,
    output: Annotated[Path, typer.Option("--out", "-o", help="file to write")],
    format_: Annotated[Format, typer.Option("--format", help="what to write")] = Format.SDMX_ML,
    agreement: AgreementOption = None,
    version: VersionOption = None,
    token: Token = None,
) -> None:
    """Write one of our releases as SDMX-ML 3.0 or SDMX-CSV 2.0 (every blank "C"), or its
    structures as SDMX-ML 3.0: what may leave the node, so its producer's release right."""
    node = node_from(ctx)
    chosen = _agreement(node, agreement)
    producer = dataset_of(chosen, dataset).producer
    with node.unit_of_work() as uow:
        acting(uow, token, Action.RELEASE_STATISTICS, producer)
        release = load(uow.session, chosen, dataset, period, producer=producer, version=version)
    writers = {
        Format.SDMX_ML: release_to_sdmx_ml,
        Format.SDMX_CSV: release_to_sdmx_csv,
        Format.STRUCTURE: structures_to_sdmx_ml,
    }
    output.write_text(writers[format_](release), encoding="utf-8")
    out.print(f"{output}: {format_} of {dataset} {period} version {release.version}")


def _periods(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise typer.BadParameter("--periods is a comma-separated list of years") from None


@app.command("compare")
def compare_command(
    ctx: typer.Context,
    dataset: DatasetOption,
    periods: Annotated[str, typer.Option(help="years to compare, e.g. 2024,2025")] = "",
    versions: Annotated[
        str, typer.Option(help="or two versions of --period to compare, e.g. 1,2")
    ] = "",
    period: Annotated[int | None, typer.Option(help="the year whose versions to compare")] = None,
    agreement: AgreementOption = None,
    producer: ProducerOption = None,
    chart: Annotated[Path | None, typer.Option(help="also draw the chart in this folder")] = None,
    token: Token = None,
) -> None:
    """Year over year (the total), or what a revision changed between two versions."""
    node = node_from(ctx)
    chosen = _agreement(node, agreement)
    if versions:
        if period is None:
            raise typer.BadParameter("--versions needs --period")
        first, second = (int(v) for v in versions.split(","))
        with node.unit_of_work() as uow:
            _reader(uow, token, node, chosen)
            a = load(uow.session, chosen, dataset, period, producer=producer, version=first)
            b = load(uow.session, chosen, dataset, period, producer=producer, version=second)
        changed = changes_between(
            {".".join(o.key): (o.value, str(o.status)) for o in a.observations},
            {".".join(o.key): (o.value, str(o.status)) for o in b.observations},
        )
        out.print(f"{len(changed)} observations differ between versions {first} and {second}")
        for change in changed:
            out.print(f"  {change['key']}: {change['before']} → {change['after']}")
        return
    with node.unit_of_work() as uow:
        _reader(uow, token, node, chosen)
        comparison = year_over_year(uow.session, chosen, dataset, _periods(periods),
                                    producer=producer)  # fmt: skip
    for (year, value), step in zip(comparison.points, [None, *comparison.changes], strict=True):
        shown = "suppressed" if value is None else f"{value:,}"
        note = "" if step is None else f"  ({step[2].label()})"
        out.print(f"  {year}: {shown}{note}")
    if chart is not None:
        title = dataset_of(chosen, dataset).title
        label = comparison.changes[-1][2].label() if comparison.changes else ""
        stem = f"{dataset}-year-over-year"
        png, svg = year_over_year_chart(
            comparison.points, title=title, change_label=label, directory=chart, stem=stem
        )
        out.print(f"chart: {png} and {svg}")


@app.command("chart")
def chart_command(
    ctx: typer.Context,
    dataset: DatasetOption,
    period: PeriodOption,
    dimension: Annotated[str, typer.Option(help="the breakdown to draw, e.g. region")],
    output: Annotated[Path, typer.Option("--out", "-o", help="folder for the PNG and SVG")],
    by: Annotated[str | None, typer.Option(help="split each bar by, e.g. sex")] = None,
    agreement: AgreementOption = None,
    version: VersionOption = None,
    producer: ProducerOption = None,
    token: Token = None,
) -> None:
    """Draw one breakdown of a release as PNG and SVG."""
    node = node_from(ctx)
    release = _loaded(node, token, agreement, dataset, period, version, producer)
    png, svg = breakdown_chart(release, dimension, by=by, directory=output,
                               stem=f"{dataset}-{period}-{dimension}")  # fmt: skip
    out.print(f"chart: {png} and {svg}")


@app.command("send")
def send_command(
    ctx: typer.Context,
    dataset: DatasetOption,
    period: PeriodOption,
    recipient: Annotated[str, typer.Option("--to", help="partner authority")],
    agreement: AgreementOption = None,
    version: VersionOption = None,
    token: Token = None,
) -> None:
    """Send one of our releases to a partner authority as statistical information."""
    node = node_from(ctx)
    chosen = _agreement(node, agreement)
    producer = dataset_of(chosen, dataset).producer
    with node.unit_of_work() as uow:
        officer = acting(uow, token, Action.RELEASE_STATISTICS, producer)
        command = SendRelease(chosen, dataset, period, recipient, version)
        release, opened = send_release(uow, node_context(node), officer, command, datetime.now(UTC))
    out.print(
        f"{dataset} {period} version {release.version} sent to {recipient} "
        f"(message {opened.message_id})"
    )
