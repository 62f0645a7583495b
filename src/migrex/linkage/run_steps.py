"""A run's steps as a named officer takes them, from the command line or the console alike:
propose, accept, refuse, send our encodings, collect our candidates.

Each checks the officer against the permission table for the run's authority in the unit of
work the step runs in, then runs the step's use case (`linkage.runs`, `linkage.party`). The
roles are those of any request: proposing needs what opening and sending a request needs;
accepting, refusing and sending our register's encodings what deciding an incoming request
needs; collecting what seeing the authority's personal data needs, since candidates are our
own citizens. A form or a command that names the run it was shown (`expected_run`) acts on
no other: a page left open while the case changed cannot accept another run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from migrex.casework import drafts
from migrex.casework.lifecycle import Direction
from migrex.casework.messages import MessageInvalid
from migrex.casework.steps import load_case
from migrex.exchange.service import NotPermitted
from migrex.linkage.own_register import national_ids, own_citizens
from migrex.linkage.party import Collected, Sent, collect_candidates, send_encodings, unit_name
from migrex.linkage.records import read_register
from migrex.linkage.runs import (
    Accepted,
    LinkageNode,
    Proposed,
    ProposeRun,
    Run,
    accept_linkage_run,
    propose_linkage_run,
    run_of,
)
from migrex.linkage.unit_client import UnitAddress, UnitClient, unit_address
from migrex.officers.model import Action, Officer, require
from migrex.uow import UnitOfWork

# How a step reaches the unit: the real client, or a test's.
ClientFor = Callable[[UnitAddress], AbstractContextManager[UnitClient]]


def _run_for(
    uow: UnitOfWork, node: LinkageNode, officer: Officer, case_id: str, action: Action, *,
    expected_run: str | None,
) -> Run:  # fmt: skip
    """The run of case `case_id`, once the officer may take `action` for its authority. The
    case is looked up before the check (NotFound for none), as `casework.routes.authorised`
    does; MessageInvalid for a case that is no linkage run or holds another run."""
    case = load_case(uow, case_id)
    require(officer, action, case.our_authority)
    run = run_of(uow, node.casework, case_id)
    if expected_run is not None and run.proposal.run_id != expected_run:
        raise MessageInvalid(f"case {case_id} holds run {run.proposal.run_id}, not the one shown")
    return run


def propose_as(
    uow: UnitOfWork, node: LinkageNode, officer: Officer, command: ProposeRun, now: datetime
) -> Proposed:
    """Proposes the run for `command.proposer`, which the officer must be allowed to open and
    send requests for, under the officer's own name whatever actor the command names."""
    require(officer, Action.CREATE_REQUEST, command.proposer)
    require(officer, Action.SEND_REQUEST, command.proposer)
    return propose_linkage_run(uow, node, replace(command, actor=officer.actor), now)


def accept_as(
    uow: UnitOfWork, node: LinkageNode, officer: Officer, case_id: str, *, now: datetime,
    remarks: str | None = None, expected_run: str | None = None,
) -> Accepted:  # fmt: skip
    _run_for(uow, node, officer, case_id, Action.DECIDE, expected_run=expected_run)
    return accept_linkage_run(uow, node, case_id, actor=officer.actor, now=now, remarks=remarks)


def refuse_as(
    uow: UnitOfWork, node: LinkageNode, officer: Officer, case_id: str, *,
    grounds: Sequence[str], explanation: str, now: datetime, expected_run: str | None = None,
) -> drafts.Preview:  # fmt: skip
    """Refuses a partner's proposed run on the agreement's grounds, as `migrex case refuse`
    refuses any request: drafted and submitted at once; where the agreement wants a second
    officer for a refusal, the preview says it awaits one (status `awaiting-approval`)."""
    run = _run_for(uow, node, officer, case_id, Action.DECIDE, expected_run=expected_run)
    if run.case.direction != Direction.INCOMING:
        raise NotPermitted(f"case {case_id} is our own proposal: only the partner refuses it")
    drafts.draft_refusal(uow, node.casework, case_id, grounds=grounds, explanation=explanation,
                         actor=officer.actor, now=now)  # fmt: skip
    return drafts.submit(uow, node.casework, case_id, actor=officer.actor, now=now)


def send_as(
    uow: UnitOfWork, node: LinkageNode, officer: Officer, case_id: str, *, now: datetime,
    register: Path | None = None, expected_run: str | None = None,
    client_for: ClientFor = UnitClient,
) -> Sent:  # fmt: skip
    """Encodes our citizens' register (or the register file `register`) for the accepted run
    and sends it to the agreement's unit, or carries on sending it (`party.send_encodings`)."""
    run = _run_for(uow, node, officer, case_id, Action.DECIDE, expected_run=expected_run)
    records = read_register(register) if register else own_citizens(uow.session)
    address = unit_address(node.trust, run.case.agreement_id, unit_name(node, run))
    with client_for(address) as client:
        return send_encodings(uow, node, case_id, register=records, client=client,
                              actor=officer.actor, now=now)  # fmt: skip


def collect_as(
    uow: UnitOfWork, node: LinkageNode, officer: Officer, case_id: str, *, now: datetime,
    expected_run: str | None = None, client_for: ClientFor = UnitClient,
) -> Collected | None:  # fmt: skip
    """Our candidates of the run, filed for officers, once the unit has compared it; None
    while it has not (`party.collect_candidates`)."""
    run = _run_for(uow, node, officer, case_id, Action.VIEW_PERSONAL_DATA,
                   expected_run=expected_run)  # fmt: skip
    address = unit_address(node.trust, run.case.agreement_id, unit_name(node, run))
    with client_for(address) as client:
        return collect_candidates(
            uow, node, case_id, national_ids=lambda: list(national_ids(uow.session)),
            client=client, actor=officer.actor, now=now,
        )  # fmt: skip
