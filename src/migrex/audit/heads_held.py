"""Our log's heads as a partner holds them, compared with the log as it is now.

Leaves written after the last checkpoint, or a whole log re-signed with our own key, can be
rewritten so that the log agrees with itself; only someone outside holds what the log said
before. A partner holds two such statements, both signed by us: the checkpoints it cosigned
as our witness, and the heads our receipts for its messages stated. Each must still be true
of the log: a head larger than the log means leaves were removed (a rollback); a head whose
root the log does not have at that size means the leaves before it were rewritten (a fork).
The roots are rebuilt from our leaf rows, so no proof from the possibly rewritten tree is
trusted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from migrex.audit.findings import ProblemKind, VerifyReport


@dataclass(frozen=True)
class HeldHead:
    """A size and root of our log as a partner holds it, and the statement it came from."""

    size: int
    root_hash: bytes
    source: str
    """What stated it, for the report: a cosigned checkpoint or a receipt, and who signed."""


def compare_held_heads(
    report: VerifyReport,
    heads: Sequence[HeldHead],
    roots: Mapping[int, bytes],
    *,
    checked_size: int,
    log_size: int,
) -> None:
    """Add a rollback or fork problem to `report` for each head the log contradicts.

    `roots` holds the rebuilt root at each head's size up to `checked_size` (the leaves that
    were rebuilt); `log_size` is the log's size when the rebuild ended. A head between the
    two was written while verifying and is left for the next run.
    """
    for head in heads:
        report.partner_heads += 1
        if head.size > log_size:
            report.add(
                ProblemKind.ROLLBACK,
                head.size,
                f"{head.source} stated {head.size} leaves, but the log holds {log_size}: "
                "leaves were removed",
            )
        elif head.size > checked_size:
            report.partner_heads -= 1
        elif roots.get(head.size) != head.root_hash:
            report.add(
                ProblemKind.FORK,
                head.size,
                f"{head.source} stated another root for the first {head.size} leaves: "
                "they were rewritten since, or the log showed two histories",
            )
