"""Work queues, claims and reassignment: which cases each officer sees in each queue, that a
claimed case is locked to its holder, and that bulk moves are all or nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from casework_scenes import awaiting_clarification, incoming_in_review
from casework_steps import case, context, now
from console_client import add_console_officer
from migrex.audit.tables import AuditLeafRow
from migrex.casework import drafts
from migrex.casework.assignment import ClaimedByAnother, claim, reassign, release
from migrex.casework.queries import (
    Queue,
    QueueFilter,
    queue_authorities,
    queue_counts,
    queue_page,
    visible_queues,
)
from migrex.casework.tables import CaseRow
from migrex.errors import Conflict
from migrex.officers.model import Grant, NotAuthorised, Officer, Role
from nodes import Pair


def officer(username: str, *roles: Role, authority: str = "am-mcs") -> Officer:
    return Officer(1, username, username.title(), frozenset(Grant(r, authority) for r in roles))


ANNA = officer("anna", Role.REVIEWER)
BORIS = officer("boris", Role.REVIEWER)
SUSANNA = officer("susanna", Role.SUPERVISOR)


def _leaves(pair: Pair) -> int:
    with pair.am.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditLeafRow)) or 0


def test_a_claimed_case_leaves_incoming_for_the_holders_queue(pair: Pair) -> None:
    case_id = incoming_in_review(pair)
    with pair.am.unit_of_work() as uow:
        assert [c.id for c in queue_page(uow, Queue.INCOMING, ANNA, now()).lines] == [case_id]
    leaves = _leaves(pair)
    with pair.am.unit_of_work() as uow:
        claim(uow, [case_id], ANNA, now())
    assert _leaves(pair) == leaves + 1  # the claim is audited
    with pair.am.unit_of_work() as uow:
        assert queue_page(uow, Queue.INCOMING, BORIS, now()).total == 0
        assert [c.id for c in queue_page(uow, Queue.MINE, ANNA, now()).lines] == [case_id]
        assert queue_page(uow, Queue.MINE, BORIS, now()).total == 0
        assert queue_counts(uow, ANNA, now())[Queue.MINE] == 1


def test_a_claimed_case_is_decided_by_its_holder_only(pair: Pair) -> None:
    case_id = incoming_in_review(pair)
    with pair.am.unit_of_work() as uow:
        claim(uow, [case_id], ANNA, now())
    with pair.am.unit_of_work() as uow, pytest.raises(ClaimedByAnother):
        drafts.draft_refusal(uow, context(pair.am), case_id, grounds=["security"],
                             explanation="x", actor=BORIS.actor, now=now())  # fmt: skip
    with pair.am.unit_of_work() as uow, pytest.raises(ClaimedByAnother):
        claim(uow, [case_id], BORIS, now())
    with pair.am.unit_of_work() as uow:
        drafts.draft_refusal(uow, context(pair.am), case_id, grounds=["security"],
                             explanation="x", actor=ANNA.actor, now=now())  # fmt: skip
    with pair.am.unit_of_work() as uow:
        release(uow, case_id, ANNA, now())
    assert case(pair.am, case_id).assigned_to is None


def test_only_a_supervisor_reassigns_and_only_to_an_officer_who_may_hold_it(pair: Pair) -> None:
    add_console_officer(pair.am, "boris", [(Role.REVIEWER, "am-mcs")])
    add_console_officer(pair.am, "olga", [(Role.OFFICER, "am-mcs")])
    first, second = incoming_in_review(pair), incoming_in_review(pair)
    with pair.am.unit_of_work() as uow:
        claim(uow, [first], ANNA, now())
    with pair.am.unit_of_work() as uow, pytest.raises(NotAuthorised):
        reassign(uow, [first, second], ANNA, "boris", now())
    with pair.am.unit_of_work() as uow, pytest.raises(Conflict):
        reassign(uow, [first, second], SUSANNA, "olga", now())  # a caseworker reviews nothing
    assert case(pair.am, first).assigned_to == ANNA.actor  # nothing moved
    with pair.am.unit_of_work() as uow:
        reassign(uow, [first, second], SUSANNA, "boris", now())
    assert {case(pair.am, c).assigned_to for c in (first, second)} == {"officer:boris"}


def test_a_bulk_claim_is_all_or_nothing(pair: Pair) -> None:
    first, second = incoming_in_review(pair), incoming_in_review(pair)
    with pair.am.unit_of_work() as uow:
        claim(uow, [second], BORIS, now())
    with pair.am.unit_of_work() as uow, pytest.raises(ClaimedByAnother):
        claim(uow, [first, second], ANNA, now())
    assert case(pair.am, first).assigned_to is None
    with pair.am.unit_of_work() as uow, pytest.raises(Conflict):
        claim(uow, [], ANNA, now())


def test_queues_by_deadline_and_state(pair: Pair) -> None:
    soon, late, later = (incoming_in_review(pair) for _ in range(3))
    with pair.am.unit_of_work() as uow:
        for case_id, due in ((soon, timedelta(days=2)), (late, -timedelta(hours=1)),
                             (later, timedelta(days=9))):  # fmt: skip
            row = uow.session.get(CaseRow, case_id)
            assert row is not None
            row.due_at = now() + due
        uow.commit()
    asking = awaiting_clarification(pair)
    with pair.am.unit_of_work() as uow:
        assert [c.id for c in queue_page(uow, Queue.DUE_SOON, ANNA, now()).lines] == [soon]
        assert [c.id for c in queue_page(uow, Queue.OVERDUE, ANNA, now()).lines] == [late]
        clarification = queue_page(uow, Queue.CLARIFICATION, ANNA, now()).lines
        assert [c.id for c in clarification] == [asking]
        by_due = queue_page(uow, Queue.INCOMING, ANNA, now(), sort="due").lines
        assert [c.id for c in by_due] == [late, soon, later]


def test_filters_and_paging(pair: Pair) -> None:
    ids = [incoming_in_review(pair) for _ in range(3)]
    with pair.am.unit_of_work() as uow:
        first = queue_page(uow, Queue.INCOMING, ANNA, now(), sort="opened", per_page=2)
        last = queue_page(uow, Queue.INCOMING, ANNA, now(), sort="opened", per_page=2, page=9)
        other = queue_page(uow, Queue.INCOMING, ANNA, now(), filters=QueueFilter(partner="x"))
        ours = queue_page(uow, Queue.INCOMING, ANNA, now(),
                          filters=QueueFilter(partner="kz-mia", state="in-review"))  # fmt: skip
    assert (first.total, first.pages, len(first.lines)) == (3, 2, 2)
    assert last.page == 2 and len(last.lines) == 1
    assert {c.id for c in first.lines + last.lines} == set(ids)
    assert other.total == 0 and ours.total == 3


def test_each_role_sees_its_queues(pair: Pair) -> None:
    assert Queue.APPROVAL in visible_queues(ANNA) and Queue.INCOMING in visible_queues(ANNA)
    assert Queue.APPROVAL not in visible_queues(SUSANNA)
    assert visible_queues(officer("aud", Role.AUDITOR)) == []
    kz_reviewer = officer("kz", Role.REVIEWER, authority="kz-mia")
    assert queue_authorities(kz_reviewer, Queue.INCOMING) == ["kz-mia"]
    case_id = incoming_in_review(pair)  # at am-mcs
    with pair.am.unit_of_work() as uow:
        assert queue_page(uow, Queue.INCOMING, kz_reviewer, now()).total == 0
        assert [c.id for c in queue_page(uow, Queue.INCOMING, ANNA, now()).lines] == [case_id]
