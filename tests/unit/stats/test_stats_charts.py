"""Charts: valid PNG and SVG, the same bytes on every run, and no suppressed value drawn as 0."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest

from migrex.agreements.codelists import codelists
from migrex.stats.breakdown import ChartInvalid, breakdown_rows
from migrex.stats.charts import breakdown_chart, year_over_year_chart
from migrex.stats.published import ConfStatus, Observation
from migrex.stats.release import Release, ReleaseDimension

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"
DIMENSIONS = (ReleaseDimension("region", "CL_REGION_AM"), ReleaseDimension("sex", "CL_SEX"))
STATUSES = (ConfStatus.FREE, ConfStatus.PRIMARY, ConfStatus.FREE, ConfStatus.SECONDARY)


def _release() -> Release:
    keys = itertools.product(*(codelists()[d.codelist].ids for d in DIMENSIONS))
    observations = tuple(
        Observation(key, 17 * n + 3 if status is ConfStatus.FREE else None, status)
        for n, (key, status) in enumerate(zip(keys, itertools.cycle(STATUSES), strict=False))
    )
    return Release(
        agreement_id="kz-am-2024",
        dataset_id="kz-workers-in-am",
        title="Citizens of Kazakhstan working in Armenia",
        producer="am-mcs",
        host_state="AM",
        citizenship="KZ",
        unit="PS",
        dimensions=DIMENSIONS,
        period=2025,
        version=1,
        prepared_at=datetime(2026, 1, 15, tzinfo=UTC),
        observations=observations,
    )


RELEASE = _release()
POINTS = [(2023, None), (2024, 2623), (2025, 2134)]


def _ids(svg: Path) -> set[str]:
    # Our own output, just written: no untrusted XML is parsed here.
    root = ElementTree.fromstring(svg.read_bytes())  # noqa: S314
    assert root.tag == f"{SVG}svg"
    return {element.get("id", "") for element in root.iter()}


def _text(svg: Path) -> str:
    root = ElementTree.fromstring(svg.read_bytes())  # noqa: S314
    return " ".join(element.text or "" for element in root.iter(f"{SVG}text"))


def test_year_over_year_writes_png_and_svg(tmp_path: Path) -> None:
    png, svg = year_over_year_chart(
        POINTS, title="Workers", change_label="−18.6 %", directory=tmp_path, stem="yoy"
    )
    assert (png.name, svg.name) == ("yoy.png", "yoy.svg")
    assert png.read_bytes().startswith(PNG_MAGIC)
    assert b"Software" not in png.read_bytes()
    ids = _ids(svg)
    assert {"bar-2024", "bar-2025", "suppressed-2023", "change-label"} <= ids
    # The suppressed year has a hatched band, never a bar (of zero or any height).
    assert "bar-2023" not in ids
    text = _text(svg)
    for label in ("2,623", "2,134", "−18.6 %", "suppressed", "Workers"):
        assert label in text


def test_charts_are_the_same_bytes_on_every_run(tmp_path: Path) -> None:
    outputs = []
    for run in ("one", "two"):
        directory = tmp_path / run
        outputs.append(
            year_over_year_chart(
                POINTS, title="Workers", change_label="−18.6 %", directory=directory, stem="yoy"
            )
            + breakdown_chart(RELEASE, "region", by="sex", directory=directory, stem="region")
        )
    first, second = ([path.read_bytes() for path in paths] for paths in outputs)
    assert first == second
    assert b"<dc:date>" not in first[1]


def test_breakdown_rows_hold_every_code_at_the_other_totals() -> None:
    rows = breakdown_rows(RELEASE, "region")
    regions = [code for code in codelists()["CL_REGION_AM"].ids if code != "_T"]
    assert [row.code for row in rows] == regions
    assert rows[0].label == codelists()["CL_REGION_AM"].codes[0].name
    for row in rows:
        (cell,) = row.cells
        observation = RELEASE.get((row.code, "_T"))
        assert observation is not None
        assert (cell.value, cell.status) == (observation.value, observation.status)


def test_breakdown_chart_marks_suppressed_cells_instead_of_drawing_zero(tmp_path: Path) -> None:
    png, svg = breakdown_chart(RELEASE, "region", by="sex", directory=tmp_path, stem="by-sex")
    assert png.read_bytes().startswith(PNG_MAGIC)
    ids = _ids(svg)
    rows = breakdown_rows(RELEASE, "region", "sex")
    suppressed = 0
    for row in rows:
        assert [cell.code for cell in row.cells] == ["F", "M"]
        for cell in row.cells:
            name = f"{row.code}-{cell.code}"
            if cell.value is None:
                suppressed += 1
                assert f"suppressed-{name}" in ids
                assert f"bar-{name}" not in ids
            else:
                assert f"bar-{name}" in ids
                assert f"suppressed-{name}" not in ids
    assert suppressed
    text = _text(svg)
    # A chart is published: its blanks do not tell a small count from its complement.
    assert "suppressed (C)" in text
    assert "suppressed (A)" not in text and "suppressed (D)" not in text
    assert "C = confidential statistical information" in text
    assert "Female" in text


def test_breakdown_chart_without_a_split_uses_totals(tmp_path: Path) -> None:
    _, svg = breakdown_chart(RELEASE, "sex", directory=tmp_path, stem="sex")
    ids = _ids(svg)
    for row in breakdown_rows(RELEASE, "sex"):
        (cell,) = row.cells
        assert (f"bar-{row.code}" in ids) is (cell.value is not None)
        assert (f"suppressed-{row.code}" in ids) is (cell.value is None)
    assert "Other breakdowns at their totals: region." in _text(svg)


@pytest.mark.parametrize(
    ("dimension", "by", "reason"),
    [
        ("age", None, "has no dimension 'age'"),
        ("sex", "sex", "cannot be split by itself"),
    ],
)
def test_a_chart_the_release_cannot_give_is_refused(
    dimension: str, by: str | None, reason: str, tmp_path: Path
) -> None:
    with pytest.raises(ChartInvalid, match=reason):
        breakdown_chart(RELEASE, dimension, by=by, directory=tmp_path, stem="x")


def test_a_cross_the_release_does_not_hold_is_refused() -> None:
    partial = replace(RELEASE, observations=tuple(o for o in RELEASE.observations if "_T" in o.key))
    with pytest.raises(ChartInvalid, match="does not release the cell"):
        breakdown_rows(partial, "region", "sex")


def test_a_year_over_year_chart_needs_a_year(tmp_path: Path) -> None:
    with pytest.raises(ChartInvalid):
        year_over_year_chart([], title="x", change_label="", directory=tmp_path, stem="x")
