"""The Merkle tree in the database: node hashes in `audit_nodes`, size and root in `audit_head`.

Everything runs in the caller's session and transaction and nothing here commits, so an
append is part of the same unit of work as the change it records: both happen or neither.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Insert,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    column,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from migrex.audit.merkle import EMPTY_ROOT, HASH_SIZE, AuditError, range_nodes
from migrex.audit.tables import head_table, nodes_table
from migrex.db import bulk_insert

HEAD_ID = 1
# Proofs and appends need at most about 2 * 64 nodes; larger loads go in several queries.
_LOOKUP_BATCH = 128

_nodes = nodes_table
_head = head_table


_LOCK_HEAD = (
    update(_head)
    .where(_head.c.id == HEAD_ID)
    .values(size=_head.c.size)
    .returning(_head.c.size, _head.c.root_hash)
)


class Head(NamedTuple):
    size: int
    root_hash: bytes


def read_head(session: Session) -> Head:
    """The tree's size and root as this transaction sees them (the empty tree before any)."""
    row = session.execute(
        select(_head.c.size, _head.c.root_hash).where(_head.c.id == HEAD_ID)
    ).one_or_none()
    return Head(0, EMPTY_ROOT) if row is None else Head(row.size, bytes(row.root_hash))


def lock_head(session: Session) -> Head:
    """The head, locked until the transaction ends, so appends take positions in turn.

    The lock is a write (of the unchanged size): PostgreSQL then holds the row lock until
    commit, and SQLite takes its database write lock here, before the head is read. A plain
    read first would let another SQLite writer commit in between, since its transactions
    only take the write lock at their first write.
    """
    row = session.execute(_LOCK_HEAD).one_or_none()
    if row is None:
        # The first append ever: create the row; a concurrent first append's insert is
        # ignored, and the update then waits for that transaction like any other.
        insert_ignoring_conflict(
            session, _head, {"id": HEAD_ID, "size": 0, "root_hash": EMPTY_ROOT}
        )
        row = session.execute(_LOCK_HEAD).one()
    return Head(row.size, bytes(row.root_hash))


def insert_ignoring_conflict(session: Session, table: Table, values: dict[str, Any]) -> None:
    """INSERT `values` unless a row with the same key exists (ON CONFLICT DO NOTHING)."""
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        statement: Insert = postgresql.insert(table).values(values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(values).on_conflict_do_nothing()
    else:
        raise AuditError(f"the audit log does not support {dialect}")
    session.execute(statement)


def insert_or_replace(
    session: Session, table: Table, values: dict[str, Any], key: Sequence[str]
) -> None:
    """INSERT `values`, or set the other columns of the row with the same `key` to them (ON
    CONFLICT DO UPDATE): one statement, so two writers of the same row never both insert."""
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        insert: Any = postgresql.insert(table)
    elif dialect == "sqlite":
        insert = sqlite.insert(table)
    else:
        raise AuditError(f"the audit log does not support {dialect}")
    statement = insert.values(values)
    changed = {name: statement.excluded[name] for name in values if name not in key}
    session.execute(statement.on_conflict_do_update(index_elements=list(key), set_=changed))


def write_head(session: Session, head: Head) -> None:
    """Move the (locked) head to `head`."""
    session.execute(
        update(_head).where(_head.c.id == HEAD_ID).values(size=head.size, root_hash=head.root_hash)
    )


# The lookup statements are built once: building a SQLAlchemy expression costs more than
# running it, and a proof needs only one lookup. PostgreSQL joins the key to two arrays, one
# statement whatever their length; SQLite, lacking arrays, looks each term of an OR up in the
# key (it would scan the whole table for a row-value IN list).
_WANTED = (
    func.unnest(
        bindparam("levels", type_=postgresql.ARRAY(Integer)),
        bindparam("indexes", type_=postgresql.ARRAY(BigInteger)),
    )
    .table_valued(column("level", Integer), column("index", BigInteger))
    .render_derived()
)
_LOOKUP_BY_ARRAYS = select(_nodes.c.level, _nodes.c.index, _nodes.c.hash).join_from(
    _nodes,
    _WANTED,
    and_(_nodes.c.level == _WANTED.c.level, _nodes.c.index == _WANTED.c.index),
)


@functools.cache
def _lookup_by_or(count: int) -> Select[int, int, bytes]:
    terms = [
        and_(_nodes.c.level == bindparam(f"l{n}"), _nodes.c.index == bindparam(f"i{n}"))
        for n in range(count)
    ]
    return select(_nodes.c.level, _nodes.c.index, _nodes.c.hash).where(or_(*terms))


# The right edge of the tree as this process last wrote it, per database, keyed by the size and
# root it belongs to. A root commits to every leaf and so to every node, so an edge found under
# the head's (size, root) is that tree's edge even if it was computed in a transaction that
# rolled back: the next append by this process then reads no nodes at all.
_EDGES: dict[str, tuple[Head, dict[tuple[int, int], bytes]]] = {}
_APPENDED = "migrex.audit.appended"


def remember_edge(session: Session, head: Head, store: SqlNodeStore) -> None:
    """Keep the right edge of the tree `head` names, which `store` has read or written."""
    edge = {key: store.known(key) for key in range_nodes(0, head.size)}
    if all(node is not None for node in edge.values()):
        _EDGES[_database(session)] = (head, {key: node for key, node in edge.items() if node})


def known_edge(session: Session, head: Head) -> dict[tuple[int, int], bytes]:
    """The right edge of the tree `head` names, if this process knows it; else empty."""
    remembered = _EDGES.get(_database(session))
    return remembered[1] if remembered is not None and remembered[0] == head else {}


def _database(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def remember_append(session: Session, head: Head, store: SqlNodeStore) -> None:
    """Note the head this transaction's append wrote and the nodes it read or wrote, so the
    root and proofs it hands out next in the same transaction need no query."""
    session.info[_APPENDED] = (_transaction(session), head, store)


def appended(session: Session) -> tuple[Head, SqlNodeStore] | None:
    """The head and nodes of this transaction's last append; None if it made none."""
    noted = session.info.get(_APPENDED)
    if noted is None or noted[0] != _transaction(session):
        return None
    return noted[1], noted[2]


def _transaction(session: Session) -> tuple[object, object]:
    # The savepoint too: an append inside one that was rolled back must not be remembered.
    return session.get_transaction(), session.get_nested_transaction()


class SqlNodeStore:
    """A `merkle.NodeStore` over `audit_nodes`, for use within one transaction.

    Nodes it has read or written are kept in memory, and `load` fetches many in one query,
    so that `merkle.append`, `root_at` and the proofs, which ask for nodes one at a time,
    cost one round trip instead of one per node. `size` is the head's unless given (an
    appender passes the size it read from the locked head).
    """

    def __init__(self, session: Session, *, size: int | None = None) -> None:
        self._session = session
        self._size = size
        self._known: dict[tuple[int, int], bytes] = {}

    def load(self, keys: Iterable[tuple[int, int]]) -> None:
        """Fetch the nodes at these (level, index) keys now, in as few queries as it takes."""
        wanted = sorted({key for key in keys if key not in self._known})
        sqlite = self._session.get_bind().dialect.name == "sqlite"
        for start in range(0, len(wanted), _LOOKUP_BATCH):
            batch = wanted[start : start + _LOOKUP_BATCH]
            if sqlite:
                params = {
                    f"{name}{n}": value
                    for n, key in enumerate(batch)
                    for name, value in zip("li", key, strict=True)
                }
                rows = self._session.execute(_lookup_by_or(len(batch)), params)
            else:
                arrays = {"levels": [lv for lv, _ in batch], "indexes": [ix for _, ix in batch]}
                rows = self._session.execute(_LOOKUP_BY_ARRAYS, arrays)
            self._known.update(((level, index), bytes(node)) for level, index, node in rows)

    def known(self, key: tuple[int, int]) -> bytes | None:
        """The node at `key` if this store has read or written it; never queries."""
        return self._known.get(key)

    def remember(self, nodes: dict[tuple[int, int], bytes]) -> None:
        """Take these nodes as read (the caller knows they are the stored ones)."""
        self._known.update(nodes)

    def get(self, level: int, index: int) -> bytes | None:
        key = (level, index)
        if key not in self._known:
            self.load([key])
        return self._known.get(key)

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        nodes = list(items)
        if any(len(node) != HASH_SIZE for _, _, node in nodes):
            raise AuditError(f"a node hash is {HASH_SIZE} bytes")
        if not nodes:
            return
        bulk_insert(
            self._session,
            _nodes,
            [{"level": lv, "index": ix, "hash": node} for lv, ix, node in nodes],
        )
        self._known.update(((level, index), node) for level, index, node in nodes)
        self._size = self.size() + sum(1 for level, _, _ in nodes if level == 0)

    def size(self) -> int:
        if self._size is None:
            self._size = read_head(self._session).size
        return self._size
