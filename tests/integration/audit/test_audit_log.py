"""The durable audit log on SQLite and PostgreSQL: appends inside the caller's transaction,
proofs that agree with the pure tree, checkpoints, witnessing, and tamper detection."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from migrex.audit import (
    AuditError,
    AuditLeaf,
    Checkpoint,
    LeafKind,
    MemoryNodeStore,
    NodeStore,
    NoteRejected,
    SplitView,
    add_cosignature,
    append,
    consistency_proof,
    format_checkpoint,
    inclusion_proof,
    leaf_hash,
    open_note,
    root_at,
    sign_note,
    verification,
    verifier_key,
    verify_consistency,
    verify_inclusion,
)
from migrex.audit import log as audit_log
from migrex.audit.cosigners import always_valid
from migrex.audit.pending import record
from migrex.audit.store import SqlNodeStore

# Registers the audit tables on the shared metadata; the fixture creates them until the
# Alembic migration does.
from migrex.audit.tables import (
    AUDIT_TABLES,
    AuditCheckpoint,
    checkpoints_table,
    cosignatures_table,
    head_table,
    leaves_table,
    nodes_table,
    witnessed_table,
)
from migrex.audit.verification import ProblemKind
from migrex.db import make_session_factory
from migrex.envelope import new_message_id
from migrex.errors import NotFound

AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ORIGIN = "migrex.kz/test-node/audit"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
LOG_KEYS = [(ORIGIN, LOG_KEY.public_key())]
WITNESS = "migrex.am/witness"
WITNESS_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
WITNESS_KEYS = {WITNESS: WITNESS_KEY.public_key()}

Sessions = sessionmaker[Session]


def entry(n: int, actor: str = "cli:officer-1") -> AuditLeaf:
    return AuditLeaf(
        kind=LeafKind.MESSAGE_SENT,
        at=AT + timedelta(seconds=n),
        actor=actor,
        authority="kz-mia",
        message_id=new_message_id(AT, hashlib.sha256(b"id %d" % n).digest()[:10]),
        envelope_sha256=hashlib.sha256(b"%d" % n).hexdigest(),
        purpose="readmission",
    )


@pytest.fixture
def sessions(engine: Engine) -> Iterator[Sessions]:
    """Sessions on a database with the audit tables, emptied again afterwards."""
    yield make_session_factory(engine)
    with engine.begin() as connection:
        for table in AUDIT_TABLES:
            connection.execute(table.delete())


def append_committed(sessions: Sessions, leaves: list[AuditLeaf]) -> list[int]:
    with sessions() as session:
        positions = audit_log.append_leaves(session, leaves, AT)
        session.commit()
    return positions


def checkpoint(sessions: Sessions) -> audit_log.SignedCheckpoint:
    with sessions() as session:
        signed = audit_log.make_checkpoint(session, ORIGIN, ORIGIN, LOG_KEY, AT)
        session.commit()
    return signed


def count(sessions: Sessions, table: sa.Table) -> int:
    with sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(table)) or 0


# ---------------------------------------------------------------- appending and proving


def test_an_append_rolled_back_with_its_transaction_leaves_nothing(sessions: Sessions) -> None:
    with sessions() as session:
        assert audit_log.append_leaves(session, [entry(0), entry(1), entry(2)], AT) == [0, 1, 2]
        session.rollback()
    assert count(sessions, leaves_table) == count(sessions, nodes_table) == 0
    with sessions() as session:
        assert audit_log.tree_size(session) == 0
    assert append_committed(sessions, [entry(3)]) == [0]


def test_a_commit_writes_its_changes_before_it_locks_the_head(
    sessions: Sessions, engine: Engine
) -> None:
    """Every other writer of the log waits from the head's lock to the commit: the session's
    own pending rows are written before the lock, not inside it, even where the session does
    not flush on its own before each statement."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()).lower())

    with sessions() as session:
        session.add(AuditCheckpoint(size=7, root_hash=bytes(32), note="n", created_at=AT))
        record(session, entry(0))
        sa.event.listen(engine, "before_cursor_execute", seen)
        try:
            with session.no_autoflush:
                session.commit()
        finally:
            sa.event.remove(engine, "before_cursor_execute", seen)
    locked = statements.index(next(s for s in statements if s.startswith("update audit_head")))
    written = [n for n, s in enumerate(statements) if s.startswith("insert into audit_checkpoints")]
    assert written and max(written) < locked
    assert count(sessions, leaves_table) == count(sessions, checkpoints_table) == 1


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.integers(1, 9), min_size=1, max_size=6))
def test_batches_take_consecutive_positions_and_prove_as_the_memory_tree_does(
    sessions: Sessions, batches: list[int]
) -> None:
    memory = MemoryNodeStore()
    with sessions() as session:  # never committed, so every example starts from nothing
        for batch in batches:
            leaves = [entry(memory.size() + n) for n in range(batch)]
            positions = audit_log.append_leaves(session, leaves, AT)
            assert positions == list(range(memory.size(), memory.size() + batch))
            append(memory, [leaf.leaf_hash() for leaf in leaves])
        size = memory.size()
        root = root_at(memory, size)
        assert audit_log.tree_size(session) == size
        assert audit_log.current_root(session) == root
        for position in range(size):
            proof = audit_log.inclusion_proof_for(session, position, size)
            assert proof == inclusion_proof(memory, position, size)
            assert verify_inclusion(memory.get(0, position) or b"", position, size, proof, root)
        for old in range(size + 1):
            proof = audit_log.consistency_proof_between(session, old, size)
            assert proof == consistency_proof(memory, old, size)
            assert verify_consistency(old, size, root_at(memory, old), root, proof)


def test_the_sql_store_is_a_node_store(sessions: Sessions) -> None:
    hashes = [entry(n).leaf_hash() for n in range(11)]
    memory = MemoryNodeStore()
    append(memory, hashes)
    with sessions() as session:
        store: NodeStore = SqlNodeStore(session)
        assert append(store, hashes) == 11
        assert root_at(store, 11) == root_at(memory, 11)
        assert store.get(3, 1) is None  # leaves 8-15 are not all there


def test_a_proof_beyond_the_log_is_refused(sessions: Sessions) -> None:
    append_committed(sessions, [entry(n) for n in range(5)])
    with sessions() as session, pytest.raises(AuditError, match="5 leaves, not 9"):
        audit_log.inclusion_proof_for(session, 2, 9)


def test_a_message_is_found_at_every_position_that_records_it(sessions: Sessions) -> None:
    sent = entry(1)
    receipt = AuditLeaf(LeafKind.RECEIPT, AT, "node:am", "kz-mia", message_id=sent.message_id)
    append_committed(sessions, [entry(0), sent, entry(2)])
    append_committed(sessions, [entry(3), receipt])
    with sessions() as session:
        assert audit_log.position_of_message(session, sent.message_id or "") == [1, 4]
        assert audit_log.position_of_message(session, entry(9).message_id or "") == []
        assert audit_log.leaf_data(session, 4) == receipt.encode()


def test_concurrent_transactions_append_one_after_another(sessions: Sessions) -> None:
    def appender(seed: int) -> list[int]:
        rng = random.Random(seed)
        positions: list[int] = []
        for _ in range(12):
            batch = [entry(rng.randrange(10**6)) for _ in range(rng.randint(1, 5))]
            positions += append_committed(sessions, batch)
        return positions

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(appender, [1, 2, 3]))
    every = sorted(position for result in results for position in result)
    assert every == list(range(len(every)))
    checkpoint(sessions)
    with sessions() as session:
        assert audit_log.verify(session, LOG_KEYS).ok


# ---------------------------------------------------------------- checkpoints and cosignatures


def test_checkpoints_sign_the_head_once_per_size(sessions: Sessions) -> None:
    with sessions() as session:
        assert audit_log.latest_checkpoint(session) is None
    append_committed(sessions, [entry(n) for n in range(6)])
    first = checkpoint(sessions)
    assert checkpoint(sessions) == first
    assert first.checkpoint == Checkpoint(ORIGIN, 6, first.checkpoint.root_hash)
    assert open_note(first.note, {ORIGIN: LOG_KEY.public_key()}).text == format_checkpoint(
        first.checkpoint
    )
    append_committed(sessions, [entry(6)])
    second = checkpoint(sessions)
    with sessions() as session:
        assert audit_log.latest_checkpoint(session) == second
        proof = audit_log.consistency_proof_between(session, 6, 7)
    old, new = first.checkpoint, second.checkpoint
    assert verify_consistency(6, 7, old.root_hash, new.root_hash, proof)


def test_a_witness_cosignature_is_kept_and_verified(sessions: Sessions) -> None:
    append_committed(sessions, [entry(n) for n in range(4)])
    signed = checkpoint(sessions)
    cosigned = add_cosignature(signed.note, WITNESS, WITNESS_KEY, at=AT)
    with sessions() as session:
        key = WITNESS_KEY.public_key()
        audit_log.store_cosignature(session, 4, WITNESS, cosigned, AT, witness_key=key)
        session.commit()
        [row] = audit_log.cosignatures_of(session, 4)
        assert (row.witness, row.note) == (WITNESS, cosigned)
        assert audit_log.verify(session, LOG_KEYS, always_valid(WITNESS_KEYS)).ok


def test_a_cosignature_stored_twice_at_once_is_kept_once(
    engine: Engine, sessions: Sessions
) -> None:
    """A witness posts its cosignature again (it had no answer) while the first is stored:
    the first commits just before the second writes it."""
    append_committed(sessions, [entry(n) for n in range(4)])
    cosigned = add_cosignature(checkpoint(sessions).note, WITNESS, WITNESS_KEY, at=AT)

    def store(session: Session) -> None:
        audit_log.store_cosignature(session, 4, WITNESS, cosigned, AT,
                                    witness_key=WITNESS_KEY.public_key())  # fmt: skip
        session.commit()

    first: list[bool] = []

    def the_first_commits_just_before(*args: Any) -> None:
        if "insert into audit_cosignatures" in args[2].lower() and not first:
            first.append(True)
            with sessions() as session:
                store(session)

    sa.event.listen(engine, "before_cursor_execute", the_first_commits_just_before)
    try:
        with sessions() as second:
            store(second)
    finally:
        sa.event.remove(engine, "before_cursor_execute", the_first_commits_just_before)
    assert first
    with sessions() as session:
        [row] = audit_log.cosignatures_of(session, 4)
        assert (row.witness, row.note) == (WITNESS, cosigned)


def test_a_cosignature_of_anything_but_our_checkpoint_is_refused(sessions: Sessions) -> None:
    append_committed(sessions, [entry(n) for n in range(4)])
    checkpoint(sessions)
    other = Checkpoint(ORIGIN, 4, hashlib.sha256(b"another root").digest())
    forged = add_cosignature(
        sign_note(format_checkpoint(other), ORIGIN, LOG_KEY), WITNESS, WITNESS_KEY, at=AT
    )
    impostor = Ed25519PrivateKey.generate()
    ours = checkpoint(sessions).note
    with sessions() as session:
        with pytest.raises(NoteRejected, match="another text"):
            audit_log.store_cosignature(session, 4, WITNESS, forged, AT)
        with pytest.raises(NoteRejected):
            wrong_key = add_cosignature(ours, WITNESS, impostor, at=AT)
            audit_log.store_cosignature(
                session, 4, WITNESS, wrong_key, AT, witness_key=WITNESS_KEY.public_key()
            )
        with pytest.raises(NotFound):
            audit_log.store_cosignature(session, 3, WITNESS, ours, AT)


# ---------------------------------------------------------------- witnessing a partner's log

PARTNER = "migrex.am/partner-node/audit"
PARTNER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(64, 96)))
PARTNER_VKEY = verifier_key(PARTNER, PARTNER_KEY.public_key())


def partner_log(entries: list[bytes]) -> MemoryNodeStore:
    store = MemoryNodeStore()
    append(store, [leaf_hash(item) for item in entries])
    return store


def partner_note(store: MemoryNodeStore, size: int) -> str:
    text = format_checkpoint(Checkpoint(PARTNER, size, root_at(store, size)))
    return sign_note(text, PARTNER, PARTNER_KEY)


HONEST = partner_log([b"entry %d" % n for n in range(30)])
FORKED = partner_log([b"rewritten" if n == 3 else b"entry %d" % n for n in range(30)])


def witnessed(session: Session, note: str, proof: list[bytes]) -> str:
    return audit_log.witness(
        session, note, proof, origin_verifier_key=PARTNER_VKEY, our_key_name=WITNESS,
        our_private_key=WITNESS_KEY, now=AT,
    )  # fmt: skip


def test_a_witness_cosigns_a_growing_log_and_refuses_a_split_view(sessions: Sessions) -> None:
    with sessions() as session:
        first = witnessed(session, partner_note(HONEST, 7), [])
        assert WITNESS in open_note(first, {}, WITNESS_KEYS).verified
        witnessed(session, partner_note(HONEST, 20), consistency_proof(HONEST, 7, 20))
        witnessed(session, partner_note(HONEST, 20), [])  # seen before: cosigned again
        session.commit()
    stored = count(sessions, witnessed_table)
    assert stored == 2
    conflicting = [
        (partner_note(FORKED, 20), []),  # same size, another root
        (partner_note(FORKED, 25), consistency_proof(FORKED, 20, 25)),
        (partner_note(FORKED, 25), consistency_proof(HONEST, 20, 25)),
    ]
    for note, proof in conflicting:
        with sessions() as session, pytest.raises(SplitView):
            witnessed(session, note, proof)
            session.commit()
    assert count(sessions, witnessed_table) == stored


def test_a_witness_refuses_an_older_or_unsigned_checkpoint(sessions: Sessions) -> None:
    with sessions() as session:
        witnessed(session, partner_note(HONEST, 20), [])
        with pytest.raises(NoteRejected, match="older"):
            witnessed(session, partner_note(HONEST, 10), [])
        impostor = sign_note(
            format_checkpoint(Checkpoint(PARTNER, 25, root_at(HONEST, 25))),
            PARTNER,
            Ed25519PrivateKey.generate(),
        )
        with pytest.raises(NoteRejected):
            witnessed(session, impostor, consistency_proof(HONEST, 20, 25))


# ---------------------------------------------------------------- tamper detection

SIZE, EVERY = 40, 8  # a checkpoint after every 8 leaves: at 8, 16, 24, 32 and 40
CHECKPOINTS = range(EVERY, SIZE + 1, EVERY)


@pytest.fixture
def signed_log(sessions: Sessions, engine: Engine) -> Engine:
    """40 leaves with a checkpoint every 8, and a witness's cosignature of the last one."""
    for start in range(0, SIZE, EVERY):
        append_committed(sessions, [entry(n) for n in range(start, start + EVERY)])
        last = checkpoint(sessions)
    with sessions() as session:
        cosigned = add_cosignature(last.note, WITNESS, WITNESS_KEY, at=AT)
        audit_log.store_cosignature(session, SIZE, WITNESS, cosigned, AT)
        session.commit()
    return engine


def _replace_leaf(connection: Connection, position: int, leaf: AuditLeaf) -> None:
    connection.execute(
        leaves_table.update()
        .where(leaves_table.c.position == position)
        .values(data=leaf.encode(), message_id=leaf.message_id, kind=str(leaf.kind))
    )


def _set_node(connection: Connection, level: int, index: int, value: bytes) -> None:
    nodes = nodes_table.c
    connection.execute(
        nodes_table.update().where(nodes.level == level, nodes.index == index).values(hash=value)
    )


def _swap(connection: Connection, a: int, b: int) -> None:
    position = leaves_table.c.position
    for old, new in ((a, -1), (b, a), (-1, b)):
        connection.execute(leaves_table.update().where(position == old).values(position=new))


def _rewrite_tree(connection: Connection, size: int) -> None:
    """What an intruder does after editing leaves: rebuild nodes and head to match them."""
    rows = connection.execute(
        sa.select(leaves_table.c.data).where(leaves_table.c.position < size).order_by("position")
    )
    memory = MemoryNodeStore()
    append(memory, [leaf_hash(data) for (data,) in rows])
    connection.execute(leaves_table.delete().where(leaves_table.c.position >= size))
    connection.execute(nodes_table.delete())
    level, nodes = 0, []
    while memory.get(level, 0) is not None:
        index = 0
        while (node := memory.get(level, index)) is not None:
            nodes.append({"level": level, "index": index, "hash": node})
            index += 1
        level += 1
    connection.execute(nodes_table.insert(), nodes)
    connection.execute(head_table.update().values(size=size, root_hash=root_at(memory, size)))


def _edit_and_rewrite(connection: Connection) -> None:
    _replace_leaf(connection, 13, entry(99))
    _rewrite_tree(connection, SIZE)


OTHER_HASH = hashlib.sha256(b"not this").digest()
Tamper = Callable[[Connection], object]
FROM_14: set[tuple[ProblemKind, int | None]] = {
    (ProblemKind.CHECKPOINT, size) for size in CHECKPOINTS if size > 13
}
LEAF = leaves_table.c
TAMPERING: dict[str, tuple[Tamper, set[tuple[ProblemKind, int | None]]]] = {
    "edited leaf": (
        lambda c: _replace_leaf(c, 13, entry(99)),
        {(ProblemKind.LEAF_ALTERED, 13), *FROM_14},
    ),
    "garbage leaf": (
        lambda c: c.execute(leaves_table.update().where(LEAF.position == 13).values(data=b"{}")),
        {(ProblemKind.LEAF_INVALID, 13), *FROM_14},
    ),
    "edited index column": (
        lambda c: c.execute(
            leaves_table.update().where(LEAF.position == 13).values(message_id=None)
        ),
        {(ProblemKind.LEAF_INVALID, 13)},
    ),
    "deleted leaf": (
        lambda c: c.execute(leaves_table.delete().where(LEAF.position == 13)),
        {(ProblemKind.LEAF_MISSING, 13)},
    ),
    "inserted leaf": (
        lambda c: c.execute(
            leaves_table.insert().values(
                position=SIZE, kind="message-sent", data=entry(SIZE).encode(), recorded_at=AT
            )
        ),
        {(ProblemKind.LEAF_EXTRA, SIZE)},
    ),
    "inserted node": (
        lambda c: c.execute(nodes_table.insert().values(level=1, index=20, hash=OTHER_HASH)),
        {(ProblemKind.NODE_EXTRA, None)},
    ),
    "reordered leaves": (
        lambda c: _swap(c, 5, 30),
        {(ProblemKind.LEAF_ALTERED, 5), (ProblemKind.LEAF_ALTERED, 30)}
        | {(ProblemKind.CHECKPOINT, size) for size in CHECKPOINTS},
    ),
    "edited leaf hash": (
        lambda c: _set_node(c, 0, 13, OTHER_HASH),
        {(ProblemKind.LEAF_ALTERED, 13)},
    ),
    "edited inner node": (
        lambda c: _set_node(c, 3, 2, OTHER_HASH),
        {(ProblemKind.NODE_ALTERED, 16)},
    ),
    "deleted inner node": (
        lambda c: c.execute(nodes_table.delete().where(nodes_table.c.level == 2)),
        {(ProblemKind.NODE_MISSING, 4 * index) for index in range(SIZE // 4)},
    ),
    "edited head": (
        lambda c: c.execute(head_table.update().values(root_hash=OTHER_HASH)),
        {(ProblemKind.HEAD, None)},
    ),
    "edited checkpoint note": (
        lambda c: c.execute(
            checkpoints_table.update()
            .where(checkpoints_table.c.size == 24)
            .values(note=sa.func.replace(checkpoints_table.c.note, "\n24\n", "\n23\n"))
        ),
        {(ProblemKind.CHECKPOINT, 24)},
    ),
    "edited checkpoint root": (
        lambda c: c.execute(
            checkpoints_table.update()
            .where(checkpoints_table.c.size == 24)
            .values(root_hash=OTHER_HASH)
        ),
        {(ProblemKind.CHECKPOINT, 24)},
    ),
    "forged cosignature": (
        lambda c: c.execute(
            cosignatures_table.update().values(
                note=add_cosignature(
                    sign_note(
                        format_checkpoint(Checkpoint(ORIGIN, SIZE, OTHER_HASH)), ORIGIN, LOG_KEY
                    ),
                    WITNESS,
                    WITNESS_KEY,
                    at=AT,
                )
            )
        ),
        {(ProblemKind.COSIGNATURE, SIZE)},
    ),
    "leaf edited and tree rewritten to match": (_edit_and_rewrite, FROM_14),
    "last leaves removed and tree rewritten": (
        lambda c: _rewrite_tree(c, 35),
        {(ProblemKind.CHECKPOINT, 40)},
    ),
}


def test_an_untouched_log_verifies(signed_log: Engine, sessions: Sessions) -> None:
    with sessions() as session:
        report = audit_log.verify(session, LOG_KEYS, always_valid(WITNESS_KEYS))
    assert report.ok, report.problems
    assert (report.size, report.checkpoints, report.cosignatures) == (SIZE, 5, 1)


@pytest.mark.parametrize("tampering", TAMPERING, ids=str)
def test_tampering_is_found_where_it_happened(
    signed_log: Engine, sessions: Sessions, tampering: str
) -> None:
    tamper, expected = TAMPERING[tampering]
    with signed_log.begin() as connection:
        tamper(connection)
    with sessions() as session:
        report = audit_log.verify(session, LOG_KEYS, always_valid(WITNESS_KEYS))
    assert not report.ok
    assert {(problem.kind, problem.position) for problem in report.problems} == expected
    assert all(problem.message for problem in report.problems)


def test_a_rewritten_tree_is_dated_between_the_checkpoints(
    signed_log: Engine, sessions: Sessions
) -> None:
    with signed_log.begin() as connection:
        _edit_and_rewrite(connection)
    with sessions() as session:
        report = audit_log.verify(session, LOG_KEYS)
    first = min(report.problems, key=lambda problem: problem.position or 0)
    assert first.position == 16
    assert "from 8 to 15" in first.message


def test_worker_processes_find_what_one_process_finds(
    signed_log: Engine, sessions: Sessions
) -> None:
    with signed_log.begin() as connection:
        _swap(connection, 5, 30)
        connection.execute(leaves_table.delete().where(LEAF.position == 17))
    with sessions() as session:
        alone = audit_log.verify(session, LOG_KEYS, workers=0)
        shared = audit_log.verify(session, LOG_KEYS, workers=2)
    assert shared.problems == alone.problems
    assert (ProblemKind.LEAF_MISSING, 17) in {(p.kind, p.position) for p in shared.problems}


def test_a_checkpoint_signed_while_verifying_is_not_taken_for_removed_leaves(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    append_committed(sessions, [entry(n) for n in range(6)])
    checkpoint(sessions)
    real = verification.read_head
    calls = []

    def node_goes_on(session: Session) -> Any:
        head = real(session)
        calls.append(head.size)
        if len(calls) == 2:
            # Just after `verify` read the head it checks against, the node's checkpoint job
            # appends and signs a larger tree.
            append_committed(sessions, [entry(n) for n in range(6, 10)])
            checkpoint(sessions)
        return head

    monkeypatch.setattr(verification, "read_head", node_goes_on)
    with sessions() as session:
        report = audit_log.verify(session, LOG_KEYS)
    assert report.ok, report.problems
    assert (report.size, report.checkpoints) == (6, 1)  # the newer one is for the next run
