"""What the casework routes share: the app's casework setup, the case an officer acts on, and
the case's state after a use case ran."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from joserfc.jwk import OKPKey

from migrex.casework.queries import case_state
from migrex.casework.schemas import SentOut
from migrex.casework.service import NodeContext
from migrex.casework.steps import load_case
from migrex.casework.tables import CaseRow
from migrex.errors import ConfigurationError
from migrex.exchange.trust import load_trust
from migrex.node import Node
from migrex.officers.api import PROBLEM_RESPONSES
from migrex.officers.model import Action, Officer, require
from migrex.uow import UnitOfWork


def problem(description: str) -> dict[str, Any]:
    """An OpenAPI response that is an RFC 9457 problem document."""
    return {"description": description, "content": PROBLEM_RESPONSES[403]["content"]}


# What a route acting on one case can answer besides 401 and 403 (and 422: a bad body, or a
# body the agreement or the message rules refuse).
CASE_PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: problem("No such case"),
    409: problem("The case cannot make this move in its state"),
}


class ConsultationKeys(Protocol):
    """The keys co-signing a consultation outcome needs (`exchange.trust.Trust` fits)."""

    def signing_key(self, authority: str, at: datetime) -> OKPKey: ...

    def resolve_signing_key(self, authority: str, kid: str, at: datetime) -> OKPKey | None: ...


@dataclass(frozen=True)
class CaseworkSetup:
    """What the routes need beyond a unit of work (set as `app.state.casework`)."""

    node: NodeContext
    key_dir: Path
    # Our signing keys and the partners' published ones, for consultation outcomes; an app
    # set up without them answers every other route and refuses only to sign.
    consultation_keys: Callable[[], ConsultationKeys] | None = None

    def keys(self) -> ConsultationKeys:
        if self.consultation_keys is None:
            raise ConfigurationError("the officers' API was set up without the node's keys")
        return self.consultation_keys()


def consultation_keys_of(node: Node) -> Callable[[], ConsultationKeys]:
    """The node's trust, loaded at the first signature and kept: a node without signed
    directories still serves every route that does not sign."""
    return functools.cache(lambda: load_trust(node.settings, node.agreements))


def _setup(request: Request) -> CaseworkSetup:
    setup: CaseworkSetup = request.app.state.casework
    return setup


CaseworkSetupDep = Annotated[CaseworkSetup, Depends(_setup)]


def now() -> datetime:
    return datetime.now(UTC)


def authorised(uow: UnitOfWork, case_id: str, officer: Officer, action: Action) -> CaseRow:
    """The case, once the officer may take `action` for its authority; NotFound if unknown.
    Checked in the use case's own unit of work, so the check and the change see one case."""
    case = load_case(uow, case_id)
    require(officer, action, case.our_authority)
    return case


def sent(uow: UnitOfWork, case_id: str, message_id: str | None) -> SentOut:
    """The message a use case just queued, with the state it left the case in."""
    return SentOut(message_id=message_id, state=case_state(uow, case_id) or "unknown")
