"""A run's candidates at both parties, from the unit's pairs to the partner's formal answer:
Kazakhstan's officer asks about a candidate through the ordinary citizenship-verification
request quoting the pair, Armenia's node finds its own candidate of the pair, its reviewer
answers from the register, and the answer closes the candidate at both parties."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, func, select

from at_once import beside
from casework_steps import context, deliver, now, state
from factories import citizen
from linkage_scenes import (
    AGREEMENT,
    AM_PERSON,
    KZ_OTHER,
    KZ_PERSON,
    accepted_run,
    citizens,
    file,
)
from migrex.audit.leaves import AuditLeaf
from migrex.audit.tables import AuditLeafRow
from migrex.casework.citizenship import answer_citizenship
from migrex.casework.lifecycle import CaseState
from migrex.casework.messages import CitizenshipVerificationRequest, parse_body
from migrex.casework.service import open_review
from migrex.casework.steps import opening_of
from migrex.casework.tables import CaseRow
from migrex.exchange.service import NotPermitted
from migrex.ledger.tables import DisclosureRow
from migrex.linkage import candidates
from migrex.linkage.candidate_retention import forget_candidates
from migrex.linkage.candidate_rules import CandidateAlreadyDecided, CandidateInvalid
from migrex.linkage.candidates import (
    dismiss_candidate,
    request_verification,
    show_candidate,
)
from migrex.linkage.queries import candidate_by_pair, candidates_of
from migrex.linkage.runs import LinkageNode, ProposeRun, propose_linkage_run
from migrex.linkage.tables import CandidateRow
from migrex.node import Node
from migrex.officers.model import Grant, NotAuthorised, Officer, Role
from migrex.registry.refresh import Mode
from migrex.registry.sql import SqlRegistries
from nodes import Pair

KZ_OFFICER = Officer(1, "dana", "Dana", frozenset({Grant(Role.OFFICER, "kz-mia")}))
KZ_ANALYST = Officer(2, "erlan", "Erlan", frozenset({Grant(Role.ANALYST, "kz-mia")}))
AM_OFFICER = Officer(3, "anna", "Anna", frozenset({Grant(Role.OFFICER, "am-mcs")}))


def candidate(node: Node, pair_id: str) -> CandidateRow:
    with node.unit_of_work() as uow:
        row = uow.session.scalars(select(CandidateRow).where(CandidateRow.pair_id == pair_id)).one()
        uow.session.expunge(row)
        return row


def leaves(node: Node) -> list[str]:
    with node.unit_of_work() as uow:
        return [AuditLeaf.decode(bytes(d)).reference or ""
                for d in uow.session.scalars(select(AuditLeafRow.data))]  # fmt: skip


@pytest.fixture
def run(pair: Pair, tmp_path: Path) -> str:
    citizens(pair.kz, "KZ", [KZ_PERSON, KZ_OTHER], tmp_path)
    citizens(pair.am, "AM", [AM_PERSON], tmp_path)
    return accepted_run(pair)


def test_a_candidate_goes_from_the_queue_to_the_partners_formal_answer(
    pair: Pair, run: str
) -> None:
    kz_id, other_id = KZ_PERSON["national_id"], KZ_OTHER["national_id"]
    given = (("P-0001", kz_id, "strong"), ("P-0002", other_id, "possible"))
    assert file(pair.kz, run, "kz-mia", *given) == 2
    assert file(pair.kz, run, "kz-mia", *given) == 0  # idempotent per (run, pair)
    assert file(pair.am, run, "am-mcs", ("P-0001", AM_PERSON["national_id"], "strong")) == 1
    # One leaf per filing, counts only: no pair id, no national id.
    filed = [r for r in leaves(pair.kz) if "linkage-candidates" in r]
    assert filed == [f"case:{run}:linkage-candidates:new=2:given=2",
                     f"case:{run}:linkage-candidates:new=0:given=2"]  # fmt: skip

    with pair.kz.unit_of_work() as uow:
        queue = candidates_of(uow, ["kz-mia"], state="open")
        assert [(c.pair_id, c.band) for c in queue] == [
            ("P-0001", "strong"),
            ("P-0002", "possible"),
        ]
        first = candidate_by_pair(uow, ["kz-mia"], "P-0001")
    # The officer's request, pre-filled from our register and quoting the pair.
    with pair.kz.unit_of_work() as uow:
        opened = request_verification(uow, context(pair.kz), KZ_OFFICER, first, now=now())
    asked = candidate(pair.kz, "P-0001")
    assert (asked.state, asked.request_case_id, asked.decided_by) == (
        "requested",
        opened.case_id,
        "officer:dana",
    )
    with pair.kz.unit_of_work() as uow:
        body = parse_body("citizenship-verification-request",
                          json.loads(opening_of(uow, opened.case_id).body))  # fmt: skip
    assert isinstance(body, CitizenshipVerificationRequest)
    assert body.linkage_pair_id == "P-0001" and body.purpose == "combat-dual-citizenship"
    (person,) = body.persons
    assert (person.surname_latin, person.given_name_latin, person.birth_date) == (
        "ALIBEKOV",
        "NURLAN",
        date(1990, 1, 1),
    )
    assert person.national_id is None  # our register's id never leaves for the partner's check

    # Armenia files the request: its own candidate of the pair is linked to the case.
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    theirs = candidate(pair.am, "P-0001")
    assert (theirs.state, theirs.request_case_id) == ("requested", opened.case_id)
    # Its reviewer answers formally, as any citizenship verification; the reply closes it.
    with pair.am.unit_of_work() as uow:
        open_review(uow, opened.case_id, "officer:arpi", now())
    with pair.am.unit_of_work() as uow:
        reply = answer_citizenship(uow, context(pair.am), SqlRegistries(uow.session),
                                   opened.case_id, actor="officer:arpi", now=now())  # fmt: skip
    assert [r.holds for r in reply.results] == ["yes"]
    assert (candidate(pair.am, "P-0001").state, candidate(pair.am, "P-0001").outcome) == (
        "closed",
        "confirmed",
    )
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    assert state(pair.kz, opened.case_id) == CaseState.ANSWERED
    closed = candidate(pair.kz, "P-0001")
    assert (closed.state, closed.outcome) == ("closed", "confirmed")
    # A closed candidate is asked no more.
    with pair.kz.unit_of_work() as uow, pytest.raises(CandidateAlreadyDecided):
        request_verification(uow, context(pair.kz), KZ_OFFICER, first, now=now())


def test_dismissal_needs_a_reason_and_the_right_officer_and_is_final(pair: Pair, run: str) -> None:
    file(pair.kz, run, "kz-mia", ("P-0002", KZ_OTHER["national_id"], "possible"))
    with pair.kz.unit_of_work() as uow:
        second = candidate_by_pair(uow, ["kz-mia"], "P-0002")
    with pair.kz.unit_of_work() as uow, pytest.raises(NotAuthorised):
        dismiss_candidate(uow, AM_OFFICER, second, reason="not ours", now=now())
    with pair.kz.unit_of_work() as uow, pytest.raises(CandidateInvalid):
        dismiss_candidate(uow, KZ_OFFICER, second, reason="  ", now=now())
    with pair.kz.unit_of_work() as uow:
        dismiss_candidate(uow, KZ_OFFICER, second, reason="different birth place", now=now())
    dismissed = candidate(pair.kz, "P-0002")
    assert (dismissed.state, dismissed.reason, dismissed.decided_by) == (
        "dismissed",
        "different birth place",
        "officer:dana",
    )
    assert f"linkage-candidate:{second}:dismiss" in leaves(pair.kz)
    with pair.kz.unit_of_work() as uow, pytest.raises(CandidateAlreadyDecided):
        request_verification(uow, context(pair.kz), KZ_OFFICER, second, now=now())


def reads(node: Node) -> int:
    with node.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(DisclosureRow)
                                  .where(DisclosureRow.direction == "read")) or 0  # fmt: skip


def test_the_own_record_is_shown_only_to_who_may_see_it_and_each_showing_is_recorded(
    pair: Pair, run: str
) -> None:
    file(pair.kz, run, "kz-mia", ("P-0001", KZ_PERSON["national_id"], "strong"))
    with pair.kz.unit_of_work() as uow:
        first = candidate_by_pair(uow, ["kz-mia"], "P-0001")
    before = reads(pair.kz)
    with pair.kz.unit_of_work() as uow:
        view = show_candidate(uow, context(pair.kz), KZ_ANALYST, first, now=now())
    assert view.own_record is None and not view.may_see_record
    assert reads(pair.kz) == before
    with pair.kz.unit_of_work() as uow:
        view = show_candidate(uow, context(pair.kz), KZ_OFFICER, first, now=now())
    assert view.own_record is not None and view.own_record["surname_latin"] == "ALIBEKOV"
    assert view.partner == "am-mcs"
    assert reads(pair.kz) == before + 1
    with pair.kz.unit_of_work() as uow, pytest.raises(NotAuthorised):
        show_candidate(uow, context(pair.kz), AM_OFFICER, first, now=now())


def test_candidates_are_filed_only_for_an_accepted_run_and_its_authorities(
    pair: Pair, tmp_path: Path
) -> None:
    command = ProposeRun(AGREEMENT, "am-mcs", "kz-mia", date(2025, 1, 1), date(2025, 12, 31),
                         "officer:anna")  # fmt: skip
    with pair.am.unit_of_work() as uow:
        proposed = propose_linkage_run(uow, LinkageNode(context(pair.am), pair.am_trust),
                                       command, now())  # fmt: skip
    with pytest.raises(NotPermitted):
        file(pair.am, proposed.case_id, "am-mcs", ("P-1", "1234567890", "strong"))
    run = accepted_run(pair)
    with pytest.raises(NotPermitted):  # the partner's authority gets its own candidates
        file(pair.am, run, "kz-mia", ("P-1", "1234567890", "strong"))
    with pytest.raises(CandidateInvalid):
        file(pair.am, run, "am-mcs", ("P 1", "1234567890", "strong"))
    with pair.am.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(CandidateRow)) == 0


def test_retention_deletes_erased_persons_and_expired_runs_and_strips_decided_ones(
    pair: Pair, run: str, tmp_path: Path
) -> None:
    third = citizen(3, surname_latin="NURLANOV", given_name_latin="BEK")
    citizens(pair.kz, "KZ", [KZ_PERSON, KZ_OTHER, third], tmp_path, Mode.SNAPSHOT)
    file(pair.kz, run, "kz-mia", ("P-0001", KZ_PERSON["national_id"], "strong"),
         ("P-0002", KZ_OTHER["national_id"], "possible"),
         ("P-0003", third["national_id"], "probable"))  # fmt: skip
    with pair.kz.unit_of_work() as uow:
        dismiss_candidate(uow, KZ_OFFICER, candidate_by_pair(uow, ["kz-mia"], "P-0002"),
                          reason="different person", now=now())  # fmt: skip
    agreements = pair.kz.agreements
    # Nothing is due yet.
    with pair.kz.unit_of_work() as uow:
        assert forget_candidates(uow, agreements, now()).total == 0
    # Citizen 1 leaves the register: the candidate naming them goes.
    citizens(pair.kz, "KZ", [KZ_OTHER, third], tmp_path, Mode.SNAPSHOT)
    with pair.kz.unit_of_work() as uow:
        forgotten = forget_candidates(uow, agreements, now())
    assert (forgotten.erased_persons, forgotten.expired, forgotten.stripped) == (1, 0, 0)
    # A year and more later: the open candidate went with its run, the dismissed one keeps
    # its decision but not whose record it was.
    later = now() + agreements[AGREEMENT].data_protection.retention + timedelta(days=1)
    with pair.kz.unit_of_work() as uow:
        forgotten = forget_candidates(uow, agreements, later)
    assert (forgotten.erased_persons, forgotten.expired, forgotten.stripped) == (0, 1, 1)
    with pair.kz.unit_of_work() as uow:
        kept = list(uow.session.scalars(select(CandidateRow)))
    assert [(c.pair_id, c.state, c.national_id, c.reason) for c in kept] == [
        ("P-0002", "dismissed", None, "different person")
    ]
    erasures = [r for r in leaves(pair.kz) if r.startswith("linkage-candidates-forgotten")]
    assert erasures == [
        "linkage-candidates-forgotten:erased-persons=1:expired=0:stripped=0",
        "linkage-candidates-forgotten:erased-persons=0:expired=1:stripped=1",
    ]


def _in_linkage_tables(node: Node, secret: str) -> list[str]:
    """Where `secret` is in any column of any table linkage keeps (the registry keeps its own
    record versions, under its own rules)."""
    metadata = MetaData()
    metadata.reflect(node.engine)
    found = []
    with node.engine.connect() as connection:
        for table in metadata.sorted_tables:
            if not table.name.startswith("linkage_"):
                continue
            for row in connection.execute(select(table)):
                found += [f"{table.name}.{column.name}"
                          for column, value in zip(table.columns, row, strict=True)
                          if secret in str(value)]  # fmt: skip
    return found


def test_an_erased_persons_candidate_leaves_no_copy_of_their_id(
    pair: Pair, run: str, tmp_path: Path
) -> None:
    """G7: once the person leaves the register and the retention pass ran, their national id
    is in no column of linkage's tables (the scan finds it before, so it can fail)."""
    secret = KZ_OTHER["national_id"]
    file(pair.kz, run, "kz-mia", ("P-0002", secret, "possible"))
    with pair.kz.unit_of_work() as uow:
        dismiss_candidate(uow, KZ_OFFICER, candidate_by_pair(uow, ["kz-mia"], "P-0002"),
                          reason="different person", now=now())  # fmt: skip
    citizens(pair.kz, "KZ", [KZ_PERSON], tmp_path, Mode.SNAPSHOT)
    assert _in_linkage_tables(pair.kz, secret) == ["linkage_candidate.national_id"]
    with pair.kz.unit_of_work() as uow:
        assert forget_candidates(uow, pair.kz.agreements, now()).erased_persons == 1
    assert _in_linkage_tables(pair.kz, secret) == []


def test_a_candidate_asked_about_twice_at_once_is_asked_once(
    pair: Pair, run: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An officer's double click on Request verification: both found the candidate open, and
    each opened a case and sent the partner a request. The second now finds it decided."""
    assert file(pair.kz, run, "kz-mia", ("P-0001", KZ_PERSON["national_id"], "strong")) == 1
    with pair.kz.unit_of_work() as uow:
        first = candidate_by_pair(uow, ["kz-mia"], "P-0001")

    def ask() -> None:
        with pair.kz.unit_of_work() as uow:
            request_verification(uow, context(pair.kz), KZ_OFFICER, first, now=now())

    others = beside(monkeypatch, candidates, "open_case", ask)
    ask()
    [second] = others()
    assert isinstance(second, CandidateAlreadyDecided), second
    with pair.kz.unit_of_work() as uow:
        asked = (
            select(func.count())
            .select_from(CaseRow)
            .where(CaseRow.category == "citizenship-verification")
        )
        assert uow.session.scalar(asked) == 1
