"""Claiming and releasing cases: the rules of who may hold a case, without a database.

`claim` and `release` read the cases by id and decide; they run here on a fake unit of work
(`tests/fake_unit_of_work.py`) holding the cases, which would raise at any SQL statement. That
a refused bulk claim leaves the stored cases as they were is the database's rollback, tested
on both databases in `tests/integration/casework/test_casework_queues.py`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fake_unit_of_work import FakeUnitOfWork
from migrex.audit.leaves import LeafKind
from migrex.casework.assignment import MAX_BULK, ClaimedByAnother, claim, release
from migrex.casework.lifecycle import CaseState, Direction
from migrex.casework.tables import CaseRow
from migrex.errors import Conflict
from migrex.officers.model import Grant, NotAuthorised, Officer, Role

NOW = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
AUTHORITY = "am-mcs"


def officer(username: str, *roles: Role, authority: str = AUTHORITY) -> Officer:
    return Officer(1, username, username.title(), frozenset(Grant(r, authority) for r in roles))


ANNA = officer("anna", Role.REVIEWER)
BORIS = officer("boris", Role.REVIEWER)
SUSANNA = officer("susanna", Role.SUPERVISOR)
ELSEWHERE = officer("erlan", Role.REVIEWER, authority="am-police")


def case(case_id: str, *, state: CaseState = CaseState.IN_REVIEW,
         held_by: Officer | None = None) -> CaseRow:  # fmt: skip
    return CaseRow(
        id=case_id, agreement_id="kz-am-2024", direction=Direction.INCOMING.value,
        category="persons", purpose="legal-status-of-stay", our_authority=AUTHORITY,
        partner_authority="kz-mia", state=state.value, urgency="normal", opened_at=NOW,
        due_at=None, closed_at=None, opened_by="partner",
        assigned_to=held_by.actor if held_by else None,
        assigned_at=NOW if held_by else None,
    )  # fmt: skip


def test_an_officer_claims_cases_nobody_holds_in_one_commit_each_audited() -> None:
    first, second = case("c-1"), case("c-2")
    uow = FakeUnitOfWork(first, second)
    claim(uow, ["c-1", "c-2", "c-1"], ANNA, NOW)
    assert (first.assigned_to, first.assigned_at) == (ANNA.actor, NOW)
    assert second.assigned_to == ANNA.actor
    assert uow.commits == 1
    assert [(leaf.kind, leaf.reference) for leaf in uow.recorded] == [
        (LeafKind.DECISION, "case:c-1:claim"),
        (LeafKind.DECISION, "case:c-2:claim"),
    ]


def test_claiming_a_case_one_already_holds_is_no_refusal() -> None:
    held = case("c-1", held_by=ANNA)
    uow = FakeUnitOfWork(held)
    claim(uow, ["c-1"], ANNA, NOW)
    assert held.assigned_to == ANNA.actor
    assert uow.commits == 1


@pytest.mark.parametrize(
    ("row", "who", "refusal"),
    [
        (case("c-1", held_by=BORIS), ANNA, ClaimedByAnother),
        (case("c-1", state=CaseState.ANSWERED), ANNA, ClaimedByAnother),
        (case("c-1"), ELSEWHERE, NotAuthorised),  # roles for another authority only
        (case("c-1"), officer("olga", Role.OFFICER), NotAuthorised),  # reviews nothing
    ],
)
def test_a_refused_claim_commits_nothing(row: CaseRow, who: Officer, refusal: type) -> None:
    before = row.assigned_to
    uow = FakeUnitOfWork(row)
    with pytest.raises(refusal):
        claim(uow, ["c-1"], who, NOW)
    assert row.assigned_to == before
    assert uow.commits == 0


def test_a_bulk_claim_stops_at_the_first_refusal_uncommitted() -> None:
    uow = FakeUnitOfWork(case("c-1"), case("c-2", held_by=BORIS))
    with pytest.raises(ClaimedByAnother, match="c-2 is held by officer:boris"):
        claim(uow, ["c-1", "c-2"], ANNA, NOW)
    assert uow.commits == 0


@pytest.mark.parametrize("count", [0, MAX_BULK + 1])
def test_a_claim_names_between_one_and_max_bulk_cases(count: int) -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(Conflict, match=f"between 1 and {MAX_BULK}"):
        claim(uow, [f"c-{n}" for n in range(count)], ANNA, NOW)
    assert uow.commits == 0


def test_the_holder_releases_a_case_audited() -> None:
    held = case("c-1", held_by=ANNA)
    uow = FakeUnitOfWork(held)
    release(uow, "c-1", ANNA, NOW)
    assert (held.assigned_to, held.assigned_at) == (None, None)
    assert uow.commits == 1
    assert [leaf.reference for leaf in uow.recorded] == ["case:c-1:release"]


def test_only_a_supervisor_releases_a_case_another_officer_holds() -> None:
    held = case("c-1", held_by=ANNA)
    uow = FakeUnitOfWork(held)
    with pytest.raises(NotAuthorised):
        release(uow, "c-1", BORIS, NOW)
    assert held.assigned_to == ANNA.actor
    assert uow.commits == 0
    release(uow, "c-1", SUSANNA, NOW)
    assert held.assigned_to is None
    assert uow.commits == 1


def test_a_case_nobody_holds_cannot_be_released() -> None:
    uow = FakeUnitOfWork(case("c-1"))
    with pytest.raises(Conflict, match="nobody holds case c-1"):
        release(uow, "c-1", SUSANNA, NOW)
    assert uow.commits == 0
