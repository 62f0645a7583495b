"""The guarantee matrix on every route of the officers' API and of the partners' door.

The routes are enumerated from the apps (`guarantee_paths.routes`); `ROWS` gives each one a
cell per guarantee. A route without its row, or a row without its route, fails
`test_every_route_has_a_row`."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from casework_scenes import incoming_in_review
from casework_steps import now
from guarantee_channels import api_card_is_recorded, api_card_names_no_one, api_decision_is_audited
from guarantee_console import CONSOLE_ROWS
from guarantee_matrix import (
    APPROVER_PASSWORD,
    PLANTED,
    PLANTED_DOCUMENT,
    Check,
    NotApplicable,
    Row,
    Scene,
    cells,
    row,
    run_cell,
)
from guarantee_paths import Guarantee, routes
from migrex.audit.tables import AuditLeafRow
from migrex.envelope import MessageClaims, new_message_id, seal
from migrex.exchange.runtime import ExchangeRuntime
from migrex.exchange.tables import SecurityEvent
from migrex.ledger.tables import DisclosureRow
from migrex.web.operator_app import create_operator_app

# ---------------------------------------------------------------- how each route is called

# A request each route accepts from an officer allowed to make it (bodies that validate), so
# that a refusal is the permission's and not the body's.
BODIES: dict[str, Any] = {
    "POST /v1/authorities/{authority}/requests": {
        "agreement_id": "kz-am-2024", "recipient": "kz-mia", "type": "person-inquiry",
        "body": {"purpose": "legal-status-of-stay", "persons": [{"document_number": "X1"}]},
    },
    "POST /v1/cases/{case_id}/clarification": {"question": "Which employer?"},
    "POST /v1/cases/{case_id}/clarification-answer": {"answer": {"answers": ["Tours LLC"]}},
    "POST /v1/cases/{case_id}/draft/approve": {"password": "x"},
    "POST /v1/cases/{case_id}/draft/narrow": {"fields": ["permit_type"]},
    "POST /v1/cases/{case_id}/draft/refusal": {"grounds": ["security"], "explanation": "x"},
    "POST /v1/cases/{case_id}/findings": {"finding": "x"},
    "POST /v1/cases/{case_id}/outcome": {"outcome": "x"},
    "POST /v1/cases/{case_id}/refuse": {"grounds": ["security"], "explanation": "x"},
    "POST /v1/cases/{case_id}/withdraw": {"reason": "x"},
    "POST /v1/session": {"username": "every-role", "password": "wrong"},
    # Kazakhstan's request names HOVHANNISYAN (`incoming_in_review`): the Russian form finds it.
    "POST /v1/persons/search": {"surname": "Оганесян"},
    "POST /v1/leads/{lead_id}/dismiss": {"reason": "a work crew, checked"},
    "POST /v1/leads/{lead_id}/open": {"to": "kz-am-2024/kz-mia"},
}  # fmt: skip


def _split(path: str) -> tuple[str, str]:
    method, _, template = path.partition(" ")
    return method, template


# What a refused input may add: the door reports it to the node's security log (which carries
# hashes and reasons, never content: checked by G8).
SECURITY_LOG = "exchange_security_event"
THROTTLE = "officer_login_throttle"


def _changed(
    before: dict[str, int], after: dict[str, int], *, logged: bool = False
) -> dict[str, tuple[int, int]]:
    return {name: (before[name], after[name]) for name in before
            if before[name] != after[name] and not (logged and name == SECURITY_LOG)}  # fmt: skip


def _problem(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.headers


# ---------------------------------------------------------------- checks


def refused_without_credentials(scene: Scene, path: str, lacking: str | None) -> None:
    """G11: no token → 401; a named officer whose roles do not allow it → 403; neither
    changes a row of any table."""
    method, template = _split(path)
    before = scene.counts()
    _problem(scene.call(method, scene.url(template), None, BODIES.get(path)), 401)
    if lacking is not None:
        refused = scene.call(method, scene.url(template), scene.tokens[lacking], BODIES.get(path))
        _problem(refused, 403)
    assert _changed(before, scene.counts()) == {}


def wrong_password_is_refused(scene: Scene, path: str) -> None:
    """G11 for signing in: a wrong password is 401 and makes no session; the failed login is
    in the security log (issue 11, item 8), and nothing else changes."""
    before, failed = scene.counts(), _failed_logins(scene)
    _problem(scene.call("POST", "/v1/session", None, BODIES[path]), 401)
    # The failure is counted against the account and the address (the login throttle's rows).
    assert set(_changed(before, scene.counts())) <= {SECURITY_LOG, THROTTLE}
    assert _failed_logins(scene) == failed + 1


def _failed_logins(scene: Scene) -> int:
    with scene.node.unit_of_work() as uow:
        counted = uow.session.scalar(
            select(func.sum(SecurityEvent.count)).where(SecurityEvent.reason == "failed-login")
        )
    return int(counted or 0)


def bad_body_changes_nothing(scene: Scene, path: str) -> None:
    """G10: a body that is not JSON, and one of the wrong shape, each get a problem document
    from an officer allowed to call the route; nothing changes and the next request works."""
    method, template = _split(path)
    before = scene.counts()
    for raw in (b"{not json", b"[1, 2", json.dumps([PLANTED]).encode()):
        response = scene.call(method, scene.url(template), scene.tokens["all"], raw=raw)
        assert 400 <= response.status_code < 500, (raw, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert _changed(before, scene.counts()) == {}
    assert scene.call("GET", "/v1/officers/me", scene.tokens["all"]).status_code == 200


def no_planted_person_in_errors(
    scene: Scene, path: str, caplog: pytest.LogCaptureFixture | None = None
) -> None:
    """G8: a body or query naming a person, refused, does not give the name back in the
    error, nor write it to the application log."""
    method, template = _split(path)
    body = _planted(BODIES.get(path))
    with _Captured() as records:
        response = scene.call(method, scene.url(template) + f"?document={PLANTED_DOCUMENT}"
                              f"&q={PLANTED}", scene.tokens["all"], body)  # fmt: skip
    for text in (response.text, *records):
        assert PLANTED not in text and PLANTED_DOCUMENT not in text, text


def _planted(body: Any) -> Any:
    """The body with every string a planted name, and every number a string holding one."""
    if isinstance(body, dict):
        return {key: _planted(value) for key, value in body.items()} | {"person": PLANTED}
    if isinstance(body, list):
        return [_planted(item) for item in body] or [PLANTED]
    return {"surname": PLANTED, "document_number": PLANTED_DOCUMENT}


class _Captured:
    """Every log record any logger emits meanwhile, formatted with its arguments."""

    def __enter__(self) -> list[str]:
        self.records: list[str] = []
        self.handler = logging.Handler()
        self.handler.emit = lambda record: self.records.append(  # type: ignore[method-assign]
            f"{record.getMessage()} {record.__dict__}"
        )
        logging.getLogger().addHandler(self.handler)
        return self.records

    def __exit__(self, *_: object) -> None:
        logging.getLogger().removeHandler(self.handler)


def _reads(scene: Scene) -> tuple[int, int]:
    with scene.node.unit_of_work() as uow:
        reads = uow.session.scalar(
            select(func.count()).select_from(DisclosureRow).where(DisclosureRow.direction == "read")
        )
        leaves = uow.session.scalar(select(func.count()).select_from(AuditLeafRow))
    return reads or 0, leaves or 0


def showing_is_recorded(scene: Scene, path: str, ledger: bool) -> None:
    """G4 (`ledger`) or G5: a route that shows a person's data writes a ledger "read" row,
    or an audit leaf, when it shows it."""
    method, template = _split(path)
    case_id = incoming_in_review(scene.pair)  # a case of its own
    url = template.format(case_id=case_id, authority="am-mcs") + (
        "?document=AM1234567" if template.endswith("subject-report") else ""
    )
    if (template.endswith("/draft") and method == "GET") or template.endswith("/narrow"):
        drafted = scene.call("POST", url.removesuffix("/narrow"), scene.tokens["all"])
        assert drafted.status_code == 200, drafted.text
    reads, leaves = _reads(scene)
    response = scene.call(method, url, scene.tokens["all"], BODIES.get(path))
    assert response.status_code == 200, response.text
    after_reads, after_leaves = _reads(scene)
    if ledger:
        assert after_reads > reads, "no ledger row for what was shown"
    else:
        assert after_leaves > leaves, "no audit leaf for what was shown"


# ---------------------------------------------------------------- the table

_ = NotApplicable
IDENTITY = Check(refused_without_credentials, ("auditor",))
BAD_BODY, PLANTED_CHECK = Check(bad_body_changes_nothing), Check(no_planted_person_in_errors)
OFFICER: Row = {
    Guarantee.G1: _("an officer route sends nothing itself: what it sends passes the outgoing "
                    "gate, checked per message kind in the kinds matrix (G1)"),
    Guarantee.G2: _("fields leaving are checked per message kind in the kinds matrix (G2); the "
                    "route adds none"),
    Guarantee.G3: _("onward transfer is checked per message kind in the kinds matrix (G3)"),
    Guarantee.G4: _("shows no person's data: lists, states and references only"),
    Guarantee.G5: _("shows no person's data; what it changes is audited by the use case and "
                    "checked per message kind (G5)"),
    Guarantee.G6: _("volume is counted when a request opens, checked per message kind (G6)"),
    Guarantee.G7: _("erasure is of stored records (retention matrix of jobs, G7); a route keeps "
                    "no copy"),
    Guarantee.G8: _("takes no free text: only record identifiers in its path, no body"),
    Guarantee.G9: _("a route only queues; delivery is the relay job's (jobs matrix, G9)"),
    Guarantee.G10: _("takes no body: only identifiers in the path and typed query parameters"),
    Guarantee.G11: IDENTITY,
    Guarantee.G12: _("no statistics release is made, changed or shown on this route"),
}  # fmt: skip
LEDGERED, AUDITED = Check(showing_is_recorded, (True,)), Check(showing_is_recorded, (False,))
PUBLIC_DOC = row(
    {g: _("the API description: public, holds no record and takes no input") for g in Guarantee},
)
DOOR: Row = {
    **{g: _("a partner-facing route on the mutual-TLS door") for g in Guarantee},
    Guarantee.G11: _("reachable only over mutual TLS with a partner's certificate (web.cli "
                     "serve)"),
}  # fmt: skip
OPERATOR: Row = {
    **{g: _("an operations page on the operator listener: counts and states, no record")
       for g in Guarantee},
    Guarantee.G8: _("reports counts, states and the node's id, never a record: nothing to plant"),
    Guarantee.G10: _("takes no input"),
    Guarantee.G11: _("the operator listener, on loopback unless the operator says otherwise "
                     "(operator_listen_host); takes no input and changes nothing"),
}  # fmt: skip

ROWS: dict[str, Row] = {
    # The officers' API.
    "DELETE /v1/cases/{case_id}/draft": row(OFFICER, G10=_("takes no body")),
    "DELETE /v1/session": row(
        OFFICER,
        G11=Check(refused_without_credentials, (None,)),
        G8=_("takes no input but the session cookie"),
    ),
    "GET /v1/authorities/{authority}/cases": row(OFFICER, G8=PLANTED_CHECK),
    "GET /v1/authorities/{authority}/inbox": row(OFFICER, G8=PLANTED_CHECK),
    "GET /v1/authorities/{authority}/limits": row(OFFICER, G8=PLANTED_CHECK),
    "GET /v1/authorities/{authority}/outbox": row(OFFICER, G8=PLANTED_CHECK),
    "GET /v1/authorities/{authority}/overdue": row(OFFICER, G8=PLANTED_CHECK),
    "GET /v1/authorities/{authority}/reminders": row(OFFICER, G8=PLANTED_CHECK),
    "GET /v1/authorities/{authority}/subject-report": row(
        OFFICER,
        G5=AUDITED,
    ),
    "GET /v1/cases/{case_id}": row(OFFICER, G8=PLANTED_CHECK),
    "GET /v1/cases/{case_id}/draft": row(
        OFFICER,
        G4=LEDGERED,
        G5=AUDITED,
    ),
    "GET /v1/cases/{case_id}/messages": row(OFFICER, G8=PLANTED_CHECK, G4=LEDGERED, G5=AUDITED),
    "GET /v1/officers": row(OFFICER, G8=PLANTED_CHECK, G4=_("lists officers, not data subjects")),
    "GET /v1/officers/me": row(
        OFFICER, G8=PLANTED_CHECK, G11=Check(refused_without_credentials, (None,))
    ),
    "POST /v1/authorities/{authority}/requests": row(OFFICER, G8=PLANTED_CHECK, G10=BAD_BODY),
    "POST /v1/cases/{case_id}/answer": row(OFFICER),
    "POST /v1/cases/{case_id}/citizenship-answer": row(OFFICER),
    "POST /v1/cases/{case_id}/clarification": row(OFFICER, G8=PLANTED_CHECK, G10=BAD_BODY),
    "POST /v1/cases/{case_id}/clarification-answer": row(OFFICER, G8=PLANTED_CHECK, G10=BAD_BODY),
    "POST /v1/cases/{case_id}/draft": row(OFFICER, G4=LEDGERED, G5=AUDITED),
    "POST /v1/cases/{case_id}/draft/approve": row(OFFICER, G8=PLANTED_CHECK, G10=BAD_BODY),
    "POST /v1/cases/{case_id}/draft/narrow": row(
        OFFICER, G8=PLANTED_CHECK, G10=BAD_BODY, G4=LEDGERED, G5=AUDITED
    ),
    "POST /v1/cases/{case_id}/draft/refusal": row(OFFICER, G8=PLANTED_CHECK, G10=BAD_BODY),
    "POST /v1/cases/{case_id}/draft/submit": row(OFFICER),
    "POST /v1/cases/{case_id}/expire": row(OFFICER),
    "POST /v1/cases/{case_id}/findings": row(OFFICER, G8=PLANTED_CHECK, G10=BAD_BODY),
    "POST /v1/cases/{case_id}/outcome": row(OFFICER, G8=PLANTED_CHECK, G10=BAD_BODY),
    "POST /v1/cases/{case_id}/outcome/cosign": row(OFFICER),
    "POST /v1/cases/{case_id}/refuse": row(OFFICER, G8=PLANTED_CHECK, G10=BAD_BODY),
    "POST /v1/cases/{case_id}/review": row(OFFICER),
    "POST /v1/cases/{case_id}/withdraw": row(OFFICER, G8=PLANTED_CHECK, G10=BAD_BODY),
    "POST /v1/outbox/{message_id}/retry": row(OFFICER),
    "POST /v1/persons/search": row(
        OFFICER,
        G8=PLANTED_CHECK,
        G10=BAD_BODY,
        G4=LEDGERED,
        G5=AUDITED,
        G11=Check(refused_without_credentials, ("administrator",)),
    ),
    "POST /v1/session": row(
        OFFICER, G8=PLANTED_CHECK, G10=BAD_BODY, G11=Check(wrong_password_is_refused)
    ),
    # The analysts' leads (issue 14): the same use cases as `migrex channels` and /ui/leads.
    "GET /v1/leads": row(
        OFFICER,
        G8=PLANTED_CHECK,
        G4=_("lists leads by rank, size, score and state: no member is shown"),
    ),
    "GET /v1/leads/{lead_id}": row(
        OFFICER,
        G4=Check(api_card_is_recorded, (True,)),
        G5=Check(api_card_is_recorded, (False,)),
        G8=Check(api_card_names_no_one),
    ),
    "POST /v1/leads/{lead_id}/dismiss": row(
        OFFICER, G5=Check(api_decision_is_audited), G8=PLANTED_CHECK, G10=BAD_BODY
    ),
    "POST /v1/leads/{lead_id}/open": row(
        OFFICER,
        G1=_(
            "the request leaves through casework.service.open_case and its outgoing gate "
            "(G1 per message kind; tests/integration/channels)"
        ),
        G2=_(
            "the pre-filled request names the lead's violators by document only and asks the "
            "purpose's profile fields only (tests/integration/channels)"
        ),
        G3=_(
            "a lead built on partner data goes back to that partner's state only: "
            "casework.onward before the request is made (tests/integration/channels)"
        ),
        G4=_(
            "shows nothing; what leaves is ledgered by the outgoing gate, checked per message "
            "kind (G4)"
        ),
        G5=Check(api_decision_is_audited),
        G8=PLANTED_CHECK,
        G10=BAD_BODY,
    ),
    "GET /openapi.json": PUBLIC_DOC,
    # The web console, on the same listener.
    **CONSOLE_ROWS,
}
del APPROVER_PASSWORD  # the approval's password is the scene's, used by the CLI matrix


def malformed_batch_changes_nothing(scene: Scene, path: str) -> None:
    """G10 at the door: a batch that is not JSON, or not a batch, is a 400 problem; nothing
    is stored and the door still takes a real envelope."""
    before = scene.counts()
    for raw in (b"{not json", b'{"envelopes": "x"}', json.dumps({"envelopes": []}).encode(),
                json.dumps({"envelopes": [PLANTED]}).encode()):  # fmt: skip
        response = scene.call("POST", "/v1/envelopes", None, raw=raw, app=scene.door)
        if response.status_code == 200:  # a batch whose envelope is refused one by one
            [outcome] = response.json()["results"]
            assert outcome["status"] == "rejected" and PLANTED not in response.text
        else:
            _problem(response, 400)
    assert _changed(before, scene.counts(), logged=True) == {}
    with scene.node.unit_of_work() as uow:
        details = uow.session.scalars(select(SecurityEvent.detail)).all()
    assert not [d for d in details if PLANTED in (d or "")]
    accepted = scene.call("POST", "/v1/envelopes", None, {"envelopes": [_envelope(scene)]},
                          app=scene.door)  # fmt: skip
    assert accepted.json()["results"][0]["status"] == "accepted", accepted.text


def unsigned_heads_request_is_refused(scene: Scene, path: str) -> None:
    """G10/G11 on the witnessing route: a request that is not the asking node's signed JWS,
    or not JSON at all, is refused with a problem; nothing changes but the security log, which
    never quotes what was sent."""
    before = scene.counts()
    for raw in (b"{not json", json.dumps({"request": PLANTED}).encode(),
                json.dumps({"request": "e30.e30.c2ln"}).encode()):  # fmt: skip
        response = scene.call("POST", "/v1/audit/heads", None, raw=raw, app=scene.door)
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert PLANTED not in response.text
    assert _changed(before, scene.counts(), logged=True) == {}
    with scene.node.unit_of_work() as uow:
        details = uow.session.scalars(select(SecurityEvent.detail)).all()
    assert not [d for d in details if PLANTED in (d or "")]


def impostor_is_refused(scene: Scene, path: str) -> None:
    """G11 at the door: an envelope claiming a sender whose key did not sign it is rejected
    and nothing is stored."""
    before = scene.counts()
    forged = _envelope(scene, claimed_sender="kz-mlsp")  # signed with kz-mia's key
    response = scene.call("POST", "/v1/envelopes", None, {"envelopes": [forged]}, app=scene.door)
    [outcome] = response.json()["results"]
    assert outcome["status"] == "rejected", outcome
    assert _changed(before, scene.counts(), logged=True) == {}


def only_parties_of_the_named_agreement(scene: Scene, path: str) -> None:
    """G1 at the door: an envelope from a party of another agreement, naming this one, is
    rejected and stores nothing; the same envelope naming its own agreement is accepted."""
    world = scene.world()
    before = scene.counts(world.kz)
    forged = world.envelope("KG", "kg-mvd", "kz-mia", "kz-am-2024", sealed_under="kz-kg-example")
    [outcome] = world.receive("KZ", [forged])
    assert outcome["status"] == "rejected", outcome
    assert _changed(before, scene.counts(world.kz), logged=True) == {}
    [own] = world.receive("KZ", [world.envelope("KG", "kg-mvd", "kz-mia", "kz-kg-example")])
    assert own["status"] == "accepted", own


def _envelope(scene: Scene, claimed_sender: str = "kz-mia") -> str:
    trust, at = scene.pair.kz_trust, now()
    claims = MessageClaims(
        sender=claimed_sender, recipient="am-mcs", agreement="kz-am-2024",
        message_id=new_message_id(at), type="legal-information", case_id=new_message_id(at),
        in_reply_to=None, issued_at=at, expires_at=at + timedelta(days=1),
    )  # fmt: skip
    return seal(claims, {"subject": "matrix", "summary": "matrix"},
                signing_key=trust.signing_key("kz-mia", at),
                recipient_key=trust.recipient_key("kz-am-2024", "am-mcs", at))  # fmt: skip


def linkage_route_is_the_units_alone(scene: Scene, path: str) -> None:
    """G1/G8/G10/G11 on the linkage unit's routes at a party's door: a node that is not the
    agreement's unit answers 404 to every one, whatever is sent, stores nothing and echoes
    nothing. At the unit itself (a real process over mutual TLS),
    tests/integration/linkage/test_linkage_unit.py shows a party cannot open a transfer,
    open a result or receipt one in the other party's name, and the unit keeps no encoding,
    result, key or name; test_linkage_unit_witnessed.py that the unit keeps only cosignatures
    that verify with a party's directory key."""
    method, template = path.split(" ", 1)
    url = template.format(agreement_id="kz-am-2024", run_id=new_message_id(now()),
                          sender="kz-mia", party="kz-mia", index=0)  # fmt: skip
    before = scene.counts()
    response = scene.call(method, url, None, raw=PLANTED.encode(), app=scene.door)
    _problem(response, 404)
    assert PLANTED not in response.text
    assert _changed(before, scene.counts(), logged=True) == {}
    assert not (scene.node.settings.data_dir / "linkage-unit").exists()


_LINKAGE_UNIT = row(
    DOOR,
    **{
        g.name: Check(linkage_route_is_the_units_alone)
        for g in (Guarantee.G1, Guarantee.G8, Guarantee.G10, Guarantee.G11)
    },
)
_LINKAGE_PREFIX = "/v1/linkage/{agreement_id}/runs/{run_id}"

_LINKAGE_ROUTES = (
    ("PUT", "transfers/{sender}/opening"),
    ("PUT", "transfers/{sender}/chunks/{index}"),
    ("PUT", "transfers/{sender}/manifest"),
    ("GET", "transfers/{sender}"),
    ("GET", "results/{party}"),
    ("POST", "results/{party}/receipt"),
)

_UNIT_LOG = "/v1/linkage/{agreement_id}/log"

DOOR_ROWS: dict[str, Row] = {
    **{f"{method} {_LINKAGE_PREFIX}/{tail}": _LINKAGE_UNIT for method, tail in _LINKAGE_ROUTES},
    f"GET {_UNIT_LOG}": _LINKAGE_UNIT,
    f"POST {_UNIT_LOG}/cosignatures": _LINKAGE_UNIT,
    "POST /v1/envelopes": row(
        DOOR,
        G1=Check(only_parties_of_the_named_agreement),
        G8=Check(malformed_batch_changes_nothing),
        G10=Check(malformed_batch_changes_nothing),
        G11=Check(impostor_is_refused),
    ),
    "POST /v1/audit/heads": row(
        DOOR,
        G8=Check(unsigned_heads_request_is_refused),
        G10=Check(unsigned_heads_request_is_refused),
        G11=Check(unsigned_heads_request_is_refused),
    ),
}
OPERATOR_ROWS: dict[str, Row] = {
    "GET /health": row(OPERATOR),
    "GET /ready": row(OPERATOR),
    "GET /metrics": row(OPERATOR),
}


def operator_app(scene: Scene) -> Any:
    return create_operator_app(ExchangeRuntime(scene.node, scene.pair.am_trust))


def test_every_route_has_a_row(scene: Scene) -> None:
    assert routes(scene.app) == sorted(ROWS)


def test_every_door_route_has_a_row(scene: Scene) -> None:
    assert routes(scene.door) == sorted(DOOR_ROWS)


def test_every_operator_route_has_a_row(scene: Scene) -> None:
    assert routes(operator_app(scene)) == sorted(OPERATOR_ROWS)


@pytest.mark.parametrize(("path", "guarantee"), cells(ROWS))
def test_officers_api(scene: Scene, path: str, guarantee: Guarantee) -> None:
    run_cell(scene, ROWS, path, guarantee)


@pytest.mark.parametrize(("path", "guarantee"), cells(DOOR_ROWS))
def test_partners_door(scene: Scene, path: str, guarantee: Guarantee) -> None:
    run_cell(scene, DOOR_ROWS, path, guarantee)


@pytest.mark.parametrize(("path", "guarantee"), cells(OPERATOR_ROWS))
def test_operator_listener(scene: Scene, path: str, guarantee: Guarantee) -> None:
    run_cell(scene, OPERATOR_ROWS, path, guarantee)
