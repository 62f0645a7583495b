"""One error hierarchy for the whole node.

Exit codes, one per kind of refusal, so scripts can tell them apart: 1 other, 3 configuration,
4 agreement invalid, 5 import rejected, 6 not found, 7 directory invalid, 8 key store,
9 not permitted by the agreement, 10 audit log, 11 not authenticated, 12 not authorised,
13 officer command refused, 14 message invalid, 15 illegal case transition, 16 onward transfer
refused, 17 co-signature invalid, 18 conflict with what is stored, 19 statistics release
invalid.

Every error a user can cause is a `MigrexError`. The CLI turns it into a message and an exit
code; the API (later) turns it into an RFC 9457 problem response using `type_slug`, `title`
and `status`. Anything else that escapes is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    exit_code = 1

    def __init__(self, detail: str, problems: list[Problem] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems: list[Problem] = problems or []


class ConfigurationError(MigrexError):
    type_slug = "configuration"
    title = "The node configuration is invalid"
    status = 500
    exit_code = 3


class AgreementInvalid(MigrexError):
    type_slug = "agreement-invalid"
    title = "The agreement file is invalid"
    status = 422
    exit_code = 4


class ImportRejected(MigrexError):
    type_slug = "import-rejected"
    title = "The registry file was rejected; nothing was stored"
    status = 422
    exit_code = 5


class NotFound(MigrexError):
    type_slug = "not-found"
    title = "Not found"
    status = 404
    exit_code = 6


class Conflict(MigrexError):
    type_slug = "conflict"
    title = "The request conflicts with what is stored"
    status = 409
    exit_code = 18


@dataclass
class ProblemCollector:
    """Gathers every problem before failing, so a user sees all of them at once."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, where: str, reason: str) -> None:
        self.problems.append(Problem(where, reason))

    def __bool__(self) -> bool:
        return bool(self.problems)
