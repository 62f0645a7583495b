"""One error hierarchy for the whole node.

Every error a user can cause is a `MigrexError`, declared in the feature it belongs to. The CLI
turns it into a message and the exit code `EXIT_CODES` gives its class (or its nearest listed
ancestor), so scripts can tell refusals apart; the HTTP APIs turn it into an RFC 9457 problem
document from its `type_slug`, `title` and `status`. Anything else that escapes is a bug.
`docs/exit-codes.md` is generated from this table and the classes, and a test keeps it so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

# The exit code of each kind of error, by class name, in one place: a class not listed exits
# with its nearest listed ancestor's code, and a class may not number itself otherwise. A new
# kind of refusal that scripts must tell apart adds one line here with the next free code.
# 0 is success and 2 Click's usage error (an unknown option, a missing argument).
EXIT_CODES: Final[Mapping[str, int]] = {
    "MigrexError": 1,
    "ConfigurationError": 3,
    "AgreementInvalid": 4,
    "ImportRejected": 5,
    "NotFound": 6,
    "DirectoryInvalid": 7,
    "KeyStoreError": 8,
    "NotPermitted": 9,
    "AuditError": 10,
    "NotAuthenticated": 11,
    "NotAuthorised": 12,
    "OfficerRejected": 13,
    "MessageInvalid": 14,
    "IllegalTransition": 15,
    "OnwardTransferRefused": 16,
    "CoSignatureInvalid": 17,
    "Conflict": 18,
    "ReleaseInvalid": 19,
    "Erased": 20,
    "PersonNotDetermined": 21,
    "SecondOfficerRequired": 22,
    "Unfileable": 23,
    "NotAwaitingOperator": 24,
    "ReissueRefused": 25,
    "RotationPending": 26,
    "DirectoryUpdateRefused": 27,
    "LoginThrottled": 32,
    "SnapshotRemovesTooMuch": 35,
    "BackupRefused": 37,
    "RestoreTargetInUse": 38,
    "UnitUnreachable": 39,
    "ResultNotReady": 40,
    "BackupNotWritten": 41,
    # Start-up checks (migrex.checks): what is missing, and so what to run.
    "DatabaseMissing": 28,
    "DatabaseNotCurrent": 29,
    "DatabaseUnreachable": 30,
    "NodeFilesMissing": 31,
}
USAGE_EXIT_CODE: Final = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and what is wrong there."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}" if self.where else self.reason


class MigrexError(Exception):
    """Base of every error caused by input, configuration or permissions."""

    type_slug = "error"
    title = "The request could not be carried out"
    status = 400
    exit_code = EXIT_CODES["MigrexError"]
    # What the console adds after "… and N more" when it shows only the first problems.
    more_problems_hint = ""

    def __init__(self, detail: str, problems: list[Problem] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems: list[Problem] = problems or []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        code = EXIT_CODES.get(cls.__name__)
        declared = cls.__dict__.get("exit_code")
        if declared is not None and declared != code:
            raise TypeError(
                f"{cls.__module__}.{cls.__name__} sets exit_code {declared}; "
                "exit codes come from migrex.errors.EXIT_CODES"
            )
        if code is not None:
            cls.exit_code = code

    @classmethod
    def problem_types(cls) -> tuple[tuple[str, int, str], ...]:
        """Every (type slug, HTTP status, title) the class answers with: its own, unless an
        instance chooses one by its reason."""
        return ((cls.type_slug, cls.status, cls.title),)


class ConfigurationError(MigrexError):
    type_slug = "configuration"
    title = "The node configuration is invalid"
    status = 500


class AgreementInvalid(MigrexError):
    type_slug = "agreement-invalid"
    title = "The agreement file is invalid"
    status = 422


class ImportRejected(MigrexError):
    type_slug = "import-rejected"
    title = "The registry file was rejected; nothing was stored"
    status = 422
    more_problems_hint = " (use --report FILE to save them all)"


class NotFound(MigrexError):
    type_slug = "not-found"
    title = "Not found"
    status = 404


class Conflict(MigrexError):
    type_slug = "conflict"
    title = "The request conflicts with what is stored"
    status = 409


@dataclass
class ProblemCollector:
    """Gathers every problem before failing, so a user sees all of them at once."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, where: str, reason: str) -> None:
        self.problems.append(Problem(where, reason))

    def __bool__(self) -> bool:
        return bool(self.problems)


def error_reference(errors: Iterable[type[MigrexError]]) -> str:
    """The exit codes and problem types of `errors` (every MigrexError class of the node) as
    the Markdown of `docs/exit-codes.md`."""
    classes = sorted(set(errors), key=lambda c: (c.exit_code, c.__module__, c.__name__))

    def name(error: type[MigrexError]) -> str:
        return f"`{error.__module__}.{error.__name__}`"

    by_name = {error.__name__: error for error in classes}
    lines = [
        "# Exit codes and problem types",
        "",
        "Generated from `migrex.errors.EXIT_CODES` and every `MigrexError` class by",
        "`tests/unit/core/test_errors.py`; after changing an error, rewrite this file with",
        "`MIGREX_WRITE_DOCS=1 pytest tests/unit/core/test_errors.py`.",
        "",
        "A command that fails exits with the code of its error's class, or of the nearest",
        "ancestor listed in `EXIT_CODES`. The HTTP APIs answer with an RFC 9457 problem",
        "document whose `type` is `urn:migrex:problem:` followed by the problem type.",
        "",
        "## Exit codes",
        "",
        "| Code | Meaning | Errors |",
        "| ---: | --- | --- |",
    ]
    codes = [(0, "success", ""), (USAGE_EXIT_CODE, "the command line is wrong (usage)", "")]
    for class_name, code in EXIT_CODES.items():
        listed = by_name.get(class_name)
        members = ", ".join(name(e) for e in classes if e.exit_code == code)
        codes.append((code, listed.title if listed else class_name, members))
    lines += [f"| {code} | {meaning} | {members} |" for code, meaning, members in sorted(codes)]
    lines += [
        "",
        "## Problem types",
        "",
        "| Problem type | HTTP status | Title | Error | Exit code |",
        "| --- | ---: | --- | --- | ---: |",
    ]
    rows = sorted(
        (slug, status, title, name(error), error.exit_code)
        for error in classes
        for slug, status, title in error.problem_types()
    )
    lines += [f"| `{slug}` | {status} | {title} | {error} | {code} |" for slug, status, title,
              error, code in rows]  # fmt: skip
    return "\n".join(lines) + "\n"
