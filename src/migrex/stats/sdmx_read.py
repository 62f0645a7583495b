"""A release received as SDMX data, checked field by field before it becomes a `Release`.

A payload comes from another state's node: it is checked against the dataflow the agreement
expects (the `ReleaseTemplate` the caller builds from the agreement and the exchange that
carried it), and everything wrong with it is reported with where it is — the line and column of
SDMX-CSV, the observation and attribute of SDMX-ML — as `ReleaseInvalid`, never as an
exception of the parser.

SDMX-CSV is read with the `csv` module rather than pysdmx's reader: pysdmx reads through pandas,
which loses line numbers and infers types (a column holding "007" and "7.0" comes back as "7.0"
twice), while a receiver must refuse anything but a plain count, and say where it stands.
SDMX-ML is read with pysdmx (its structure-specific reader, after XSD validation of the
message), then checked the same way.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from xml.parsers.expat import ExpatError

from pysdmx.errors import PysdmxError
from pysdmx.model.dataset import ActionType

from migrex.agreements.codelists import codelists
from migrex.errors import Problem
from migrex.stats.cube import CellKey
from migrex.stats.published import ConfStatus, Observation
from migrex.stats.release import Release, ReleaseInvalid, ReleaseTemplate
from migrex.stats.sdmx_structure import (
    CONF_STATUS,
    OBS_VALUE,
    TIME_PERIOD,
    UNIT_MEASURE,
    Structures,
    build_structures,
)

MAX_PROBLEMS = 20
CSV_LEADING = ("STRUCTURE", "STRUCTURE_ID")
CSV_ACTION = "ACTION"
# A count: no sign, no leading zero, no decimals, ASCII digits only (str.isdigit takes "²").
_COUNT = re.compile(r"0|[1-9][0-9]{0,17}")
_YEAR = re.compile(r"[0-9]{4}")
_CSV_ACTIONS = frozenset({"I", "A", "R"})  # D would delete observations, not release them


class _TooManyProblems(Exception):
    """Stops reading once `MAX_PROBLEMS` are found; the report is long enough."""


@dataclass
class _Reading:
    """Turns checked rows into observations and collects what is wrong with them."""

    template: ReleaseTemplate
    structures: Structures
    field_word: str  # "column" in SDMX-CSV, "attribute" in SDMX-ML
    problems: list[Problem] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    period: tuple[int, str] | None = None
    seen: dict[CellKey, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        lists = codelists()
        self.allowed = {
            part.id: frozenset(lists[part.codelist].ids) for part in self.structures.breakdowns
        }

    @property
    def components(self) -> tuple[str, ...]:
        key = tuple(part.id for part in self.structures.key)
        return (*key, TIME_PERIOD, OBS_VALUE, CONF_STATUS, UNIT_MEASURE)

    def problem(self, where: str, reason: str) -> None:
        self.problems.append(Problem(where, reason))
        if len(self.problems) >= MAX_PROBLEMS:
            raise _TooManyProblems

    def row(self, where: str, fields: Mapping[str, str]) -> None:
        before = len(self.problems)
        key: list[str] = []
        for part in self.structures.key:
            code = self._required(where, fields, part.id)
            if code is None:
                continue
            if part.fixed is not None and code != part.fixed:
                self._wrong(where, part.id, f"expected {part.fixed!r}, found {code!r}")
            elif part.fixed is None and code not in self.allowed[part.id]:
                self._wrong(where, part.id, f"{code!r} is not a code of {part.codelist}")
            elif part.fixed is None:
                key.append(code)
        period = self._period(where, fields)
        status = self._status(where, fields)
        value = self._value(where, fields, status)
        unit = self._required(where, fields, UNIT_MEASURE)
        if unit is not None and unit != self.template.unit:
            self._wrong(where, UNIT_MEASURE, f"expected {self.template.unit!r}, found {unit!r}")
        if len(self.problems) > before or period is None or status is None:
            return
        cell = tuple(key)
        if cell in self.seen:
            self.problem(where, f"observation {cell} is also given on {self.seen[cell]}")
            return
        self.seen[cell] = where
        self.observations.append(Observation(cell, value, status))

    def _wrong(self, where: str, component: str, reason: str) -> None:
        self.problem(f"{where}, {self.field_word} {component}", reason)

    def _required(self, where: str, fields: Mapping[str, str], component: str) -> str | None:
        text = fields.get(component, "")
        if not text:
            self._wrong(where, component, "is missing")
            return None
        return text

    def _period(self, where: str, fields: Mapping[str, str]) -> int | None:
        text = self._required(where, fields, TIME_PERIOD)
        if text is None:
            return None
        if not _YEAR.fullmatch(text):
            self._wrong(where, TIME_PERIOD, f"{text!r} is not a year")
            return None
        year = int(text)
        if self.period is None:
            self.period = (year, where)
        elif self.period[0] != year:
            first, first_where = self.period
            self._wrong(
                where,
                TIME_PERIOD,
                f"a release has one period: {year} here, {first} on {first_where}",
            )
            return None
        return year

    def _status(self, where: str, fields: Mapping[str, str]) -> ConfStatus | None:
        text = self._required(where, fields, CONF_STATUS)
        if text is None:
            return None
        try:
            status = ConfStatus(text)
        except ValueError:
            self._wrong(where, CONF_STATUS, f"{text!r} is not a code of CL_CONF_STATUS")
            return None
        # A sender that still tells primary from secondary blanks is read as confidential:
        # a received release keeps only the code that may leave a node.
        return status.published

    def _value(
        self, where: str, fields: Mapping[str, str], status: ConfStatus | None
    ) -> int | None:
        text = fields.get(OBS_VALUE, "")
        if status is ConfStatus.FREE:
            if not _COUNT.fullmatch(text):
                self._wrong(where, OBS_VALUE, f"a free observation is a count, not {text!r}")
                return None
            return int(text)
        if status is not None and text:
            self._wrong(where, OBS_VALUE, f"a suppressed observation ({status.value}) is empty")
        return None

    def release(self) -> Release:
        if self.problems:
            raise _invalid(self.problems)
        if self.period is None or not self.observations:
            raise ReleaseInvalid("the payload holds no observations")
        return self.template.release(self.period[0], tuple(self.observations))


def _invalid(problems: list[Problem]) -> ReleaseInvalid:
    more = len(problems) - 1
    suffix = "" if not more else f" (and {more} more problem{'s' if more > 1 else ''})"
    return ReleaseInvalid(f"{problems[0]}{suffix}", problems=list(problems))


def _read(reading: _Reading, rows: Iterable[tuple[str, Mapping[str, str]]]) -> Release:
    try:
        for where, fields in rows:
            reading.row(where, fields)
    except _TooManyProblems:
        pass
    return reading.release()


def release_from_sdmx_csv(text: str, *, template: ReleaseTemplate) -> Release:
    """Parse an SDMX-CSV 2.0 payload of the template's dataflow (component ids as headers)."""
    reading = _Reading(template, build_structures(template), "column")
    return _read(reading, _csv_rows(text.removeprefix("\ufeff"), reading))


def _csv_rows(text: str, reading: _Reading) -> Iterable[tuple[str, Mapping[str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise ReleaseInvalid("the payload is empty")
        components = _csv_header(header, reading)
        for row in reader:
            where = f"line {reader.line_num}"
            if len(row) != len(header):
                reading.problem(where, f"{len(row)} fields where the header has {len(header)}")
                continue
            fields = dict(zip(header, row, strict=True))
            if _csv_structure(where, fields, reading):
                yield where, {name: fields[name] for name in components}
    except csv.Error as error:
        raise _invalid([Problem(f"line {reader.line_num}", f"not CSV: {error}")]) from error


def _csv_header(header: list[str], reading: _Reading) -> tuple[str, ...]:
    """The component columns of the header; anything else wrong with it is fatal."""
    problems: list[Problem] = []
    if tuple(header[:2]) != CSV_LEADING:
        problems.append(Problem("line 1", "SDMX-CSV 2.0 starts with STRUCTURE,STRUCTURE_ID"))
    rest = header[3:] if header[2:3] == [CSV_ACTION] else header[2:]
    for name in sorted({name for name in rest if rest.count(name) > 1}):
        problems.append(Problem("line 1", f"column {name} appears twice"))
    expected = reading.components
    for name in (name for name in expected if name not in rest):
        problems.append(Problem("line 1", f"column {name} is missing"))
    for name in (name for name in dict.fromkeys(rest) if name not in expected):
        problems.append(
            Problem(
                "line 1", f"column {name!r} is not a component of {reading.structures.dataflow_ref}"
            )
        )
    if problems:
        raise _invalid(problems)
    return expected


def _csv_structure(where: str, fields: Mapping[str, str], reading: _Reading) -> bool:
    """Whether the row is of the expected dataflow, with an action that releases data."""
    expected = reading.structures.dataflow_ref
    if fields["STRUCTURE"] != "dataflow" or fields["STRUCTURE_ID"] != expected:
        found = f"{fields['STRUCTURE']} {fields['STRUCTURE_ID']}"
        reading.problem(
            f"{where}, column STRUCTURE_ID", f"expected dataflow {expected}, found {found}"
        )
        return False
    action = fields.get(CSV_ACTION, "I")
    if action not in _CSV_ACTIONS:
        reading.problem(f"{where}, column ACTION", f"{action!r} does not release observations")
        return False
    return True


# Raised by pysdmx and the parsers underneath it on a malformed message (lxml's XMLSyntaxError
# is a SyntaxError; xmltodict raises expat's error; pysdmx's dict walking a KeyError or TypeError
# on a well-formed message of the wrong shape).
_SDMX_ML_30 = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message"
_PARSE_ERRORS = (PysdmxError, SyntaxError, ExpatError, ValueError, KeyError, TypeError)


def release_from_sdmx_ml(text: str, *, template: ReleaseTemplate) -> Release:
    """Parse an SDMX-ML 3.0 structure-specific data message of the template's dataflow.

    pysdmx's format-specific reader is called directly: its `read_sdmx` would take a payload
    that happens to name a local file or start with "http" for a place to read from."""
    # The reader brings pandas, which takes most of a second to import: loaded at the first
    # release read, not by every node process that might receive one.
    from pysdmx.io.xml.sdmx30.reader.structure_specific import (  # noqa: PLC0415
        read as read_structure_specific,
    )

    structures = build_structures(template)
    if _SDMX_ML_30 not in text[:2000]:
        raise ReleaseInvalid("not an SDMX-ML 3.0 message (no SDMX-ML 3.0 message namespace)")
    try:
        datasets = read_structure_specific(text, validate=True)
    except _PARSE_ERRORS as error:
        raise ReleaseInvalid(
            f"not an SDMX-ML 3.0 structure-specific data message: {error}"
        ) from error
    if len(datasets) != 1:
        raise ReleaseInvalid(f"a release is one data set, the message has {len(datasets)}")
    dataset = datasets[0]
    expected = f"Dataflow={structures.dataflow_ref}"
    if dataset.short_urn != expected:
        raise ReleaseInvalid(f"the data set is of {dataset.short_urn}, expected {expected}")
    if dataset.action is ActionType.Delete:
        raise ReleaseInvalid("a data set with action Delete does not release observations")
    if dataset.attributes:
        names = ", ".join(sorted(dataset.attributes))
        raise ReleaseInvalid(f"the data set has attributes the dataflow does not define: {names}")
    reading = _Reading(template, structures, "attribute")
    unknown = [name for name in dataset.data.columns if name not in reading.components]
    if unknown:
        raise ReleaseInvalid(
            f"observations have attributes {structures.dataflow_ref} does not define: "
            + ", ".join(sorted(map(str, unknown)))
        )
    records = dataset.data.fillna("").astype(str).to_dict(orient="records")
    rows = ((f"observation {n}", record) for n, record in enumerate(records, start=1))
    return _read(reading, rows)
