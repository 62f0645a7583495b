"""The auditor's page: the audit log's size, root, latest checkpoint and who cosigned it, how
far the witnesses lag; a full verification with each finding; the proof of a message.

The same use cases as `migrex audit show|verify|prove` (`audit.inspection`), with the same
permissions (viewing and verifying the log are node-wide). Audit entries hold hashes and
references, never a person's data, so nothing here is ledgered.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from migrex import features
from migrex.audit.cosigners import CosignerKeys
from migrex.audit.inspection import log_status, prove_message, verify_log
from migrex.audit.log_keys import log_keys
from migrex.errors import Problem
from migrex.node import Node
from migrex.officers.api import CurrentOfficer, UnitOfWorkFactoryDep
from migrex.officers.model import Action, may, require
from migrex.ui.forms import FormInvalid, form_fields
from migrex.ui.rendering import PageRoute, officer_page, render

router = APIRouter(route_class=PageRoute, tags=["console"])

# A message id is a UUID (version 7, as `envelope.new_message_id` makes them).
_MESSAGE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


NodeDep = Annotated[Node, Depends(_node)]


@router.get("/ui/audit", summary="The audit log's state, for the auditor",
            response_class=HTMLResponse)  # fmt: skip
def audit_page(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep, node: NodeDep
) -> HTMLResponse:
    require(officer, Action.VIEW_AUDIT, None)
    with unit_of_work() as uow:
        status = log_status(uow.session)
    keys = log_keys(node)
    return officer_page(request, officer, "ui/audit.html", status=status, origin=keys.origin,
                        verifier_key=keys.verifier_key,
                        may_verify=may(officer, Action.VERIFY_AUDIT, None))  # fmt: skip


@router.post("/ui/audit/verify", summary="Verify the whole audit log and show each finding",
             response_class=HTMLResponse)  # fmt: skip
def verify(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep, node: NodeDep
) -> HTMLResponse:
    require(officer, Action.VERIFY_AUDIT, None)
    witnesses: CosignerKeys = features.resolve(features.VERIFY_SOURCES)().cosigner_keys(node)
    with unit_of_work() as uow:
        # In this process: a page does not start the worker processes the command may.
        verified = verify_log(uow.session, log_keys(node), witnesses, workers=0)
    return render(request, "ui/audit_verified.html", verified=verified,
                  checked_at=datetime.now(UTC))  # fmt: skip


@router.post("/ui/audit/prove", summary="The inclusion proof of a message's audit entries",
             response_class=HTMLResponse)  # fmt: skip
async def prove(
    request: Request, officer: CurrentOfficer, unit_of_work: UnitOfWorkFactoryDep, node: NodeDep
) -> HTMLResponse:
    require(officer, Action.VIEW_AUDIT, None)
    message_id = (await form_fields(request, ("message_id",)))["message_id"].strip().lower()
    if not _MESSAGE_ID.match(message_id):
        raise FormInvalid("the form is invalid", [Problem("message_id", "is not a message id")])
    with unit_of_work() as uow:
        proof = prove_message(uow.session, log_keys(node), message_id, datetime.now(UTC))
        uow.commit()  # a checkpoint signed for the proof stays
    return render(request, "ui/audit_proof.html", proof=proof,
                  document=json.dumps(proof, indent=2))  # fmt: skip
