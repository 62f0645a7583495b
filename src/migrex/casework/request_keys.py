"""Request keys: the same new request sent twice opens one case.

A double click on Send, a browser that posts a form again, a client that retries after its
connection dropped: each sends a new request a second time, and without a key each copy
opened a case of its own and sent the partner a second request about the same person. The
client names each new request with a key of its own (the officers' API's `Idempotency-Key`
header, a field of the console's form); the node remembers, per officer, which case a key
opened, with a fingerprint of the request. The same key again with the same request is
answered with that case, and nothing is sent again; the same key with another request is
refused (409), since answering it with the earlier case would lose the new request without
anyone noticing.

The key and the fingerprint are kept as HMACs under the node's subject key, as the ledger's
subject hashes are: the table holds nothing of the request in clear, nor the key (a client
may make its keys of what it knows, a document number). A key answers for a day (a retry
comes within minutes); the casework job forgets the rows past that (`forget_old_keys`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from migrex.casework.messages.parsing import MessageInvalid
from migrex.casework.tables import CaseMessageRow, RequestKeyRow, ScreeningNoteRow
from migrex.envelope.model import canonical_json
from migrex.errors import Conflict, Problem

KEY_LIFETIME = timedelta(days=1)
# What a client may use: a UUID, a ULID, a random token.
_KEY = re.compile(r"[A-Za-z0-9_.:-]{8,64}")


def checked_key(key: str, field: str = "Idempotency-Key") -> str:
    """`key` if it is one a client may give; MessageInvalid otherwise."""
    if not _KEY.fullmatch(key):
        raise MessageInvalid(
            "the request key is not one the node accepts",
            [Problem(field, "8 to 64 letters, digits or . _ : - (a UUID, for instance)")],
        )
    return key


def fingerprint(subject_key: bytes, request: Mapping[str, Any]) -> str:
    """A keyed hash of the request as sent (agreement, parties, type, body); MessageInvalid
    for a body that is not JSON (a NaN the parser let through), as opening it would be."""
    try:
        encoded = canonical_json(request)
    except (ValueError, TypeError) as error:
        raise MessageInvalid(
            "the request is not JSON the node can read",
            [Problem("body", "numbers must be finite (no NaN or Infinity)")],
        ) from error
    return _keyed(subject_key, b"migrex-request-fingerprint", encoded)


def key_hash(subject_key: bytes, key: str) -> str:
    """The form the key is kept and looked up in."""
    return _keyed(subject_key, b"migrex-request-key", key.encode())


def _keyed(subject_key: bytes, purpose: bytes, data: bytes) -> str:
    return hmac.new(subject_key, purpose + b"\x00" + data, hashlib.sha256).hexdigest()


def opened_before(
    session: Session, actor: str, key: str, fingerprint: str, now: datetime
) -> str | None:
    """The case this officer's request with `key` opened within the key's lifetime, or None;
    Conflict if the key was given to another request."""
    row = session.get(RequestKeyRow, (actor, key))
    if row is None or row.created_at <= now - KEY_LIFETIME:
        return None
    if not hmac.compare_digest(row.fingerprint, fingerprint):
        raise Conflict(
            "this request key was given to another request",
            [Problem("Idempotency-Key", "use a new key for each new request")],
        )
    return row.case_id


def remember(
    session: Session, actor: str, key: str, fingerprint: str, *, case_id: str, now: datetime
) -> None:
    """Notes that `key` opened `case_id`, in the caller's transaction: if another request
    with the same key committed first, the flush raises IntegrityError (the caller answers
    with that one's case). `key` is the key's hash (`key_hash`); the same key past its
    lifetime gives way."""
    # Only this key's own old row: the job forgets the others (deleting every officer's here
    # made keyed requests of different officers wait for each other on PostgreSQL).
    session.execute(delete(RequestKeyRow).where(
        RequestKeyRow.actor == actor, RequestKeyRow.key == key,
        RequestKeyRow.created_at <= now - KEY_LIFETIME,
    ))  # fmt: skip
    session.add(RequestKeyRow(actor=actor, key=key, fingerprint=fingerprint, case_id=case_id,
                              created_at=now))  # fmt: skip
    session.flush()


def forget_old_keys(session: Session, now: datetime) -> int:
    """Deletes the keys past their lifetime; how many."""
    result = session.execute(
        delete(RequestKeyRow).where(RequestKeyRow.created_at <= now - KEY_LIFETIME)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def flags_of(session: Session, case_id: str) -> list[str]:
    """What screening flagged when the case was opened, as the first answer listed it."""
    notes = session.execute(
        select(ScreeningNoteRow.kind, ScreeningNoteRow.detail)
        .where(ScreeningNoteRow.case_id == case_id, ScreeningNoteRow.severity == "flag")
        .order_by(ScreeningNoteRow.id)
    )  # fmt: skip
    return [f"{kind}: {detail}" for kind, detail in notes]


def opening_message(session: Session, case_id: str) -> str:
    """The id of the message that opened the case (the first of its thread)."""
    return session.scalars(
        select(CaseMessageRow.message_id).where(CaseMessageRow.case_id == case_id)
        .order_by(CaseMessageRow.id).limit(1)
    ).one()  # fmt: skip
