"""Charts of released figures, as PNG and SVG files that are the same bytes on every run.

A suppressed value is never drawn as a bar of zero: its place is a hatched, unfilled band
labelled with why it is blank, so a reader cannot mistake "confidential" for "none". Each bar
and band carries an SVG id (`bar-…`, `suppressed-…`) so a test, or a reader's script, can tell
them apart without looking at pixels.

Figures are built on `matplotlib.figure.Figure` with the Agg canvas, never through pyplot, so
no figure is kept open in pyplot's registry between calls and no GUI backend is ever chosen.
The style is applied with `rc_context`, which changes matplotlib's global settings while it
lasts, so a lock lets one chart at a time be drawn. Determinism: the SVG id salt is fixed and
the date left out; the PNG has no Software entry (Agg writes no date), so the bytes depend only
on the figures and the matplotlib version.
"""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from migrex.agreements.codelists import DIMENSIONS, codelists
from migrex.stats.breakdown import Cell, ChartInvalid, breakdown_rows
from migrex.stats.published import ConfStatus
from migrex.stats.release import Release

_PNG_METADATA: dict[str, str | None] = {"Software": None}
_DPI = 150
_COLOURS = ("#2b6cb0", "#dd6b20", "#2f855a", "#9b2c2c", "#6b46c1", "#4a5568")
_SUPPRESSED = "0.55"
_DRAWING = threading.Lock()
_LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 1.0}


def _style() -> AbstractContextManager[None]:
    return rc_context(
        {
            "svg.hashsalt": "migrex",
            # Text stays text in the SVG: smaller, searchable, readable by screen readers.
            "svg.fonttype": "none",
            "font.family": "DejaVu Sans",
            "font.size": 9,
        }
    )


@contextmanager
def _figure(width: float, height: float) -> Iterator[Figure]:
    """A figure to draw on and save inside the `with` block, the style held throughout."""
    with _DRAWING, _style():
        figure = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
        FigureCanvasAgg(figure)
        yield figure


def _save(figure: Figure, directory: Path, stem: str, title: str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    png, svg = directory / f"{stem}.png", directory / f"{stem}.svg"
    with _style():
        figure.savefig(png, format="png", metadata=_PNG_METADATA)
        figure.savefig(svg, format="svg", metadata={"Date": None, "Title": title})
    return png, svg


def _count(value: int) -> str:
    return f"{value:,}"


def year_over_year_chart(
    points: Sequence[tuple[int, int | None]],
    *,
    title: str,
    change_label: str,
    directory: Path,
    stem: str,
) -> tuple[Path, Path]:
    """Bars per year, each labelled with its value, and `change_label` (say "−18.6 %")
    annotated from the second-last year to the last; returns the PNG and SVG paths."""
    if not points:
        raise ChartInvalid("a year-over-year chart needs at least one year")
    known = [value for _, value in points if value is not None]
    top = max(known, default=1) * 1.25 or 1
    with _figure(6.4, 4.0) as figure:
        axes = figure.add_subplot()
        for x, (year, value) in enumerate(points):
            if value is None:
                _suppressed_band(axes, x, 0.7, top, f"suppressed-{year}", vertical=True)
                continue
            bars = axes.bar(x, value, width=0.6, color=_COLOURS[0], gid=f"bar-{year}")
            axes.bar_label(bars, labels=[_count(value)], padding=3)
        if change_label and len(points) >= 2:
            _annotate_change(axes, points, change_label, top)
        axes.set_xticks(range(len(points)), [str(year) for year, _ in points])
        axes.set_ylim(0, top)
        axes.yaxis.set_major_formatter(lambda value, _pos: _count(int(value)))
        axes.spines[["top", "right"]].set_visible(False)
        axes.set_title(title)
        return _save(figure, directory, stem, title)


def _annotate_change(
    axes: Axes, points: Sequence[tuple[int, int | None]], label: str, top: float
) -> None:
    (_, before), (_, after) = points[-2], points[-1]
    x0, x1 = len(points) - 2, len(points) - 1
    y0 = before if before is not None else top * 0.5
    y1 = after if after is not None else top * 0.5
    axes.annotate(
        "",
        xy=(x1, y1 + top * 0.09),
        xytext=(x0, y0 + top * 0.09),
        arrowprops={"arrowstyle": "->", "color": "0.25"},
    )
    axes.text(
        (x0 + x1) / 2,
        max(y0, y1) + top * 0.13,
        label,
        ha="center",
        fontweight="bold",
        gid="change-label",
    )


def _suppressed_band(
    axes: Axes, position: float, thickness: float, length: float, gid: str, *, vertical: bool
) -> None:
    """A hatched, unfilled band across the whole value axis: no value, not a zero."""
    low, high = position - thickness / 2, position + thickness / 2
    if vertical:
        axes.axvspan(low, high, fill=False, hatch="//", edgecolor=_SUPPRESSED, lw=0, gid=gid)
        axes.text(
            position,
            length * 0.05,
            "suppressed",
            ha="center",
            va="bottom",
            rotation=90,
            bbox=_LABEL_BOX,
        )
    else:
        axes.axhspan(low, high, fill=False, hatch="//", edgecolor=_SUPPRESSED, lw=0, gid=gid)


def breakdown_chart(
    release: Release,
    dimension_id: str,
    *,
    by: str | None = None,
    directory: Path,
    stem: str,
) -> tuple[Path, Path]:
    """Horizontal bars of `breakdown_rows`, grouped by `by`; returns the PNG and SVG paths."""
    rows = breakdown_rows(release, dimension_id, by)
    lists = codelists()
    codelist_of = {d.id: d.codelist for d in release.dimensions}
    by_names = {} if by is None else {c.id: c.name for c in lists[codelist_of[by]].codes}
    groups = len(rows[0].cells) if rows else 1
    known = [cell.value for row in rows for cell in row.cells if cell.value is not None]
    top = max(known, default=1) * 1.18 or 1
    thickness = 0.8 / groups
    name = DIMENSIONS[dimension_id].name if dimension_id in DIMENSIONS else dimension_id
    title = f"{release.title}, {release.period}: by {name.lower()}"
    if by is not None:
        title += f" and {DIMENSIONS[by].name.lower() if by in DIMENSIONS else by}"
    with _figure(8.0, 1.6 + 0.3 * len(rows) * groups) as figure:
        axes = figure.add_subplot()
        for y, row in enumerate(rows):
            for g, cell in enumerate(row.cells):
                position = y - 0.4 + thickness * (g + 0.5)
                gid = "-".join(filter(None, (row.code, None if by is None else cell.code)))
                _breakdown_cell(
                    axes, cell, position=position, thickness=thickness, top=top, gid=gid, group=g
                )
        axes.set_yticks(range(len(rows)), [row.label for row in rows])
        axes.set_ylim(len(rows) - 0.5, -0.5)  # codelist order, top to bottom
        axes.set_xlim(0, top)
        axes.xaxis.set_major_formatter(lambda value, _pos: _count(int(value)))
        axes.spines[["top", "right"]].set_visible(False)
        axes.set_title(title)
        if by is not None and rows:
            handles = [
                Patch(color=_COLOURS[g % len(_COLOURS)], label=by_names[cell.code])
                for g, cell in enumerate(rows[0].cells)
            ]
            figure.legend(handles=handles, loc="outside upper right", ncols=len(handles))
        # A figure-level label, so the constrained layout makes room for the note.
        figure.supxlabel(_legend_note(release, dimension_id, by), x=0.01, ha="left", fontsize=7)
        return _save(figure, directory, stem, title)


def _breakdown_cell(
    axes: Axes, cell: Cell, *, position: float, thickness: float, top: float, gid: str, group: int
) -> None:
    if cell.value is None:
        _suppressed_band(axes, position, thickness, top, f"suppressed-{gid}", vertical=False)
        axes.text(
            top * 0.01,
            position,
            f"suppressed ({cell.status.published.value})",
            va="center",
            fontsize=7,
            bbox=_LABEL_BOX,
        )
        return
    bars = axes.barh(
        position,
        cell.value,
        height=thickness,
        color=_COLOURS[group % len(_COLOURS)],
        gid=f"bar-{gid}",
    )
    axes.bar_label(bars, labels=[_count(cell.value)], padding=2, fontsize=7)


def _legend_note(release: Release, dimension_id: str, by: str | None) -> str:
    statuses = {code.id: code.name for code in codelists()["CL_CONF_STATUS"].codes}
    legend = f"{ConfStatus.CONFIDENTIAL.value} = {statuses[ConfStatus.CONFIDENTIAL.value].lower()}"
    totals = [d for d in release.dimension_ids if d not in (dimension_id, by)]
    at_totals = f" Other breakdowns at their totals: {', '.join(totals)}." if totals else ""
    note = f"Hatched: suppressed, CONF_STATUS {legend}.{at_totals}"
    return "\n".join(textwrap.wrap(note, 130))
