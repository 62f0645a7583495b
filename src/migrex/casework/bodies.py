"""Reading a case message's body, opening it when it was sealed for retention."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from migrex.casework.tables import CaseMessageRow
from migrex.retention.sealing import is_sealed
from migrex.retention.service import CASE_BODY, open_record
from migrex.uow import UnitOfWork

if TYPE_CHECKING:
    from migrex.casework.context import NodeContext

__all__ = ["CASE_BODY", "body_of", "body_text"]


def body_text(uow: UnitOfWork, node: NodeContext, row: CaseMessageRow) -> str:
    """The canonical JSON of the message; raises Erased once its retention has ended."""
    if not is_sealed(row.body):
        return row.body
    return open_record(uow.session, node.retention_key, record=row.message_id, name=CASE_BODY,
                       sealed=row.body)  # fmt: skip


def body_of(uow: UnitOfWork, node: NodeContext, row: CaseMessageRow) -> dict[str, Any]:
    return json.loads(body_text(uow, node, row))  # type: ignore[no-any-return]
