"""The heads of our log a partner holds, against the log as rebuilt: rollback and fork."""

from __future__ import annotations

from migrex.audit import MemoryNodeStore, append, leaf_hash, root_at
from migrex.audit.findings import ProblemKind, VerifyReport
from migrex.audit.heads_held import HeldHead, compare_held_heads

LOG = MemoryNodeStore()
append(LOG, [leaf_hash(b"entry %d" % n) for n in range(20)])
ROOTS = {size: root_at(LOG, size) for size in (5, 10, 20)}


def compared(*heads: HeldHead, checked: int = 20, size: int = 20) -> VerifyReport:
    report = VerifyReport()
    compare_held_heads(report, heads, ROOTS, checked_size=checked, log_size=size)
    return report


def test_heads_the_log_still_has_agree() -> None:
    report = compared(HeldHead(5, ROOTS[5], "a"), HeldHead(20, ROOTS[20], "b"))
    assert report.ok and report.partner_heads == 2


def test_a_head_beyond_the_log_is_a_rollback() -> None:
    report = compared(HeldHead(25, b"\x01" * 32, "a receipt"))
    assert [(p.kind, p.position) for p in report.problems] == [(ProblemKind.ROLLBACK, 25)]
    assert report.problems[0].message.startswith("a receipt stated 25 leaves")


def test_another_root_at_a_size_is_a_fork() -> None:
    report = compared(HeldHead(10, ROOTS[5], "a checkpoint"))
    assert [(p.kind, p.position) for p in report.problems] == [(ProblemKind.FORK, 10)]


def test_a_head_written_while_verifying_is_left_for_the_next_run() -> None:
    report = compared(HeldHead(20, b"\x02" * 32, "new"), checked=10, size=20)
    assert report.ok and report.partner_heads == 0
