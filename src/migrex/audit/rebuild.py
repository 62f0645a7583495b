"""Rebuilding the Merkle tree from the stored leaf rows, node by node against the stored one.

Leaves are read in chunks of 2**CHUNK_LEVEL, so memory stays bounded whatever the log's size.
Decoding a row (`AuditLeaf.decode`, which also re-encodes it to check it is canonical) costs
far more than hashing, so for large logs it runs in worker processes while this process reads
the next chunks and folds the tree; a few chunks are in flight at a time.

A node that differs from the rebuilt one is reported only when its children matched, so one
altered leaf is one problem, not one per ancestor.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from typing import Final, NamedTuple

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from migrex.audit.findings import ProblemKind, VerifyReport
from migrex.audit.leaves import AuditLeaf, LeafInvalid
from migrex.audit.merkle import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash
from migrex.audit.tables import leaves_table, nodes_table

CHUNK_LEVEL: Final = 13  # 8,192 leaves a chunk
PARALLEL_FROM: Final = 50_000  # below this, starting worker processes costs more than it saves
_IN_FLIGHT: Final = 3
_UNKNOWN: Final = bytes(HASH_SIZE)  # stands in for a hash that cannot be recomputed

_leaves = leaves_table
_nodes = nodes_table


class LeafRow(NamedTuple):
    position: int
    kind: str
    message_id: str | None
    subject_hash: str | None
    data: bytes


class CheckedLeaf(NamedTuple):
    hash: bytes
    invalid: str | None
    """Why the row is not a canonical audit leaf; None when it is one."""
    columns_agree: bool


def check_leaves(rows: list[LeafRow]) -> list[CheckedLeaf]:
    """Hash and decode each row; runs in a worker process, so it touches nothing else."""
    checked = []
    for row in rows:
        # A row rewritten by hand may hold text, or anything SQLite lets a column hold.
        data = row.data if isinstance(row.data, bytes) else str(row.data).encode("utf-8")
        if not isinstance(row.data, bytes):
            checked.append(CheckedLeaf(leaf_hash(data), "the leaf is stored as text", False))
            continue
        try:
            leaf = AuditLeaf.decode(data)
        except LeafInvalid as error:
            checked.append(CheckedLeaf(leaf_hash(data), str(error), False))
            continue
        columns = (str(leaf.kind), leaf.message_id, leaf.subject_hash)
        agree = (row.kind, row.message_id, row.subject_hash) == columns
        checked.append(CheckedLeaf(leaf_hash(data), None, agree))
    return checked


@contextmanager
def leaf_checker(size: int, workers: int | None) -> Iterator[Executor | None]:
    """Worker processes for a log of `size` leaves: `workers` of them, or by default one per
    CPU when the log is large enough; None means check in this process."""
    if workers is None:
        workers = (os.cpu_count() or 1) if size >= PARALLEL_FROM else 0
    if workers < 1:
        yield None
        return
    # Spawned, not forked: a fork would copy this process's database connections and threads.
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        yield pool


class _Chunk(NamedTuple):
    start: int
    end: int
    rows: list[LeafRow]
    stored: dict[tuple[int, int], bytes]
    checked: Future[list[CheckedLeaf]]


class _Pending(NamedTuple):
    """A complete subtree waiting for its right sibling, as in `merkle.root`."""

    level: int
    hash: bytes
    clean: bool  # it and every node below it matched the stored hashes


class Rebuild:
    """The tree recomputed from the leaf rows, compared node by node with the stored one.

    `roots` holds the rebuilt root at every size in `wanted` (the checkpoints' sizes).
    """

    def __init__(self, session: Session, report: VerifyReport, wanted: set[int]) -> None:
        self._session = session
        self._report = report
        self._wanted = wanted
        self._stack: list[_Pending] = []
        self.roots: dict[int, bytes] = {0: EMPTY_ROOT}

    @property
    def root(self) -> bytes:
        node = EMPTY_ROOT
        for index, pending in enumerate(reversed(self._stack)):
            node = pending.hash if index == 0 else node_hash(pending.hash, node)
        return node

    @property
    def clean(self) -> bool:
        return all(pending.clean for pending in self._stack)

    def run(
        self, size: int, checker: Executor | None, on_chunk: Callable[[int, int], None]
    ) -> None:
        """Rebuild the first `size` leaves; `on_chunk` is told (leaves done, size)."""
        in_flight: deque[_Chunk] = deque()
        for start in range(0, size, 1 << CHUNK_LEVEL):
            end = min(start + (1 << CHUNK_LEVEL), size)
            rows = self._rows(start, end)
            in_flight.append(
                _Chunk(start, end, rows, self._stored_nodes(start, end), _submit(checker, rows))
            )
            if len(in_flight) >= _IN_FLIGHT:
                self._fold(in_flight.popleft())
                on_chunk(in_flight[0].start, size)
        while in_flight:
            self._fold(in_flight.popleft())
        on_chunk(size, size)

    def _rows(self, start: int, end: int) -> list[LeafRow]:
        # Plain rows, not ORM objects: the caller's session must not fill up with the log.
        leaf = _leaves.c
        query = (
            select(leaf.position, leaf.kind, leaf.message_id, leaf.subject_hash, leaf.data)
            .where(leaf.position >= start, leaf.position < end)
            .order_by(leaf.position)
        )
        return [LeafRow(*row) for row in self._session.execute(query).all()]

    def _stored_nodes(self, start: int, end: int) -> dict[tuple[int, int], bytes]:
        """The stored nodes the leaves [start, end) complete: those inside the chunk, and
        the larger ones whose last leaf is the chunk's last (at a chunk's end only)."""
        ranges = [
            and_(_nodes.c.level == level, _nodes.c.index.between(lo, hi - 1))
            for level in range(CHUNK_LEVEL + 1)
            if (lo := start >> level) < (hi := end >> level)
        ]
        ranges += [
            and_(_nodes.c.level == level, _nodes.c.index == (end >> level) - 1)
            for level in range(CHUNK_LEVEL + 1, end.bit_length())
            if end % (1 << level) == 0
        ]
        rows = self._session.execute(
            select(_nodes.c.level, _nodes.c.index, _nodes.c.hash).where(or_(*ranges))
        ).all()
        return {(level, index): node for level, index, node in rows}

    def _fold(self, chunk: _Chunk) -> None:
        found = dict(zip((row.position for row in chunk.rows), chunk.checked.result(), strict=True))
        for position in range(chunk.start, chunk.end):
            leaf = self._leaf(position, found.get(position), chunk.stored.get((0, position)))
            self._push(position, leaf, chunk.stored)
            if position + 1 in self._wanted:
                self.roots[position + 1] = self.root

    def _leaf(self, position: int, checked: CheckedLeaf | None, stored: bytes | None) -> _Pending:
        add = self._report.add
        if checked is None:
            add(ProblemKind.LEAF_MISSING, position, "the leaf row is missing")
            return _Pending(0, stored or _UNKNOWN, False)
        if checked.invalid is not None:
            add(
                ProblemKind.LEAF_INVALID,
                position,
                f"the row is not an audit leaf: {checked.invalid}",
            )
            return _Pending(0, checked.hash, False)
        if not checked.columns_agree:
            add(ProblemKind.LEAF_INVALID, position, "the row's columns disagree with its data")
        if stored is None:
            add(ProblemKind.NODE_MISSING, position, "the stored leaf hash is missing")
        elif stored != checked.hash:
            add(
                ProblemKind.LEAF_ALTERED,
                position,
                "the leaf row does not match its stored leaf hash: one of them was changed",
            )
        return _Pending(0, checked.hash, stored == checked.hash)

    def _push(self, position: int, leaf: _Pending, stored: dict[tuple[int, int], bytes]) -> None:
        """Add a leaf and fold every subtree it completes, checking each new node."""
        node, index = leaf, position
        while self._stack and self._stack[-1].level == node.level:
            left = self._stack.pop()
            level, index = node.level + 1, index >> 1
            computed = node_hash(left.hash, node.hash)
            found = stored.get((level, index))
            if left.clean and node.clean and found != computed:
                first = index << level
                what = "missing" if found is None else "different from the rebuilt hash"
                self._report.add(
                    ProblemKind.NODE_MISSING if found is None else ProblemKind.NODE_ALTERED,
                    first,
                    f"node ({level}, {index}) over leaves {first}-{first + (1 << level) - 1} "
                    f"is {what}",
                )
            node = _Pending(level, computed, left.clean and node.clean and found == computed)
        self._stack.append(node)


def _submit(checker: Executor | None, rows: list[LeafRow]) -> Future[list[CheckedLeaf]]:
    if checker is not None:
        return checker.submit(check_leaves, rows)
    done: Future[list[CheckedLeaf]] = Future()
    done.set_result(check_leaves(rows))
    return done
