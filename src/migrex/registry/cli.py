"""`migrex registry`: import registry files (first or again), show what the registries hold."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from migrex.console import out, progress_bar
from migrex.context import node_from
from migrex.errors import ImportRejected
from migrex.officers.cli_identity import administrator
from migrex.registry.apply import ImportedFile
from migrex.registry.columns import Kind
from migrex.registry.files import FORMATS
from migrex.registry.refresh import MAX_REMOVED_PERCENT, Mode
from migrex.registry.service import import_registries
from migrex.registry.sql import SqlRegistries

app = typer.Typer(no_args_is_help=True)


def registry_files(paths: list[Path], kind: Kind | None) -> list[tuple[Kind, Path]]:
    """The (kind, file) pairs to import: a folder holds files named after their kind."""
    found: list[tuple[Kind, Path]] = []
    for path in paths:
        if path.is_dir():
            for each in Kind:
                found += [
                    (each, path / f"{each}.{fmt}")
                    for fmt in FORMATS
                    if (path / f"{each}.{fmt}").exists()
                ]
        elif kind is not None:
            found.append((kind, path))
        else:
            try:
                found.append((Kind(path.stem), path))
            except ValueError:
                raise ImportRejected(
                    f"{path.name}: cannot tell which registry this is; name the file after "
                    f"its kind ({', '.join(Kind)}) or pass --kind"
                ) from None
    if not found:
        raise ImportRejected("no registry files found in " + ", ".join(map(str, paths)))
    return found


@app.command("import")
def import_command(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="registry files, or folders of them")],
    kind: Annotated[Kind | None, typer.Option(help="which registry the files belong to")] = None,
    report: Annotated[
        Path | None, typer.Option(help="write every problem found to this CSV")
    ] = None,
    mode: Annotated[
        Mode,
        typer.Option(
            help="append: new records only; snapshot: the files become the registers (records "
            "absent from them are removed); upsert: add new records, update changed ones"
        ),
    ] = Mode.APPEND,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="print JSON: an array, one object per file imported (counts, record keys)",
        ),
    ] = False,
    max_removed: Annotated[
        float,
        typer.Option(
            min=0,
            max=100,
            help="refuse a snapshot that removes more than this percent of a register",
        ),
    ] = MAX_REMOVED_PERCENT,
) -> None:
    """Import registry files atomically: one bad row rejects them all, and nothing is stored.

    A monthly re-export is imported with --mode snapshot: the report counts the records added,
    changed and removed; what a change replaces is kept as history for the cases that used it.
    """
    node = node_from(ctx)
    files = registry_files(paths, kind)
    actor = administrator()
    with progress_bar() as bar, node.unit_of_work() as uow:
        task = bar.add_task("checking", total=None)

        def progress(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        try:
            imported = import_registries(
                uow,
                files,
                state=node.settings.state,
                actor=actor,
                progress=progress,
                mode=mode,
                max_removed=max_removed,
            )
        except ImportRejected as rejected:
            if report:
                _write_report(report, rejected)
                rejected.more_problems_hint = f" (all of them are in {report})"
            raise
    if as_json:
        # Plain JSON on one line: rich would wrap long lists of keys, and scripts read this.
        typer.echo(json.dumps([item.report() for item in imported], ensure_ascii=False))
    elif mode is Mode.APPEND:
        table = Table("registry", "file", "rows", "batch", title="imported")
        for item in imported:
            table.add_row(item.kind, item.path.name, f"{item.rows:,}", str(item.batch_id))
        out.print(table)
    else:
        _print_changes(imported, mode)


def _print_changes(imported: list[ImportedFile], mode: Mode) -> None:
    """Counts only: record keys (never cell values) are in the --json report."""
    names = ", ".join(item.path.name for item in imported)
    table = Table("registry", "added", "changed", "removed", "unchanged", "batch",
                  title=f"imported ({mode}): {names}")  # fmt: skip
    for item in imported:
        counts = item.diff.counts() if item.diff else {}
        table.add_row(item.kind,
                      *(f"{counts.get(n, 0):,}" for n in ("added", "changed", "removed",
                                                          "unchanged")),
                      str(item.batch_id))  # fmt: skip
    out.print(table)


def _write_report(path: Path, rejected: ImportRejected) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["where", "reason"])
        writer.writerows([problem.where, problem.reason] for problem in rejected.problems)


@app.command()
def summary(
    ctx: typer.Context,
    citizenship: Annotated[str, typer.Option(help="citizenship of the workers to count")] = "ARM",
    years: Annotated[
        list[int] | None, typer.Option("--year", help="calendar years to count")
    ] = None,
) -> None:
    """Rows per registry and the number of workers of one citizenship per year."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        registries = SqlRegistries(uow.session)
        counts = {kind: registries.count(kind) for kind in Kind}
        workers = {y: registries.workers_in_year(citizenship, y) for y in years or [2024, 2025]}
    table = Table(
        "registry", "records", title=f"node {node.settings.node_id} ({node.settings.state})"
    )
    for kind, count in counts.items():
        table.add_row(kind, f"{count:,}")
    out.print(table)
    for year, count in workers.items():
        out.print(f"{citizenship} citizens working in {year}: [bold]{count:,}[/]")
