"""Reading agreement files: bytes -> TOML -> schema -> cross-checks -> `Agreement`.

Whatever is wrong with a file — unreadable, not UTF-8, bad TOML, wrong shape, dangling
references — comes out as one `AgreementInvalid` listing every problem with its key path.
Nothing else escapes, because agreement files also arrive from partners through the directory.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from migrex.agreements import crossrefs
from migrex.agreements.model import Agreement
from migrex.agreements.paths import join_path
from migrex.agreements.schemas import AgreementSchema
from migrex.errors import AgreementInvalid, Problem

# Real agreements are a few kilobytes; the cap keeps a hostile file from exhausting memory.
MAX_AGREEMENT_BYTES = 1 << 20
# Real agreements nest tables four or five deep. tomllib's work on a dotted key grows with the
# square of its length (a 300,000-part key took 23 GB), and everything after parsing walks the
# document recursively, so both are bounded before they start.
MAX_DEPTH = 24
MAX_VALUES = 100_000
_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"[^"\\\n]*"|'[^'\n]*')"""
_DEEP_KEY = re.compile(
    rf"(?<![A-Za-z0-9_-]){_KEY_PART}(?:[ \t]*\.[ \t]*{_KEY_PART}){{{MAX_DEPTH},}}"
)

_TOML_POSITION = re.compile(
    r"(?P<reason>.*) \(at (?P<where>line \d+, column \d+|end of document)\)"
)

# Pydantic's wording is written for API payloads; in a file "key" is the word a reader expects.
_REASONS = {
    "missing": "required key is missing",
    "extra_forbidden": "unknown key: the agreement format has no such key",
    "date_type": "expected a TOML date such as 2024-04-15 (without quotes)",
}


def load_agreement(path: str | Path) -> Agreement:
    """The agreement in this TOML file; raises AgreementInvalid naming every problem."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_AGREEMENT_BYTES + 1)
    except OSError as error:
        raise _invalid(
            str(path), [Problem("", f"cannot read the file: {error.strerror or error}")]
        ) from None
    return loads_agreement(data, source=str(path))


def loads_agreement(data: bytes | str, *, source: str = "<agreement>") -> Agreement:
    """The agreement in this TOML text; `source` names it in error messages."""
    if isinstance(data, bytes):
        if len(data) > MAX_AGREEMENT_BYTES:
            raise _invalid(source, [Problem("", f"larger than {MAX_AGREEMENT_BYTES} bytes")])
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _invalid(
                source, [Problem(f"byte {error.start}", "the file is not UTF-8")]
            ) from None
    if deep := _DEEP_KEY.search(data):
        line = data.count("\n", 0, deep.start()) + 1
        raise _invalid(source, [Problem(f"line {line}", f"a key of more than {MAX_DEPTH} "
                                        "dotted parts; agreements nest far less")])  # fmt: skip
    try:
        document = tomllib.loads(data)
    except tomllib.TOMLDecodeError as error:
        match = _TOML_POSITION.fullmatch(str(error))
        where, reason = match.group("where", "reason") if match else ("", str(error))
        raise _invalid(source, [Problem(where, f"TOML syntax: {reason}")]) from None
    except RecursionError:
        raise _invalid(source, [Problem("", "TOML syntax: nested too deeply")]) from None
    if problem := shape_problem(document):
        raise _invalid(source, [problem])
    return parse_agreement(document, source=source)


def shape_problem(document: object) -> Problem | None:
    """Whether a parsed document nests deeper than `MAX_DEPTH` or holds more than
    `MAX_VALUES` values; walked with a stack, so no depth can exhaust Python's."""
    stack: list[tuple[object, int]] = [(document, 0)]
    seen = 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            return Problem("", f"more than {MAX_VALUES} values; agreements hold far fewer")
        if depth > MAX_DEPTH:
            return Problem("", f"nested more than {MAX_DEPTH} levels; agreements nest far less")
        if isinstance(value, Mapping):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return None


def parse_agreement(document: Mapping[str, object], *, source: str = "<agreement>") -> Agreement:
    """The agreement in an already parsed TOML document (as `tomllib` returns it)."""
    if not isinstance(document, Mapping):
        raise _invalid(source, [Problem("", "expected a TOML document (a table of keys)")])
    if problem := shape_problem(document):
        raise _invalid(source, [problem])
    try:
        schema = AgreementSchema.model_validate(dict(document))
    except ValidationError as error:
        problems = [_problem(e) for e in error.errors()]
        broken = {str(e["loc"][0]) for e in error.errors() if e["loc"]}
        partial, available = _valid_sections(document, broken)
        problems += crossrefs.check(partial, available)
    else:
        problems = crossrefs.check(schema)
    problems += crossrefs.check_provenance(document)
    if problems:
        raise _invalid(source, problems)
    return schema.to_agreement()


def _section_adapter(info: FieldInfo) -> TypeAdapter[Any]:
    # Annotated with the FieldInfo carries the field's own constraints (min_length and such).
    annotated: Any = Annotated[info.annotation, info]
    return TypeAdapter(annotated)


# One validator per top-level section, so the sound sections of a broken file can still be
# cross-checked and the author sees every problem in one run.
_SECTIONS = {name: _section_adapter(info) for name, info in AgreementSchema.model_fields.items()}


def _valid_sections(
    document: Mapping[str, object], broken: set[str]
) -> tuple[AgreementSchema, set[str]]:
    """A schema holding only the sections without errors, and the names of those sections.

    Sections left out are unset on the returned object; the checks never read them.
    """
    sections: dict[str, Any] = {}
    for name, adapter in _SECTIONS.items():
        if name in broken or name not in document:
            continue
        try:
            sections[name] = adapter.validate_python(document[name])
        except ValidationError:  # reported already by the whole-document validation
            continue
    available = {
        name
        for name, info in AgreementSchema.model_fields.items()
        if name in sections or (name not in document and not info.is_required())
    }
    return AgreementSchema.model_construct(**sections), available


def load_agreements(paths: Iterable[str | Path]) -> dict[str, Agreement]:
    """The agreements in these files by id; raises AgreementInvalid for any bad file.

    Problems are prefixed with their file (`file:key.path`), since several files are involved.
    """
    loaded: list[tuple[str, Agreement]] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            loaded.append((str(path), load_agreement(path)))
        except AgreementInvalid as error:
            problems += [_in_file(path, p) for p in error.problems]
    problems += check_agreement_set(loaded)
    if problems:
        raise AgreementInvalid(f"{len(problems)} problem(s) in the agreement files", problems)
    return {agreement.id: agreement for _, agreement in loaded}


def check_agreement_set(loaded: Sequence[tuple[str, Agreement]]) -> list[Problem]:
    """Problems between agreements one node serves together (empty: none).

    Ids must be unique, and an authority id shared between agreements (one ministry taking
    part in several) must mean the same state in each, or messages could be misaddressed.
    """
    problems: list[Problem] = []
    first_file: dict[str, str] = {}
    first_state: dict[str, tuple[str, str]] = {}
    for source, agreement in loaded:
        if agreement.id in first_file:
            reason = f"agreement id {agreement.id!r} is also used by {first_file[agreement.id]}"
            problems.append(Problem(f"{source}:id", reason))
        first_file.setdefault(agreement.id, source)
        for i, authority in enumerate(agreement.authorities.values()):
            state, other = first_state.setdefault(authority.id, (authority.state, source))
            if state != authority.state:
                reason = f"{authority.id!r} is an authority of {state} in {other}"
                problems.append(Problem(f"{source}:authorities[{i}].state", reason))
    return problems


def _in_file(path: str | Path, problem: Problem) -> Problem:
    return Problem(f"{path}:{problem.where}" if problem.where else str(path), problem.reason)


def _problem(error: ErrorDetails) -> Problem:
    loc = list(error["loc"])
    reason = _REASONS.get(error["type"], error["msg"])
    if loc and loc[-1] == "[key]":  # pydantic marks a bad table key this way
        loc.pop()
        reason = f"bad key: {reason}"
    return Problem(join_path(loc), reason)


def _invalid(source: str, problems: list[Problem]) -> AgreementInvalid:
    count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
    return AgreementInvalid(f"{source}: invalid agreement file ({count})", problems)
