"""Releases in SDMX, written with pysdmx and read back with sdmx1, a second implementation.

sdmx1 2.28 reads SDMX-ML 3.0 structure messages, SDMX-ML 3.0 structure-specific data (given
the DSD from the structure message) and SDMX-CSV 2.0 (given the dataflow), so every observation
written is compared with what sdmx1 reads. Payloads a partner could send wrong are refused
with ReleaseInvalid naming where the problem is.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest
import sdmx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pysdmx.io import read_sdmx
from pysdmx.io.pd import PandasDataset
from pysdmx.io.xml.doc_validation import validate_doc

from migrex.agreements.codelists import codelists
from migrex.stats.published import ConfStatus, Observation
from migrex.stats.release import Release, ReleaseDimension, ReleaseInvalid
from migrex.stats.sdmx import (
    ReleaseTemplate,
    build_structures,
    release_from_sdmx_csv,
    release_from_sdmx_ml,
    release_to_sdmx_csv,
    release_to_sdmx_ml,
    structures_to_sdmx_ml,
)
from migrex.stats.sdmx_read import MAX_PROBLEMS

PREPARED = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
DIMENSIONS = (
    ReleaseDimension("region", "CL_REGION_AM"),
    ReleaseDimension("sex", "CL_SEX"),
    ReleaseDimension("age", "CL_AGE"),
)
KEYS = tuple(itertools.product(*(codelists()[d.codelist].ids for d in DIMENSIONS)))
TEMPLATE = ReleaseTemplate(
    agreement_id="kz-am-2024",
    dataset_id="kz-workers-in-am",
    title="Citizens of Kazakhstan working in Armenia",
    producer="am-mcs",
    host_state="AM",
    citizenship="KZ",
    unit="PS",
    dimensions=DIMENSIONS,
    version=2,
    prepared_at=PREPARED,
)
FLOW = "MIGREX:DF_KZ_WORKERS_IN_AM(1.0)"


def _release(cells: list[tuple[ConfStatus, int]], period: int = 2025) -> Release:
    observations = tuple(
        Observation(key, value if status is ConfStatus.FREE else None, status)
        for key, (status, value) in zip(KEYS, itertools.cycle(cells), strict=False)
    )
    return TEMPLATE.release(period, observations)


RELEASE = _release(
    [
        (ConfStatus.FREE, 2623),
        (ConfStatus.PRIMARY, 0),
        (ConfStatus.FREE, 0),
        (ConfStatus.SECONDARY, 0),
        (ConfStatus.FREE, 41),
    ]
)
CSV = release_to_sdmx_csv(RELEASE)
ML = release_to_sdmx_ml(RELEASE)

cell_lists = st.lists(
    st.tuples(st.sampled_from(list(ConfStatus)), st.integers(0, 10**9)), min_size=1, max_size=40
)


@cache
def _sdmx1_structures() -> Any:
    """The structure message as sdmx1 reads it (the same for every release of the dataset)."""
    return sdmx.read_sdmx(io.BytesIO(structures_to_sdmx_ml(RELEASE).encode()))


def _expected(release: Release) -> dict[tuple[str, ...], tuple[str | None, str, str]]:
    """Every observation as sdmx1 should see it: full SDMX key -> (value, status, unit)."""
    return {
        ("A", "AM", "KZ", *o.key, str(release.period)): (
            None if o.value is None else str(o.value),
            o.status.published.value,
            release.unit,
        )
        for o in release.observations
    }


def _sdmx1_cells(message: Any) -> dict[tuple[str, ...], tuple[str | None, str, str]]:
    (dataset,) = message.data
    dsd = _sdmx1_structures().structure["DSD_KZ_WORKERS_IN_AM"]
    order = [dimension.id for dimension in dsd.dimensions]
    cells: dict[tuple[str, ...], tuple[str | None, str, str]] = {}
    for obs in dataset.obs:
        codes = {name: str(kv.value) for name, kv in obs.key.values.items()}
        attributes = {name: str(av.value) for name, av in obs.attached_attribute.items()}
        key = tuple(codes[name] for name in order)
        assert key not in cells
        # SDMX-ML leaves a missing value out (None); SDMX-CSV leaves the field empty ("").
        value = obs.value if obs.value not in ("", None) else None
        cells[key] = (value, attributes["CONF_STATUS"], attributes["UNIT_MEASURE"])
    return cells


def _read_ml_with_sdmx1(text: str) -> Any:
    dsd = _sdmx1_structures().structure["DSD_KZ_WORKERS_IN_AM"]
    return sdmx.read_sdmx(io.BytesIO(text.encode()), structure=dsd)


def _read_csv_with_sdmx1(text: str) -> Any:
    dataflow = _sdmx1_structures().dataflow["DF_KZ_WORKERS_IN_AM"]
    return sdmx.read_sdmx(io.BytesIO(text.encode()), structure=dataflow, format="CSV")


# --------------------------------------------------------------------------- structures


def test_the_structure_message_is_valid_sdmx_ml_3_0() -> None:
    validate_doc(structures_to_sdmx_ml(RELEASE))


def test_sdmx1_reads_the_dsd_and_dataflow() -> None:
    message = _sdmx1_structures()
    dsd = message.structure["DSD_KZ_WORKERS_IN_AM"]
    assert [d.id for d in dsd.dimensions] == [
        "FREQ",
        "REF_AREA",
        "CITIZENSHIP",
        "REGION",
        "SEX",
        "AGE",
        "TIME_PERIOD",
    ]
    assert [m.id for m in dsd.measures] == ["OBS_VALUE"]
    assert [a.id for a in dsd.attributes] == ["CONF_STATUS", "UNIT_MEASURE"]
    assert str(dsd.maintainer) == "MIGREX"
    assert str(dsd.version) == "1.0"
    dataflow = message.dataflow["DF_KZ_WORKERS_IN_AM"]
    assert dataflow.structure is dsd
    enumerated = {
        d.id: d.local_representation.enumerated.id for d in dsd.dimensions if d.id != "TIME_PERIOD"
    }
    assert enumerated == {
        "FREQ": "CL_FREQ",
        "REF_AREA": "CL_AREA",
        "CITIZENSHIP": "CL_AREA",
        "REGION": "CL_REGION_AM",
        "SEX": "CL_SEX",
        "AGE": "CL_AGE",
    }


def test_sdmx1_reads_every_codelist_whole() -> None:
    message = _sdmx1_structures()
    expected = {"CL_FREQ", "CL_AREA", "CL_REGION_AM", "CL_SEX", "CL_AGE"}
    expected |= {"CL_CONF_STATUS", "CL_UNIT_MEASURE"}
    assert set(message.codelist) == expected
    for codelist_id, read in message.codelist.items():
        source = codelists()[codelist_id]
        assert [code.id for code in read] == list(source.ids)
        assert [str(code.name) for code in read] == [code.name for code in source.codes]
        assert str(read.maintainer) == source.agency
        # The cross-domain lists are sent as the part of them that the agreement uses
        # (sdmx1 keeps the XML attribute's text).
        assert str(read.is_partial).lower() == str(source.agency == "SDMX").lower()


def test_sdmx1_reads_the_concepts() -> None:
    scheme = _sdmx1_structures().concept_scheme["CS_MIGREX"]
    for concept in ("FREQ", "REF_AREA", "CITIZENSHIP", "REGION", "OBS_VALUE", "CONF_STATUS"):
        assert concept in scheme


def test_a_citizenship_breakdown_replaces_the_citizenship_filter() -> None:
    shape = ReleaseTemplate(
        **{
            **TEMPLATE.__dict__,
            "dataset_id": "persons-present-in-kz",
            "host_state": "KZ",
            "dimensions": (
                ReleaseDimension("citizenship", "CL_AREA"),
                ReleaseDimension("purpose", "CL_PURPOSE_OF_STAY"),
            ),
        }
    )
    structures = build_structures(shape)
    assert structures.dataflow.id == "DF_PERSONS_PRESENT_IN_KZ"
    assert structures.dsd.id == "DSD_PERSONS_PRESENT_IN_KZ"
    assert [part.id for part in structures.key] == ["FREQ", "REF_AREA", "CITIZENSHIP", "PURPOSE"]
    assert [part.fixed for part in structures.key] == ["A", "KZ", None, None]


def test_no_citizenship_dimension_without_a_filter() -> None:
    shape = ReleaseTemplate(**{**TEMPLATE.__dict__, "citizenship": None})
    assert [part.id for part in build_structures(shape).key] == [
        "FREQ",
        "REF_AREA",
        "REGION",
        "SEX",
        "AGE",
    ]


# --------------------------------------------------------------------------- data, read by sdmx1


def test_the_data_message_is_valid_sdmx_ml_3_0() -> None:
    # The message envelope only: observations are typed by the DSD's generated schema.
    validate_doc(ML)
    assert "<mes:StructureSpecificData" in ML
    assert "urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=" + FLOW in ML


def test_sdmx1_reads_every_observation_of_the_sdmx_ml() -> None:
    message = _read_ml_with_sdmx1(ML)
    assert _sdmx1_cells(message) == _expected(RELEASE)
    assert message.header.id == "DF_KZ_WORKERS_IN_AM_2025_V2"
    assert str(message.header.sender) == "am-mcs"
    assert message.header.prepared == PREPARED


def test_sdmx1_reads_every_observation_of_the_sdmx_csv() -> None:
    header = CSV.splitlines()[0]
    assert header == (
        "STRUCTURE,STRUCTURE_ID,ACTION,FREQ,REF_AREA,CITIZENSHIP,REGION,SEX,AGE,TIME_PERIOD,"
        "OBS_VALUE,CONF_STATUS,UNIT_MEASURE"
    )
    assert _sdmx1_cells(_read_csv_with_sdmx1(CSV)) == _expected(RELEASE)


def test_suppressed_observations_carry_no_value_at_all() -> None:
    suppressed = [o for o in RELEASE.observations if o.value is None]
    assert suppressed
    lines = [line.split(",") for line in CSV.splitlines()[1:]]
    blank = [line for line in lines if line[11] != "F"]
    assert len(blank) == len(suppressed)
    assert all(line[10] == "" for line in blank)
    ml_blank = [line for line in ML.splitlines() if 'CONF_STATUS="C"' in line]
    assert len(ml_blank) == len(suppressed)
    assert not any("OBS_VALUE" in line for line in ml_blank)


def test_pysdmx_reads_the_sdmx_csv_back() -> None:
    # A BytesIO, not the text: read_sdmx takes a string for a path or a URL when it can.
    (dataset,) = read_sdmx(io.BytesIO(CSV.encode())).data or ()
    assert isinstance(dataset, PandasDataset)
    assert dataset.short_urn == f"Dataflow={FLOW}"
    rows = dataset.data.to_dict(orient="records")
    assert len(rows) == len(RELEASE.observations)
    for row, observation in zip(rows, RELEASE.observations, strict=True):
        assert (row["REGION"], row["SEX"], row["AGE"]) == observation.key
        assert row["OBS_VALUE"] == ("" if observation.value is None else str(observation.value))
        assert row["CONF_STATUS"] == observation.status.published.value
        assert row["TIME_PERIOD"] == "2025"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cell_lists)
def test_any_release_survives_both_formats_and_both_readers(
    cells: list[tuple[ConfStatus, int]],
) -> None:
    release = _release(cells, period=2024)
    ml, csv = release_to_sdmx_ml(release), release_to_sdmx_csv(release)
    assert _sdmx1_cells(_read_ml_with_sdmx1(ml)) == _expected(release)
    assert _sdmx1_cells(_read_csv_with_sdmx1(csv)) == _expected(release)
    template = ReleaseTemplate.of(release)
    assert release_from_sdmx_ml(ml, template=template) == release.published()
    assert release_from_sdmx_csv(csv, template=template) == release.published()


def test_the_same_release_gives_the_same_bytes() -> None:
    again = _release(
        [
            (ConfStatus.FREE, 2623),
            (ConfStatus.PRIMARY, 0),
            (ConfStatus.FREE, 0),
            (ConfStatus.SECONDARY, 0),
            (ConfStatus.FREE, 41),
        ]
    )
    assert release_to_sdmx_ml(again) == ML
    assert release_to_sdmx_csv(again) == CSV
    assert structures_to_sdmx_ml(again) == structures_to_sdmx_ml(RELEASE)


# --------------------------------------------------------------------------- refused payloads


def _refused(text: str, reader: Callable[..., Release] = release_from_sdmx_csv) -> ReleaseInvalid:
    with pytest.raises(ReleaseInvalid) as caught:
        reader(text, template=TEMPLATE)
    return caught.value


def _lines() -> list[str]:
    return CSV.splitlines(keepends=True)


def _with_line(number: int, old: str, new: str) -> str:
    """The CSV with `old` replaced by `new` on line `number` (1 is the header)."""
    lines = _lines()
    assert old in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    return "".join(lines)


def test_a_well_formed_payload_is_accepted_with_the_templates_metadata() -> None:
    received = release_from_sdmx_csv(CSV, template=TEMPLATE)
    assert received == RELEASE.published()
    assert received.version == 2
    assert received.prepared_at == PREPARED
    assert release_from_sdmx_ml(ML, template=TEMPLATE) == RELEASE.published()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cell_lists)
def test_nothing_that_leaves_the_node_tells_primary_from_secondary(
    cells: list[tuple[ConfStatus, int]],
) -> None:
    release = _release(cells)
    csv_codes = {row.split(",")[11] for row in release_to_sdmx_csv(release).splitlines()[1:]}
    ml_codes = set(re.findall(r'CONF_STATUS="([^"]*)"', release_to_sdmx_ml(release)))
    structure_codes = set(
        re.findall(r'<str:Code id="([^"]*)"', _conf_status_list(structures_to_sdmx_ml(release)))
    )
    blank = any(o.status is not ConfStatus.FREE for o in release.observations)
    expected = {"F", "C"} if blank else {"F"}
    assert csv_codes <= expected and ml_codes <= expected
    assert ("C" in csv_codes) == blank and ("C" in ml_codes) == blank
    assert structure_codes == {"F", "C"}


def _conf_status_list(structures: str) -> str:
    start = structures.index('id="CL_CONF_STATUS"')
    return structures[start : structures.index("</str:Codelist>", start)]


@pytest.mark.parametrize("code", ["A", "D", "C"])
def test_a_received_blank_keeps_only_the_confidential_code(code: str) -> None:
    payload = CSV.replace(",,C,", f",,{code},")
    received = release_from_sdmx_csv(payload, template=TEMPLATE)
    statuses = {o.status for o in received.observations}
    assert statuses == {ConfStatus.FREE, ConfStatus.CONFIDENTIAL}
    assert received.blank_count == RELEASE.blank_count


@pytest.mark.parametrize(
    ("payload", "where", "reason"),
    [
        ("", "", "empty"),
        (CSV.splitlines()[0] + '\n"dataflow,MIG', "line 2", "not CSV"),
        ("DATAFLOW,FREQ\n", "line 1", "starts with STRUCTURE,STRUCTURE_ID"),
    ],
)
def test_malformed_csv_is_refused(payload: str, where: str, reason: str) -> None:
    error = _refused(payload)
    assert reason in error.detail
    assert error.detail.startswith(where)


def test_a_short_row_is_refused_with_its_line() -> None:
    lines = _lines()
    lines[4] = lines[4].rsplit(",", 1)[0] + "\n"
    assert _refused("".join(lines)).detail == "line 5: 12 fields where the header has 13"


def test_another_dataflow_is_refused() -> None:
    error = _refused(CSV.replace(FLOW, "MIGREX:DF_AM_WORKERS_IN_KZ(1.0)"))
    assert error.detail.startswith(
        f"line 2, column STRUCTURE_ID: expected dataflow {FLOW}, found dataflow "
        "MIGREX:DF_AM_WORKERS_IN_KZ(1.0)"
    )
    assert len(error.problems) == MAX_PROBLEMS


def test_an_unknown_code_is_refused() -> None:
    error = _refused(_with_line(3, ",AM-AG,F,", ",AM-XX,F,"))
    assert error.detail == "line 3, column REGION: 'AM-XX' is not a code of CL_REGION_AM"


def test_a_fixed_dimension_must_have_its_code() -> None:
    error = _refused(_with_line(2, ",AM,KZ,", ",AM,RU,"))
    assert error.detail == "line 2, column CITIZENSHIP: expected 'KZ', found 'RU'"


@pytest.mark.parametrize("value", ["-5", "5.5", "1e3", "007", " 7", "²", "NaN", ""])
def test_a_free_value_must_be_a_count(value: str) -> None:
    payload = _with_line(2, ",2025,2623,F,", f",2025,{value},F,")
    error = _refused(payload)
    assert error.detail == f"line 2, column OBS_VALUE: a free observation is a count, not {value!r}"


def test_a_suppressed_cell_must_be_empty() -> None:
    error = _refused(_with_line(3, ",2025,,C,", ",2025,3,C,"))
    assert error.detail == "line 3, column OBS_VALUE: a suppressed observation (C) is empty"


def test_an_unknown_status_is_refused() -> None:
    error = _refused(_with_line(3, ",2025,,C,", ",2025,,X,"))
    assert error.detail == "line 3, column CONF_STATUS: 'X' is not a code of CL_CONF_STATUS"


def test_two_periods_are_refused() -> None:
    error = _refused(_with_line(4, ",2025,0,F,", ",2024,0,F,"))
    assert error.detail == (
        "line 4, column TIME_PERIOD: a release has one period: 2024 here, 2025 on line 2"
    )


def test_a_duplicated_key_is_refused() -> None:
    lines = _lines()
    lines.append(lines[3])
    error = _refused("".join(lines))
    assert error.detail == (
        f"line {len(lines)}: observation {RELEASE.observations[2].key} is also given on line 4"
    )


def test_another_unit_is_refused() -> None:
    error = _refused(_with_line(2, ",F,PS\n", ",F,NR\n"))
    assert error.detail == "line 2, column UNIT_MEASURE: expected 'PS', found 'NR'"


def test_a_delete_action_is_refused() -> None:
    error = _refused(_with_line(2, f"{FLOW},I,", f"{FLOW},D,"))
    assert error.detail == "line 2, column ACTION: 'D' does not release observations"


def test_missing_and_unknown_columns_are_refused() -> None:
    payload = _with_line(1, ",UNIT_MEASURE\n", ",OBS_STATUS\n")
    error = _refused(payload)
    assert [str(problem) for problem in error.problems] == [
        "line 1: column UNIT_MEASURE is missing",
        f"line 1: column 'OBS_STATUS' is not a component of {FLOW}",
    ]
    assert error.detail.endswith("(and 1 more problem)")


def test_a_header_without_observations_is_refused() -> None:
    assert _refused(_lines()[0]).detail == "the payload holds no observations"


def test_every_problem_is_reported_up_to_a_limit() -> None:
    payload = CSV.replace(",PS\n", ",NR\n")
    error = _refused(payload)
    assert len(error.problems) == MAX_PROBLEMS
    assert error.detail.endswith(f"(and {MAX_PROBLEMS - 1} more problems)")


@pytest.mark.parametrize(
    ("old", "new", "detail"),
    [
        ("<mes:DataSet", "<mes:DataSet", ""),  # untouched: accepted
        ("</mes:StructureSpecificData>", "", "not an SDMX-ML 3.0 structure-specific data message"),
        (
            "DF_KZ_WORKERS_IN_AM(1.0)",
            "DF_OTHER(1.0)",
            f"the data set is of Dataflow=MIGREX:DF_OTHER(1.0), expected Dataflow={FLOW}",
        ),
        ('OBS_VALUE="2623"', 'OBS_VALUE="-1"', "observation 1, attribute OBS_VALUE: a free"),
        ('AGE="Y_LT25"', 'AGE="Y_XX"', "observation 1, attribute AGE: 'Y_XX' is not a code"),
        ('CONF_STATUS="C"', 'CONF_STATUS="C" OBS_VALUE="4"', "observation 2, attribute OBS_VALUE"),
        ('CONF_STATUS="F"', 'CONF_STATUS="F" OBS_STATUS="E"', "does not define: OBS_STATUS"),
        ('action="Information"', 'action="Delete"', "with action Delete"),
    ],
)
def test_a_wrong_sdmx_ml_payload_is_refused(old: str, new: str, detail: str) -> None:
    assert old in ML
    payload = ML.replace(old, new)
    if not detail:
        assert release_from_sdmx_ml(payload, template=TEMPLATE) == RELEASE.published()
        return
    assert detail in _refused(payload, release_from_sdmx_ml).detail


def test_a_payload_naming_a_file_is_not_read_from_disk(tmp_path: Any) -> None:
    # pysdmx's read_sdmx would open a path; the receiver must treat the payload as data only.
    path = tmp_path / "release.xml"
    path.write_text(ML)
    assert "not an SDMX-ML 3.0" in _refused(str(path), release_from_sdmx_ml).detail


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_mangled_csv_is_accepted_or_refused_never_crashes(data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(CSV)))
    end = data.draw(st.integers(start, min(len(CSV), start + 40)))
    insert = data.draw(st.text(alphabet=st.sampled_from(',"\n\r\x00AFD_T-5x'), max_size=6))
    payload = CSV[:start] + insert + CSV[end:]
    try:
        release_from_sdmx_csv(payload, template=TEMPLATE)
    except ReleaseInvalid as error:
        assert error.detail


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_mangled_sdmx_ml_is_accepted_or_refused_never_crashes(data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(ML)))
    end = data.draw(st.integers(start, min(len(ML), start + 40)))
    insert = data.draw(st.text(alphabet=st.sampled_from('<>/"= \nAFD_TxOBS'), max_size=8))
    payload = ML[:start] + insert + ML[end:]
    try:
        release_from_sdmx_ml(payload, template=TEMPLATE)
    except ReleaseInvalid as error:
        assert error.detail
