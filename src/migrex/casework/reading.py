"""Reading a case's messages in full: every read of personal data is recorded.

The disclosure ledger gets one "read" row per person the message is about, and the audit log
one entry per person (with the person only as a keyed hash), in the same transaction as the
read; a reader who looks at nothing personal leaves no trace but the case view itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from migrex.audit import subject_hash
from migrex.audit.events import personal_data_read
from migrex.audit.pending import record
from migrex.casework.bodies import body_text
from migrex.casework.context import NodeContext
from migrex.casework.steps import load_case
from migrex.casework.tables import CaseMessageRow
from migrex.ledger.service import MessageFacts, record_read
from migrex.retention.service import Erased
from migrex.uow import UnitOfWork


@dataclass(frozen=True)
class MessageView:
    message_id: str
    direction: str
    type: str
    at: datetime
    actor: str
    body: dict[str, Any] | None  # None once erased
    erased: bool


def read_case_messages(
    uow: UnitOfWork, node: NodeContext, case_id: str, *, reader: str, now: datetime
) -> list[MessageView]:
    """Every message of the case with its body; the reads of personal data are recorded."""
    case = load_case(uow, case_id)
    rows = list(uow.session.scalars(
        select(CaseMessageRow).where(CaseMessageRow.case_id == case_id).order_by(CaseMessageRow.id)
    ))  # fmt: skip
    views: list[MessageView] = []
    opening: dict[str, Any] | None = None
    for row in rows:
        try:
            body: dict[str, Any] | None = json.loads(body_text(uow, node, row))
        except Erased:
            body = None
        if opening is None:
            opening = body
        views.append(MessageView(row.message_id, row.direction, row.type, row.at, row.actor, body,
                                 erased=body is None))  # fmt: skip
        if body is None:
            continue
        facts = MessageFacts(
            row.direction, case.agreement_id, case.our_authority, case.partner_authority,
            row.message_id, row.type, case.id, case.purpose, None, row.actor, row.at,
        )  # fmt: skip
        subjects = record_read(uow.session, node.subject_key, facts, body, opening,
                               reader=reader, at=now)  # fmt: skip
        for subject in subjects:
            hashed = subject_hash(node.subject_key, subject.identifiers[0])
            record(uow.session, personal_data_read(
                at=now, actor=reader, authority=case.our_authority, message_id=row.message_id,
                purpose=case.purpose, subject_hash=hashed,
            ))  # fmt: skip
    uow.commit()
    return views
