"""The clerk of directory updates: files every `directory-update` the casework clerk set
aside for it, one at a time, each in its own savepoint.

A partner's proposal is answered (countersigned, or declined with why); a countersignature of
ours is installed and the keys it lists activated; a decline is recorded. An update that
cannot be read or does not verify changes nothing: it is refused with a reason (a code and the
places at fault) on its inbox row and in the security log, and the next one is filed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Final

import structlog
from sqlalchemy import select

from migrex import features
from migrex.audit.pending import discard_since, pending_mark
from migrex.errors import MigrexError
from migrex.exchange.tables import InboxMessage, SecurityEvent
from migrex.exchange.trust import Trust
from migrex.identity.node_secrets import node_secret
from migrex.node import Node
from migrex.retention.sealing import is_sealed
from migrex.retention.service import INBOX_BODY, RETENTION_KEY, open_record
from migrex.rotation.messages import Stage, parse_update
from migrex.rotation.service import (
    answer_proposal,
    hold_directories,
    note_declined,
    take_countersignature,
)
from migrex.uow import UnitOfWork

log = structlog.get_logger(__name__)

FOR_ROTATION: Final = features.set_aside_status("rotation")
REFUSED: Final = "refused"


def file_directory_updates(
    uow: UnitOfWork, node: Node, trust: Trust, now: datetime, limit: int = 1
) -> int:
    """Files the updates waiting; returns how many it took up. One transaction, kept to one
    update by default: a round writes files and signs, and on SQLite it holds the one write
    lock meanwhile (the job drains a backlog round after round)."""
    waiting = select(InboxMessage.id).where(InboxMessage.status == FOR_ROTATION)
    if uow.session.scalar(waiting.limit(1)) is None:
        return 0
    uow.session.rollback()
    hold_directories(uow.session)
    rows = list(uow.session.scalars(
        select(InboxMessage).where(InboxMessage.status == FOR_ROTATION).order_by(InboxMessage.id)
        .limit(limit)
    ))  # fmt: skip
    for row in rows:
        mark = pending_mark(uow.session)
        savepoint = uow.session.begin_nested()
        try:
            status = _file(uow, node, trust, row, now)
            savepoint.commit()
        except MigrexError as error:
            savepoint.rollback()
            discard_since(uow.session, mark)
            _refuse(uow, row, error, now)
        else:
            row.status = status
    uow.commit()
    return len(rows)


def _file(uow: UnitOfWork, node: Node, trust: Trust, row: InboxMessage, now: datetime) -> str:
    text = row.body
    if is_sealed(text):
        key = node_secret(node.settings.resolved_key_dir, RETENTION_KEY)
        text = open_record(uow.session, key, record=row.message_id, name=INBOX_BODY, sealed=text)
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    update = parse_update(payload)
    if update.agreement_id != row.agreement_id:
        raise MigrexError("the update names another agreement than its envelope")
    if update.stage is Stage.PROPOSAL:
        return answer_proposal(
            uow, node, trust, message_id=row.message_id, sender=row.sender,
            recipient=row.recipient, update=update, now=now,
        )  # fmt: skip
    if update.stage is Stage.COUNTERSIGNED:
        return take_countersignature(uow, node, trust, update, now)
    return note_declined(uow.session, update, row.sender, now)


def _refuse(uow: UnitOfWork, row: InboxMessage, error: MigrexError, now: datetime) -> None:
    problem = error.detail[:500]
    row.status, row.problem = REFUSED, problem
    uow.session.add(SecurityEvent(at=now, reason="directory-update-refused",
                                  detail=f"{row.type} {row.message_id}: {problem}"[:500],
                                  peer=row.sender, size=0,
                                  envelope_sha256=row.envelope_sha256))  # fmt: skip
    log.warning("directory update refused", message_id=row.message_id, problem=problem)
