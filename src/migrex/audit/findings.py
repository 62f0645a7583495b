"""What verifying the stored audit log found: a report of problems, each where it lies."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from migrex.audit.merkle import EMPTY_ROOT

MAX_PROBLEMS: Final = 1_000


class ProblemKind(StrEnum):
    LEAF_INVALID = "leaf-invalid"
    """The row is not a canonical audit leaf, or its indexed columns disagree with it."""
    LEAF_ALTERED = "leaf-altered"
    """The row's leaf hash differs from the stored one: the row or that hash was changed."""
    LEAF_MISSING = "leaf-missing"
    LEAF_EXTRA = "leaf-extra"
    NODE_ALTERED = "node-altered"
    NODE_MISSING = "node-missing"
    NODE_EXTRA = "node-extra"
    HEAD = "head"
    CHECKPOINT = "checkpoint"
    COSIGNATURE = "cosignature"
    ROLLBACK = "rollback"
    """A partner holds a head of this log, signed by it, larger than the log now is."""
    FORK = "fork"
    """A partner holds a head of this log, signed by it, whose root the log no longer has at
    that size: the leaves before it were rewritten, or the log showed two histories."""


@dataclass(frozen=True)
class AuditProblem:
    """One thing wrong. `position` is the leaf's, a node's first leaf, or a checkpoint's size."""

    kind: ProblemKind
    position: int | None
    message: str

    def __str__(self) -> str:
        where = "" if self.position is None else f"{self.position}: "
        return f"{where}{self.message}"


@dataclass
class VerifyReport:
    size: int = 0
    """The leaves checked: the head's size when verification began."""
    root_hash: bytes = EMPTY_ROOT
    """The root rebuilt from the leaf rows."""
    checkpoints: int = 0
    cosignatures: int = 0
    partner_heads: int = 0
    """Heads of this log a partner holds that were compared (`verify --with-partner`)."""
    problems: list[AuditProblem] = field(default_factory=list)
    omitted: int = 0
    """Problems found beyond the first MAX_PROBLEMS, counted but not listed: a log renumbered
    from its start would otherwise list every leaf."""

    @property
    def ok(self) -> bool:
        return not self.problems and not self.omitted

    def add(self, kind: ProblemKind, position: int | None, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(AuditProblem(kind, position, message))
        else:
            self.omitted += 1
