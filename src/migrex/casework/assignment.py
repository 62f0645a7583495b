"""Who works on a case: an officer claims it (and holds it until they release it), a supervisor
reassigns it; several cases may be claimed or reassigned at once. Nothing else is ever done
in bulk: a decision, and every disclosure, is one case at a time.

A claimed case is locked to its holder: another officer may not draft, narrow, submit or refuse
it, nor ask for clarification (`check_holder`, called by those use cases). The second officer
who approves a decision is exactly someone else, so approval is not locked. A case nobody holds
may be worked on by anyone allowed, as before claims existed.

Each claim, release and reassignment is an audit entry in the same transaction (G5).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from migrex.audit import events
from migrex.audit.pending import record
from migrex.casework.lifecycle import TERMINAL_STATES, CaseState, Direction
from migrex.casework.steps import lock_case
from migrex.casework.tables import CaseRow
from migrex.errors import Conflict, NotFound, Problem
from migrex.officers.model import Action, Officer, may, require
from migrex.officers.service import list_officers
from migrex.uow import UnitOfWork

MAX_BULK = 200


class ClaimedByAnother(Conflict):
    type_slug = "claimed-by-another"
    title = "Another officer holds this case"


# ---------------------------------------------------------------- the rules, without I/O


def work_action(direction: str) -> Action:
    """What an officer must be allowed, for the case's authority, to hold a case: reviewing
    for a partner's request, asking for one of ours."""
    return Action.REVIEW_INCOMING if direction == Direction.INCOMING else Action.CREATE_REQUEST


def may_hold(officer: Officer, case: CaseRow) -> bool:
    return may(officer, work_action(case.direction), case.our_authority)


def claim_refusal(case: CaseRow, actor: str) -> str | None:
    """Why `actor` may not claim `case`, or None."""
    if CaseState(case.state) in TERMINAL_STATES:
        return f"case {case.id} is closed ({case.state})"
    if case.assigned_to not in (None, actor):
        return f"case {case.id} is held by {case.assigned_to}"
    return None


def check_holder(case: CaseRow, actor: str) -> None:
    """ClaimedByAnother unless the case is held by `actor` or by nobody."""
    if case.assigned_to is not None and case.assigned_to != actor:
        raise ClaimedByAnother(
            f"case {case.id} is held by {case.assigned_to}",
            [Problem("case", "claimed by another officer; ask them or a supervisor")],
        )


# ---------------------------------------------------------------- the use cases


def claim(uow: UnitOfWork, case_ids: Sequence[str], officer: Officer, now: datetime) -> None:
    """The officer takes the cases: all of them, or (on the first refusal) none."""
    for case in _cases(uow, case_ids):
        require(officer, work_action(case.direction), case.our_authority)
        if (why := claim_refusal(case, officer.actor)) is not None:
            raise ClaimedByAnother(why)
        _assign(uow, case, officer.actor, by=officer.actor, event="claim", now=now)
    uow.commit()


def release(uow: UnitOfWork, case_id: str, officer: Officer, now: datetime) -> None:
    """The holder gives the case back (a supervisor may release anyone's)."""
    case = lock_case(uow, case_id)
    if case.assigned_to != officer.actor:
        require(officer, Action.ASSIGN_CASE, case.our_authority)
    if case.assigned_to is None:
        raise Conflict(f"nobody holds case {case_id}")
    _assign(uow, case, None, by=officer.actor, event="release", now=now)
    uow.commit()


def reassign(
    uow: UnitOfWork, case_ids: Sequence[str], supervisor: Officer, to_username: str,
    now: datetime,
) -> None:  # fmt: skip
    """A supervisor hands the cases to an officer allowed to work on each: all, or none."""
    holder = next((o for o in list_officers(uow) if o.username == to_username), None)
    if holder is None or not holder.active:
        raise NotFound(f"no active officer {to_username}")
    for case in _cases(uow, case_ids):
        require(supervisor, Action.ASSIGN_CASE, case.our_authority)
        if CaseState(case.state) in TERMINAL_STATES:
            raise Conflict(f"case {case.id} is closed ({case.state})")
        if not may_hold(holder, case):
            problem = Problem("to", "the officer's roles do not cover this case")
            raise Conflict(f"{to_username} may not work on case {case.id}", [problem])
        event = f"reassign:{to_username}"
        _assign(uow, case, holder.actor, by=supervisor.actor, event=event, now=now)
    uow.commit()


def _cases(uow: UnitOfWork, case_ids: Sequence[str]) -> list[CaseRow]:
    unique = list(dict.fromkeys(case_ids))
    if not unique or len(unique) > MAX_BULK:
        raise Conflict(f"choose between 1 and {MAX_BULK} cases")
    # Held (`lock_case`: two claims of one case at once both took it) in one order whatever
    # order they were chosen in, so that two bulk claims cannot each hold what the other waits for.
    held = {case_id: lock_case(uow, case_id) for case_id in sorted(unique)}
    return [held[case_id] for case_id in unique]


def _assign(
    uow: UnitOfWork, case: CaseRow, holder: str | None, *, by: str, event: str, now: datetime
) -> None:
    case.assigned_to, case.assigned_at = holder, now if holder is not None else None
    record(uow.session, events.decision(at=now, actor=by, authority=case.our_authority,
                                        case_id=case.id, event=event,
                                        purpose=case.purpose))  # fmt: skip
