"""What `migrex directory show` lists: the installed versions, our proposals, our keys and the
latest directory updates exchanged."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from migrex.audit.tables import AuditLeafRow
from migrex.directory import DirectoryInvalid
from migrex.directory.signing import payload_version
from migrex.errors import ConfigurationError, MigrexError
from migrex.exchange.tables import InboxMessage, OutboxMessage
from migrex.exchange.trust import Trust
from migrex.identity.keys import AuthorityKey, current_key
from migrex.identity.node_secrets import node_secret
from migrex.node import Node
from migrex.retention.sealing import is_sealed
from migrex.retention.service import INBOX_BODY, RETENTION_KEY, open_record
from migrex.rotation.messages import DIRECTORY_UPDATE
from migrex.uow import UnitOfWork

LATEST = 10


def audit_log_reachable(uow: UnitOfWork) -> None:
    """Files are not transactional: reach the audit log first, so that a node whose database
    is down refuses the change rather than making one it cannot record."""
    try:
        uow.session.execute(select(AuditLeafRow.position).limit(1))
    except SQLAlchemyError as error:
        raise ConfigurationError(
            "the node's audit log cannot be reached (is the database up, and at "
            "`migrex db upgrade`?): nothing was changed"
        ) from error


def key_state(key: AuthorityKey, keys: tuple[AuthorityKey, ...], at: datetime) -> str:
    """active (signs or seals now), pending (waits for the partners), verification only
    (replaced, still valid), or expired."""
    if key.pending:
        return "pending"
    if not key.valid_at(at):
        return "expired" if at >= key.not_after else "not yet valid"
    current = current_key(keys, key.use, at)
    return "active" if current is not None and current.kid == key.kid else "verification only"


def _reason(session: Session, node: Node, message_id: str, body: str) -> str | None:
    """Why a partner declined our update, as it wrote it (None once erased or unreadable)."""
    try:
        if is_sealed(body):
            key = node_secret(node.settings.resolved_key_dir, RETENTION_KEY)
            body = open_record(session, key, record=message_id, name=INBOX_BODY, sealed=body)
        reason = json.loads(body).get("reason")
    except (MigrexError, ValueError, AttributeError):
        return None
    return reason if isinstance(reason, str) else None


def directory_status(
    session: Session, node: Node, trust: Trust, at: datetime, agreement_id: str | None
) -> dict[str, Any]:
    agreements = []
    for found_id, directory in sorted(trust.directories.items()):
        if agreement_id is not None and found_id != agreement_id:
            continue
        proposed = None
        if trust.files is not None:
            document = trust.files.read(trust.files.proposal(found_id))
            try:
                proposed = None if document is None else payload_version(document)
            except DirectoryInvalid:
                proposed = None
        agreements.append({
            "agreement_id": found_id, "version": directory.version,
            "issued_at": directory.issued_at.isoformat(), "signed_by": sorted(directory.states),
            "proposed_version": proposed,
            "kept_versions": [d.version for d in trust.history.get(found_id, ())],
        })  # fmt: skip
    keys: list[dict[str, Any]] = []
    for authority in node.settings.authorities:
        held = trust.keystore.all_keys(authority)
        keys.extend({
            "authority": authority, "use": key.use.name.lower(), "kid": key.kid,
            "state": key_state(key, held, at), "not_before": key.not_before.isoformat(),
            "not_after": key.not_after.isoformat(),
        } for key in held)  # fmt: skip
    sent = session.execute(
        select(OutboxMessage.message_id, OutboxMessage.recipient, OutboxMessage.status,
               OutboxMessage.created_at)
        .where(OutboxMessage.type == DIRECTORY_UPDATE)
        .order_by(OutboxMessage.id.desc()).limit(LATEST)
    )  # fmt: skip
    received = session.execute(
        select(InboxMessage.message_id, InboxMessage.sender, InboxMessage.status,
               InboxMessage.received_at, InboxMessage.body)
        .where(InboxMessage.type == DIRECTORY_UPDATE)
        .order_by(InboxMessage.id.desc()).limit(LATEST)
    )  # fmt: skip
    updates = [
        {"direction": "sent", "message_id": m, "peer": p, "status": s, "at": t.isoformat()}
        for m, p, s, t in sent
    ] + [
        {"direction": "received", "message_id": m, "peer": p, "status": s, "at": t.isoformat(),
         **({"reason": _reason(session, node, m, body)} if s == "declined" else {})}
        for m, p, s, t, body in received
    ]  # fmt: skip
    return {"agreements": agreements, "keys": keys,
            "updates": sorted(updates, key=lambda u: u["at"], reverse=True)}  # fmt: skip
