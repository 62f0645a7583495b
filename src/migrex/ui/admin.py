"""The administrator's pages: the node's officers and their live tokens (add an officer,
issue a token, disable an officer, reset a password, revoke a token) and the node's status
(each partner's reachability as deliveries show it, the witnesses' cosignatures of our log,
outbox and inbox by status, the messages awaiting an operator, which can be re-issued or
discarded with a reason).

Each change is the use case `migrex user` and `migrex outbox` call, with the console's
officer as its actor: the use case writes its `administration` audit entry in the same
transaction (G5). A password typed here and a discard's reason are never shown back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from migrex.audit.inspection import log_status
from migrex.casework.routes.dependencies import CaseworkSetupDep
from migrex.exchange.queries import held_up, inbox_counts, outbox_counts, partner_delivery
from migrex.exchange.service import discard, reissue
from migrex.officers.api import UnitOfWorkFactoryDep, requires
from migrex.officers.model import Action, Officer, Role
from migrex.officers.service import (
    add_officer,
    disable_officer,
    issue_token,
    list_officers,
    list_tokens,
    revoke_token,
    set_password,
)
from migrex.ui.forms import FormInvalid, form_fields, form_list
from migrex.ui.rendering import PageRoute, officer_page, render

router = APIRouter(route_class=PageRoute, tags=["console"])

Administrator = Annotated[Officer, requires(Action.MANAGE_USERS)]
Operator = Annotated[Officer, requires(Action.OPERATE_DELIVERY)]
HELD_UP_SHOWN = 50


def _now() -> datetime:
    return datetime.now(UTC)


def _refresh() -> Response:
    """The page again, as it now stands (htmx reloads it)."""
    return Response(status_code=204, headers={"HX-Refresh": "true"})


@router.get("/ui/officers", summary="The node's officers and their roles",
            response_class=HTMLResponse)  # fmt: skip
def officers(
    request: Request, officer: Administrator, unit_of_work: UnitOfWorkFactoryDep
) -> HTMLResponse:
    at = _now()
    with unit_of_work() as uow:
        listed = list_officers(uow)
        tokens = [t for t in list_tokens(uow) if t.revoked_at is None and t.expires_at > at]
    return officer_page(request, officer, "ui/officers.html", officers=listed, tokens=tokens,
                        grants=_grantable(request))  # fmt: skip


def _grantable(request: Request) -> list[tuple[str, str]]:
    """Every role for every authority the node hosts, as "role@authority" choices."""
    hosted = request.app.state.node.settings.authorities
    return [(role.value, authority) for authority in hosted for role in Role]


@router.post("/ui/officers", summary="Add an officer", status_code=204)
async def add(
    request: Request, officer: Administrator, unit_of_work: UnitOfWorkFactoryDep
) -> Response:
    """An officer with the roles ticked and a first password (`migrex user add`); the page
    is shown again with them in it."""
    fields = await form_fields(request, ("username", "display_name", "password"))
    ticked = [grant.partition("@") for grant in await form_list(request, "grant")]
    roles = [(role, authority) for role, _, authority in ticked]
    if not roles or not all(role and authority for role, authority in roles):
        raise FormInvalid("tick at least one role for one authority")
    node = request.app.state.node
    with unit_of_work() as uow:
        add_officer(uow, username=fields["username"], display_name=fields["display_name"],
                    roles=roles, password=fields["password"], actor=officer.actor,
                    hosted_authorities=node.settings.authorities, now=_now())  # fmt: skip
    return _refresh()


@router.post("/ui/officers/{username}/tokens", summary="Issue an API token to an officer",
             response_class=HTMLResponse)  # fmt: skip
async def issue(
    request: Request, username: str, officer: Administrator, unit_of_work: UnitOfWorkFactoryDep
) -> HTMLResponse:
    """A token for scripts acting as the officer (`migrex user token`); shown this once."""
    fields = await form_fields(request, ("name", "days"))
    if not fields["days"].isdigit():
        raise FormInvalid("give the token's life in whole days")
    with unit_of_work() as uow:
        issued = issue_token(uow, username=username, name=fields["name"],
                             ttl=timedelta(days=int(fields["days"])), actor=officer.actor,
                             now=_now())  # fmt: skip
    return render(request, "ui/admin_token.html", issued=issued, target=username)


@router.post("/ui/officers/{username}/disable", summary="Disable an officer", status_code=204)
def disable(username: str, officer: Administrator, unit_of_work: UnitOfWorkFactoryDep) -> Response:
    """Their sessions and tokens stop working at once (`migrex user disable`)."""
    with unit_of_work() as uow:
        disable_officer(uow, username=username, actor=officer.actor, now=_now())
    return _refresh()


@router.post("/ui/officers/{username}/password", summary="Reset an officer's password",
             response_class=HTMLResponse)  # fmt: skip
async def reset_password(
    request: Request, username: str, officer: Administrator, unit_of_work: UnitOfWorkFactoryDep
) -> HTMLResponse:
    """Sets a new password under the strength rules (`migrex user set-password`)."""
    fields = await form_fields(request, ("password",))
    with unit_of_work() as uow:
        changed = set_password(uow, username=username, password=fields["password"],
                               actor=officer.actor, now=_now())  # fmt: skip
    return render(request, "ui/admin_done.html", done="password-set", target=changed.username)


@router.post("/ui/tokens/{token_id}/revoke", summary="Revoke an API token or a session",
             status_code=204)  # fmt: skip
def revoke(token_id: int, officer: Administrator, unit_of_work: UnitOfWorkFactoryDep) -> Response:
    """The token stops working at once (`migrex user revoke`)."""
    with unit_of_work() as uow:
        revoke_token(uow, token_id=token_id, actor=officer.actor, now=_now())
    return _refresh()


@router.get("/ui/node", summary="The node's delivery: outbox, inbox, messages held up",
            response_class=HTMLResponse)  # fmt: skip
def node_status(
    request: Request, officer: Operator, unit_of_work: UnitOfWorkFactoryDep
) -> HTMLResponse:
    with unit_of_work() as uow:
        outbox = outbox_counts(uow)
        inbox = inbox_counts(uow)
        held = held_up(uow, HELD_UP_SHOWN)
        partners, log = partner_delivery(uow), log_status(uow.session)
        return officer_page(request, officer, "ui/node.html", outbox=outbox, inbox=inbox,
                            held=held, partners=partners, log=log)  # fmt: skip


@router.post("/ui/outbox/{message_id}/reissue", summary="Seal a held-up message anew",
             status_code=204)  # fmt: skip
def reissue_message(
    message_id: str, officer: Operator, unit_of_work: UnitOfWorkFactoryDep,
    setup: CaseworkSetupDep,
) -> Response:  # fmt: skip
    """Same id, case and body, new times and envelope (`migrex outbox reissue`)."""
    with unit_of_work() as uow:
        reissue(uow, [message_id], agreements=setup.node.agreements, now=_now(),
                actor=officer.actor)  # fmt: skip
    return _refresh()


@router.post("/ui/outbox/{message_id}/discard", summary="Drop a held-up message, with a reason",
             status_code=204)  # fmt: skip
async def discard_message(
    request: Request, message_id: str, officer: Operator, unit_of_work: UnitOfWorkFactoryDep
) -> Response:
    """Out of the queue for good; the reason goes to its case (`migrex outbox discard`)."""
    fields = await form_fields(request, ("reason",))
    with unit_of_work() as uow:
        discard(uow, message_id, fields["reason"], now=_now(), actor=officer.actor)
    return _refresh()
