"""Sealing received personal data on arrival, opening it while it may be kept, and erasing it
when the agreement's retention period ends.

Erasure destroys the record's data key (crypto-shredding): every stored copy sealed under it
(the case's copy, the inbox's body and signed message) becomes unreadable at once, wherever it
is, including in backups taken after the key was wrapped away. What stays is the audit log's
hash of the envelope: proof that the message was received, without its content.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Select, Table, delete, select
from sqlalchemy.orm import Session

from migrex.agreements import Agreement
from migrex.db import bulk_insert, in_list
from migrex.errors import MigrexError, NotFound
from migrex.retention.sealing import new_data_key, open_text, seal_text, unwrap_key, wrap_key
from migrex.retention.tables import RetentionKeyRow, SearchTermRow

RETENTION_KEY = "retention.key"
# The names a received message's sealed copies go by (bound into each seal, so a copy moved
# to another place does not open there): the inbox's body and signed message, sealed at the
# door, and the case's copy, sealed when filed.
INBOX_BODY = "inbox-body"
SIGNED_MESSAGE = "signed-message"
CASE_BODY = "case-body"


class Erased(MigrexError):
    type_slug = "erased"
    title = "The data was erased when its retention period ended"
    status = 410


def seal_record(
    session: Session, node_key: bytes, *, record: str, agreement: Agreement,
    our_authority: str, texts: Mapping[str, str], now: datetime,
) -> dict[str, str]:  # fmt: skip
    """Seal each text of `record` (a received message id) under a new data key that expires
    with the agreement's retention period; returns the sealed texts by the same names."""
    data_key = new_data_key()
    session.add(
        RetentionKeyRow(
            record=record,
            agreement_id=agreement.id,
            our_authority=our_authority,
            wrapped_key=wrap_key(node_key, data_key, record),
            sealed_at=now,
            expires_at=now + agreement.data_protection.retention,
            erased_at=None,
        )
    )
    return {name: seal_text(data_key, text, f"{record}/{name}") for name, text in texts.items()}


def sealed_copies(
    node_key: bytes, *, record: str, agreement_id: str, our_authority: str,
    expires_at: datetime, now: datetime, texts: Mapping[str, str],
) -> tuple[dict[str, object], dict[str, str]]:  # fmt: skip
    """A new data key for `record` (as a retention row to insert) and each text sealed under
    it by name. Pure apart from the random key."""
    data_key = new_data_key()
    row: dict[str, object] = {
        "record": record, "agreement_id": agreement_id, "our_authority": our_authority,
        "wrapped_key": wrap_key(node_key, data_key, record), "sealed_at": now,
        "expires_at": expires_at, "erased_at": None,
    }  # fmt: skip
    return row, {
        name: seal_text(data_key, text, f"{record}/{name}") for name, text in texts.items()
    }


def _data_key(session: Session, node_key: bytes, record: str) -> bytes:
    """The data key of `record`; NotFound without one, Erased once it is gone."""
    return _unwrapped(node_key, record, session.get(RetentionKeyRow, record))


def _unwrapped(node_key: bytes, record: str, row: RetentionKeyRow | None) -> bytes:
    if row is None:
        raise NotFound(f"no data key for {record}")
    if row.wrapped_key is None:
        raise Erased(f"{record} was erased on {row.erased_at:%Y-%m-%d} (retention ended)")
    return unwrap_key(node_key, row.wrapped_key, record)


@functools.cache
def _keys_of(dialect: str) -> Select[RetentionKeyRow]:
    # Built once: building the statement costs more than running it.
    records = in_list(RetentionKeyRow.record.expression, "records", dialect)
    return select(RetentionKeyRow).where(records)


class DataKeys:
    """The data keys of many records, read in one query and each unwrapped once, when first
    used: for a batch of records handled together (a filing round). Records not read up
    front are looked up one by one, as `open_record` does."""

    def __init__(self, session: Session, node_key: bytes, records: Collection[str]) -> None:
        self._session, self._node_key = session, node_key
        self._rows: dict[str, RetentionKeyRow | None] = {}
        self._keys: dict[str, bytes] = {}
        self.read_more(records)

    def read_more(self, records: Collection[str]) -> None:
        """Reads the keys of these records too (one query)."""
        wanted = [record for record in records if record not in self._rows]
        if not wanted:
            return
        self._rows.update(dict.fromkeys(wanted))
        dialect = self._session.get_bind().dialect.name
        for row in self._session.scalars(_keys_of(dialect), {"records": wanted}):
            self._rows[row.record] = row

    def key(self, record: str) -> bytes:
        """The data key of `record`; NotFound without one, Erased once it is gone."""
        if record not in self._rows:
            return _data_key(self._session, self._node_key, record)
        key = self._keys.get(record)
        if key is None:
            key = self._keys[record] = _unwrapped(self._node_key, record, self._rows[record])
        return key

    def open(self, *, record: str, name: str, sealed: str) -> str:
        return open_text(self.key(record), sealed, f"{record}/{name}")

    def seal(self, *, record: str, name: str, text: str) -> str:
        return seal_text(self.key(record), text, f"{record}/{name}")


def seal_again(session: Session, node_key: bytes, *, record: str, name: str, text: str) -> str:
    """`text` sealed as `name` under the data key `record` already has (Erased once gone)."""
    return seal_text(_data_key(session, node_key, record), text, f"{record}/{name}")


def open_record(session: Session, node_key: bytes, *, record: str, name: str, sealed: str) -> str:
    """The text sealed as `name` of `record`; Erased once its key is gone."""
    return open_text(_data_key(session, node_key, record), sealed, f"{record}/{name}")


@dataclass(frozen=True)
class Erasure:
    record: str
    agreement_id: str
    our_authority: str
    sealed_at: datetime
    expires_at: datetime


def due_for_erasure(session: Session, now: datetime, limit: int = 10_000) -> list[RetentionKeyRow]:
    return list(
        session.scalars(
            select(RetentionKeyRow)
            .where(RetentionKeyRow.erased_at.is_(None), RetentionKeyRow.expires_at <= now)
            .order_by(RetentionKeyRow.expires_at)
            .limit(limit)
        )
    )


def erase(session: Session, rows: list[RetentionKeyRow], now: datetime) -> list[Erasure]:
    """Destroy the data keys of `rows` (in the caller's transaction, with its log entries)."""
    erased = []
    for row in rows:
        row.wrapped_key = None
        row.erased_at = now
        erased.append(
            Erasure(row.record, row.agreement_id, row.our_authority, row.sealed_at, row.expires_at)
        )
    if erased:
        session.execute(delete(SearchTermRow).where(
            SearchTermRow.record.in_([gone.record for gone in erased])
        ))  # fmt: skip
    session.flush()
    return erased


@dataclass(frozen=True)
class Found:
    """A search term found in a record, and where in it."""

    record: str
    scope: str
    term: str


def search_term_rows(record: str, terms: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """The rows that let `record` be found by keyed `terms` (scope, term) until it is erased:
    for `add_search_terms`, or for a caller that inserts many records' rows at once."""
    return [{"record": record, "scope": scope, "term": term} for scope, term in sorted(set(terms))]


def add_search_terms(session: Session, rows: list[dict[str, str]]) -> None:
    # On the connection, as the ledger's rows: no flush of the session's pending objects. A
    # message carries a dozen terms, so a round's rows go in as one stream (COPY).
    bulk_insert(session, _SEARCH_TERMS, rows)


_SEARCH_TERMS = cast(Table, SearchTermRow.__table__)


def records_with(session: Session, terms: Collection[str], limit: int) -> list[Found]:
    """Where any of `terms` occurs (at most `limit` finds, newest records first)."""
    if not terms:
        return []
    query = (
        select(SearchTermRow.record, SearchTermRow.scope, SearchTermRow.term)
        .where(SearchTermRow.term.in_(sorted(terms)))
        .order_by(SearchTermRow.id.desc())
        .limit(limit)
    )
    return [Found(*row) for row in session.execute(query)]
