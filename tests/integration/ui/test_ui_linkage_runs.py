"""The officer's linkage runs in the console: the list of runs (terms, state, counts, no
person), proposing a run, taking a partner's proposal into review and accepting or refusing
it, each with the roles the command line asks for; and, against a linkage unit running as its
own process, sending both parties' encodings and collecting the candidates from the page."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from casework_scenes import officers_app
from casework_steps import deliver, state
from console_client import Browser, add_console_officer
from linkage_scenes import proposed_run
from linkage_unit_steps import Linked, accepted_run, linked_nodes
from migrex.audit.leaves import AuditLeaf
from migrex.audit.tables import AuditLeafRow
from migrex.casework.lifecycle import CaseState
from migrex.casework.tables import CaseRow
from migrex.linkage.tables import CandidateRow
from migrex.node import Node
from migrex.officers.model import Role
from nodes import Pair

RUNS = "/ui/linkage/runs"
PROPOSAL = {"agreement": "kz-am-2024", "proposer": "am-mcs", "partner": "kz-mia",
            "period_start": "2025-01-01", "period_end": "2025-12-31"}  # fmt: skip


def _officers(node: Node, authority: str) -> None:
    add_console_officer(node, "clerk", [(Role.OFFICER, authority)])
    add_console_officer(node, "judge", [(Role.REVIEWER, authority)])
    add_console_officer(node, "aud", [(Role.AUDITOR, authority)])


@pytest.fixture
def apps(pair: Pair) -> dict[str, FastAPI]:
    _officers(pair.am, "am-mcs")
    return {"AM": officers_app(pair.am)}


def _signed_in(app: FastAPI, username: str) -> Browser:
    browser = Browser(app)
    assert browser.sign_in(username).status_code == 303
    return browser


def _cases(node: Node) -> list[CaseRow]:
    with node.unit_of_work() as uow:
        found = list(uow.session.scalars(select(CaseRow).where(
            CaseRow.category == "record-linkage")))  # fmt: skip
        uow.session.expunge_all()
        return found


def _kz_proposes(pair: Pair) -> tuple[str, str]:
    """Kazakhstan's proposal, filed at Armenia: its case id and run id."""
    proposed = proposed_run(pair, "KZ")
    return proposed.case_id, proposed.run_id


def test_proposing_from_the_page_opens_the_run_with_the_officer_s_roles(
    apps: dict[str, FastAPI], pair: Pair
) -> None:
    clerk = _signed_in(apps["AM"], "clerk")
    assert f'href="{RUNS}"' in clerk.get("/ui/").text
    page = clerk.get(RUNS)
    assert page.status_code == 200, page.text
    assert 'hx-post="/ui/linkage/runs"' in page.text and "No linkage run" in page.text
    assert 'name="field" value="birth_date"' in page.text
    backwards = clerk.post(RUNS, htmx=True, form={**PROPOSAL, "period_end": "2024-12-31"})
    assert backwards.status_code == 422 and _cases(pair.am) == []
    judge = _signed_in(apps["AM"], "judge")  # a reviewer decides; proposing is asking
    assert 'hx-post="/ui/linkage/runs"' not in judge.get(RUNS).text
    assert judge.post(RUNS, htmx=True, form=PROPOSAL).status_code == 403
    assert _cases(pair.am) == []
    done = clerk.post(RUNS, htmx=True, form={**PROPOSAL, "field": ["surname", "birth_date"]})
    assert done.status_code == 200, done.text
    [case] = _cases(pair.am)
    assert (case.opened_by, case.our_authority, case.partner_authority) == (
        "officer:clerk", "am-mcs", "kz-mia")  # fmt: skip
    run_id = re.search(r"Run (\S+) proposed", done.text)
    assert run_id is not None and f"/ui/cases/{case.id}" in done.text
    listed = clerk.get(RUNS).text
    assert run_id.group(1) in listed and "To a partner" in listed and "None yet" in listed
    assert "Surname, Birth date" in listed
    aud = _signed_in(apps["AM"], "aud")  # sees no case: neither the page nor the menu
    assert aud.get(RUNS).status_code == 403
    assert f'href="{RUNS}"' not in aud.get("/ui/").text


def test_a_partner_s_proposal_is_reviewed_then_accepted_from_the_page(
    apps: dict[str, FastAPI], pair: Pair
) -> None:
    case_id, run_id = _kz_proposes(pair)
    judge, clerk = _signed_in(apps["AM"], "judge"), _signed_in(apps["AM"], "clerk")
    page = judge.get(RUNS).text
    assert run_id in page and "From a partner" in page
    assert f'hx-post="/ui/cases/{case_id}/review"' in page
    assert f"/ui/linkage/runs/{case_id}/accept" not in page  # not before the review
    assert judge.post(f"/ui/cases/{case_id}/review", htmx=True).status_code == 204
    page = judge.get(RUNS).text
    assert f'hx-post="/ui/linkage/runs/{case_id}/accept"' in page
    assert f'hx-post="/ui/linkage/runs/{case_id}/refuse"' in page
    assert f"/ui/linkage/runs/{case_id}/send" not in page
    # A stale form (another run), an officer who may not decide: refused, nothing moves.
    stale = judge.post(f"{RUNS}/{case_id}/accept", htmx=True, form={"run": "another-run"})
    assert stale.status_code == 422 and "error" in stale.text
    assert clerk.post(f"{RUNS}/{case_id}/accept", htmx=True,
                      form={"run": run_id}).status_code == 403  # fmt: skip
    assert state(pair.am, case_id) == CaseState.IN_REVIEW
    accepted = judge.post(f"{RUNS}/{case_id}/accept", htmx=True,
                          form={"run": run_id, "remarks": "agreed"})  # fmt: skip
    assert accepted.status_code == 200, accepted.text
    assert f"Run {run_id} accepted" in accepted.text
    assert state(pair.am, case_id) == CaseState.ANSWERED
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    assert state(pair.kz, case_id) == CaseState.ANSWERED
    page = judge.get(RUNS).text
    assert f'hx-post="/ui/linkage/runs/{case_id}/send"' in page
    assert f'hx-post="/ui/linkage/runs/{case_id}/collect"' in page
    twice = judge.post(f"{RUNS}/{case_id}/accept", htmx=True, form={"run": run_id})
    assert twice.status_code == 409


def test_refusing_a_proposal_names_the_agreement_s_grounds(
    apps: dict[str, FastAPI], pair: Pair
) -> None:
    case_id, run_id = _kz_proposes(pair)
    judge = _signed_in(apps["AM"], "judge")
    assert judge.post(f"/ui/cases/{case_id}/review", htmx=True).status_code == 204
    ground = pair.am.agreements["kz-am-2024"].refusal_grounds
    first = next(iter(ground))
    no_ground = judge.post(f"{RUNS}/{case_id}/refuse", htmx=True,
                           form={"run": run_id, "explanation": "not now"})  # fmt: skip
    assert no_ground.status_code == 422
    form = {"run": run_id, "explanation": "not now", "ground": first}
    refused = judge.post(f"{RUNS}/{case_id}/refuse", htmx=True, form=form)
    assert refused.status_code == 200, refused.text
    # The agreement wants no second officer for a refusal: it leaves at once.
    assert state(pair.am, case_id) == CaseState.REFUSED
    assert f"Run {run_id} refused" in refused.text
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    assert state(pair.kz, case_id) == CaseState.REFUSED
    page = judge.get(RUNS).text
    assert f"/ui/linkage/runs/{case_id}/send" not in page and "Refused" in page


# ---------------------------------------------------------------- with a linkage unit


@pytest.fixture
def linked(tmp_path: Path, database_url: str) -> Iterator[Linked]:
    yield from linked_nodes(tmp_path, database_url)


def _leaves(node: Node) -> list[AuditLeaf]:
    with node.unit_of_work() as uow:
        data = uow.session.scalars(select(AuditLeafRow.data).order_by(AuditLeafRow.position))
        return [AuditLeaf.decode(bytes(d)) for d in data]


def _candidates(node: Node, case_id: str) -> int:
    with node.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(CandidateRow)
                                  .where(CandidateRow.run_case_id == case_id)) or 0  # fmt: skip


def test_both_parties_send_and_collect_from_the_page(linked: Linked) -> None:
    case_id = accepted_run(linked)
    nodes = {"KZ": (linked.pair.kz, "kz-mia"), "AM": (linked.pair.am, "am-mcs")}
    judges = {}
    for state_code, (node, authority) in nodes.items():
        _officers(node, authority)
        judges[state_code] = _signed_in(officers_app(node), "judge")
    page = judges["AM"].get(RUNS).text
    run_id = re.search(r'name="run" value="([^"]+)"', page)
    assert run_id is not None
    clerk = _signed_in(officers_app(linked.pair.am), "clerk")  # may not decide: may not send
    assert f"{RUNS}/{case_id}/send" not in clerk.get(RUNS).text
    assert clerk.post(f"{RUNS}/{case_id}/send", htmx=True,
                      form={"run": run_id.group(1)}).status_code == 403  # fmt: skip
    early = judges["AM"].post(f"{RUNS}/{case_id}/collect", htmx=True,
                              form={"run": run_id.group(1)})  # fmt: skip
    assert early.status_code == 200 and "has not compared" in early.text, early.text
    for state_code, (node, _) in nodes.items():
        before = len(_leaves(node))
        sent = judges[state_code].post(f"{RUNS}/{case_id}/send", htmx=True,
                                       form={"run": run_id.group(1)})  # fmt: skip
        assert sent.status_code == 200, sent.text
        assert "the linkage unit holds our whole register" in sent.text, sent.text
        step = f"linkage:{run_id.group(1)}:sent:"
        assert any((leaf.reference or "").startswith(step) and leaf.actor == "officer:judge"
                   for leaf in _leaves(node)[before:])  # fmt: skip
    for state_code, (node, _) in nodes.items():
        deadline, before = time.monotonic() + 120, len(_leaves(node))
        while True:
            collected = judges[state_code].post(f"{RUNS}/{case_id}/collect", htmx=True,
                                                form={"run": run_id.group(1)})  # fmt: skip
            assert collected.status_code == 200, collected.text
            if "filed for the queue" in collected.text:
                break
            assert time.monotonic() < deadline, "the unit did not compare the run in time"
            time.sleep(0.5)
        filed = _candidates(node, case_id)
        assert filed > 0 and f"{filed} candidate" in collected.text
        step = f"linkage:{run_id.group(1)}:collected:candidates={filed}:"
        assert any((leaf.reference or "").startswith(step) and leaf.actor == "officer:judge"
                   for leaf in _leaves(node)[before:])  # fmt: skip
        listed = judges[state_code].get(RUNS).text
        assert f"{filed} open of {filed}" in listed
        # Counts only: the page names no candidate and no citizen.
        with node.unit_of_work() as uow:
            ours = select(CandidateRow.national_id).where(CandidateRow.run_case_id == case_id)
            some = uow.session.scalars(ours).first()
        assert some is not None and some not in listed and some not in collected.text
    # Once compared, the unit takes no more files: sending again is refused, with why.
    again = judges["AM"].post(f"{RUNS}/{case_id}/send", htmx=True, form={"run": run_id.group(1)})
    assert again.status_code == 422 and "compared or refused already" in again.text
