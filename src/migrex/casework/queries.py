"""What officers' lists ask of casework: read-only queries next to the use cases, so routes
and commands only parse, call and render."""

from __future__ import annotations

from sqlalchemy import select

from migrex.casework.tables import CaseEventRow, CaseMessageRow, CaseRow, ScreeningNoteRow
from migrex.uow import UnitOfWork


def cases_of(uow: UnitOfWork, authority: str | None = None, limit: int = 500) -> list[CaseRow]:
    """The cases of `authority` (of every hosted authority when None), newest first."""
    query = select(CaseRow).order_by(CaseRow.opened_at.desc()).limit(limit)
    if authority is not None:
        query = query.where(CaseRow.our_authority == authority)
    return list(uow.session.scalars(query))


def case_history(uow: UnitOfWork, case_id: str) -> list[CaseEventRow]:
    return list(uow.session.scalars(
        select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id)
    ))  # fmt: skip


def case_notes(uow: UnitOfWork, case_id: str) -> list[ScreeningNoteRow]:
    return list(uow.session.scalars(
        select(ScreeningNoteRow).where(ScreeningNoteRow.case_id == case_id)
        .order_by(ScreeningNoteRow.id)
    ))  # fmt: skip


def case_messages(uow: UnitOfWork, case_id: str) -> list[CaseMessageRow]:
    """The case's messages without opening any body (their reads are not ledgered)."""
    return list(uow.session.scalars(
        select(CaseMessageRow).where(CaseMessageRow.case_id == case_id)
        .order_by(CaseMessageRow.id)
    ))  # fmt: skip
