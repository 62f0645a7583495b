"""The guarantee matrix's rows for the web console's routes (`migrex.ui`), merged into the
officers' listener's table by `test_guarantees_routes`.

A console route is called as a browser calls it: a session cookie from signing in, forms
URL-encoded, and the CSRF header htmx sends (`console_client.Browser`)."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from casework_scenes import INQUIRY, incoming_in_review
from casework_steps import context, now
from console_client import Browser
from guarantee_channels import console_card_is_recorded, console_decision_is_audited
from guarantee_linkage import console_candidate_is_recorded, console_run_step_is_audited
from guarantee_linkage import console_decision_is_audited as candidate_decision_is_audited
from guarantee_matrix import (
    APPROVER_PASSWORD,
    PLANTED,
    PLANTED_DOCUMENT,
    Check,
    NotApplicable,
    Row,
    Scene,
    row,
)
from guarantee_paths import Guarantee
from migrex.audit.tables import AuditLeafRow
from migrex.casework.messages import SDMX_CSV, Attachment
from migrex.casework.service import OpenRequest, open_request
from migrex.exchange.delivery import Status
from migrex.exchange.tables import OutboxMessage
from migrex.ledger.tables import DisclosureRow
from migrex.officers.service import add_officer, issue_token
from migrex.retention.tables import RetentionKeyRow
from migrex.stats.release import Release
from stats_scenes import AGREEMENT, OWN_DATASET, stored_release

# Filled in for the path's parameters; a form each changing route accepts.
PARAMETERS = {"code": "en", "name": "console.js", "queue": "incoming",
              "username": "nobody-here", "message_id": "no-such-message",
              "token_id": "999999", "agreement_id": AGREEMENT, "dataset_id": OWN_DATASET,
              "period": "2024", "lead_id": "R999999-L0001",
              "candidate_id": "999999"}  # fmt: skip
_REQUEST = dict.fromkeys(
    (
        "agreement",
        "sender",
        "recipient",
        "type",
        "purpose",
        "legal_basis",
        "question",
        "surname",
        "given_name",
        "document_number",
    ),
    "x",
)
FORMS: dict[str, dict[str, str]] = {
    "POST /ui/sign-in": {"username": "every-role", "password": APPROVER_PASSWORD},
    "POST /ui/audit/prove": {"message_id": ""},
    "POST /ui/requests": _REQUEST,
    "POST /ui/requests/screen": _REQUEST,
    "POST /ui/cases/{case_id}/withdraw": {"reason": "x"},
    "POST /ui/cases/{case_id}/clarification-answer": {"answer": "x"},
    "POST /ui/cases/{case_id}/findings": {"finding": "x"},
    "POST /ui/cases/{case_id}/outcome": {"outcome": "x"},
    "POST /ui/officers/{username}/password": {"password": "x"},
    "POST /ui/officers": {
        "username": "x",
        "display_name": "x",
        "password": "x",
        "grant": "officer@am-mcs",
    },
    "POST /ui/officers/{username}/tokens": {"name": "x", "days": "1"},
    "POST /ui/outbox/{message_id}/discard": {"reason": "x"},
    "POST /ui/search/persons": {"surname": "x"},
    "POST /ui/statistics/{agreement_id}/{dataset_id}/{period}/send": {
        "recipient": "kz-mlsp",
        "version": "1",
    },
    "POST /ui/leads/{lead_id}/dismiss": {"reason": "x"},
    "POST /ui/leads/{lead_id}/open": {"to": "x"},
    "POST /ui/linkage/{candidate_id}/verify": {"pair": "x"},
    "POST /ui/linkage/{candidate_id}/dismiss": {"reason": "x"},
    "POST /ui/linkage/runs": {
        "agreement": "x", "proposer": "x", "partner": "x", "period_start": "x",
        "period_end": "x", "field": "x", "legal_basis": "x",
    },
    "POST /ui/linkage/runs/{case_id}/accept": {"run": "x", "remarks": "x"},
    "POST /ui/linkage/runs/{case_id}/refuse": {"run": "x", "ground": "x", "explanation": "x"},
    "POST /ui/linkage/runs/{case_id}/send": {"run": "x"},
    "POST /ui/linkage/runs/{case_id}/collect": {"run": "x"},
}  # fmt: skip
# What a refused input may add: a failed sign-in is written to the security log and counted
# by the login throttle.
LOGGED = ("exchange_security_event", "security_event", "officer_login_throttle")


def _split(path: str, scene: Scene) -> tuple[str, str]:
    """The method and a URL of the path; a case of its own where the path names one, so that
    claiming it here holds no case another check works on."""
    method, _, template = path.partition(" ")
    case_id = incoming_in_review(scene.pair) if "{case_id}" in template else ""
    return method, template.format(**PARAMETERS, case_id=case_id)


def _changed(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {name: (before[name], after[name]) for name in before
            if before[name] != after[name] and not name.endswith(LOGGED)}  # fmt: skip


def _signed_in(scene: Scene) -> Browser:
    browser = Browser(scene.app)
    signed = browser.sign_in("every-role", APPROVER_PASSWORD)
    assert signed.status_code == 303, signed.text
    return browser


def _to_sign_in(response: httpx.Response, htmx: bool) -> None:
    if htmx:
        assert response.status_code == 204, response.text
        assert response.headers["HX-Redirect"].startswith("/ui/sign-in")
    else:
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/ui/sign-in"


def refused_without_session(scene: Scene, path: str) -> None:
    """G11: without a session, a console route sends the browser to the sign-in page (htmx:
    `HX-Redirect`) and changes nothing; with a session but without the CSRF header, a
    changing route does the same."""
    method, url = _split(path, scene)
    before = scene.counts()
    for htmx in (False, True):
        _to_sign_in(Browser(scene.app).request(method, url, htmx=htmx), htmx)
    assert _changed(before, scene.counts()) == {}
    if method != "GET":
        browser = _signed_in(scene)
        before = scene.counts()
        _to_sign_in(browser.request(method, url, htmx=False), htmx=False)
        assert _changed(before, scene.counts()) == {}


def wrong_password_is_refused(scene: Scene, path: str) -> None:
    """G11 for signing in: a wrong password shows the form again (401) and opens no session."""
    before = scene.counts()
    response = Browser(scene.app).post(
        "/ui/sign-in", form={"username": "every-role", "password": "wrong"}
    )
    assert response.status_code == 401 and "set-cookie" not in response.headers
    assert _changed(before, scene.counts()) == {}


# Not UTF-8; empty; a field given twice; a control character in every field a console form has.
BAD_FORMS = (
    b"\xff\xfe",
    b"",
    b"a=1&a=2",
    b"username=%00&password=%00&action=%00&to=%00&question=%00&explanation=%00&withhold=%00"
    b"&ground=%00&case=%00&reason=%00&answer=%00&finding=%00&outcome=%00&agreement=%00"
    b"&legal_basis=%00&surname=%00&run=%00&remarks=%00&proposer=%00&partner=%00"
    b"&period_start=%00&period_end=%00",
)


def bad_form_changes_nothing(scene: Scene, path: str) -> None:
    """G10: a form that is not UTF-8, lacks a field, repeats one or holds a control character
    is refused with a page (422); nothing changes, and the next request works."""
    method, url = _split(path, scene)
    browser = _signed_in(scene)
    before = scene.counts()
    for raw in BAD_FORMS:
        response = browser.request(method, url, raw=raw, htmx=True)
        assert response.status_code == 422, (raw, response.status_code, response.text)
        assert response.headers["content-type"].startswith("text/html")
    assert _changed(before, scene.counts()) == {}
    assert browser.get("/ui/").status_code == 200


def no_planted_person_in_answers(scene: Scene, path: str) -> None:
    """G8: a name and a document number planted in the query and in every form field are
    given back neither in the answer (body or headers) nor in any log record."""
    method, url = _split(path, scene)
    browser = _signed_in(scene)
    form = dict.fromkeys(FORMS.get(path, {"q": ""}), PLANTED) | {"document": PLANTED_DOCUMENT}
    query = f"?q={PLANTED}&document={PLANTED_DOCUMENT}&next=/ui/{PLANTED}"
    with _Captured() as records:
        response = browser.request(method, url + query, form=form if method != "GET" else None,
                                   htmx=method != "GET")  # fmt: skip
    shown = [response.text, *(v for k, v in response.headers.items() if k != "location")]
    for text in (*shown, *records):
        assert PLANTED_DOCUMENT not in text, text
        assert PLANTED not in text, text


def claim_is_audited(scene: Scene, path: str) -> None:
    """G5: claiming and releasing a case each add an audit leaf, in their transaction."""
    method, url = _split(path, scene)
    browser = _signed_in(scene)
    if url.endswith("/release"):
        claimed = browser.post(url.removesuffix("/release") + "/claim", htmx=True)
        assert claimed.status_code == 204, claimed.text
    before = scene.counts()["audit_leaves"]
    assert browser.request(method, url, htmx=True).status_code == 204
    assert scene.counts()["audit_leaves"] == before + 1


def _records(scene: Scene) -> tuple[int, int]:
    counts = scene.counts()
    with scene.node.unit_of_work() as uow:
        reads = uow.session.scalar(select(func.count()).select_from(DisclosureRow)
                                   .where(DisclosureRow.direction == "read"))  # fmt: skip
    return reads or 0, counts["audit_leaves"]


def showing_is_recorded(scene: Scene, path: str, ledger: bool) -> None:
    """G4 (`ledger`) or G5: a console route that shows a person's data writes a ledger
    "read" row, or an audit leaf, when it shows it."""
    method, url = _split(path, scene)
    browser = _signed_in(scene)
    base = url.removesuffix("/narrow")
    if url.endswith("/narrow") or (method == "GET" and url.endswith("/draft")):
        drafted = browser.post(base if base.endswith("/draft") else base + "/draft", htmx=True)
        assert drafted.status_code == 200, drafted.text
    reads, leaves = _records(scene)
    form = {"withhold": ["permit_type"]} if url.endswith("/narrow") else None
    response = browser.request(method, url, form=form, htmx=True)
    assert response.status_code == 200, response.text
    after_reads, after_leaves = _records(scene)
    if ledger:
        assert after_reads > reads, "no ledger row for what was shown"
    else:
        assert after_leaves > leaves, "no audit leaf for what was shown"


def person_search_is_recorded(scene: Scene, path: str, ledger: bool) -> None:
    """G4 (`ledger`) or G5: each person a name search shows is a "read" row in the ledger and
    an audit leaf, as the API's person search records it (`casework.person_search`)."""
    case_id = incoming_in_review(scene.pair)  # HOVHANNISYAN, asked about by Kazakhstan
    browser = _signed_in(scene)
    reads, leaves = _records(scene)
    response = browser.post("/ui/search/persons", htmx=True, form={"surname": "Оганесян"})
    assert response.status_code == 200, response.text
    assert case_id in response.text
    after_reads, after_leaves = _records(scene)
    assert (after_reads > reads) if ledger else (after_leaves > leaves)


def subject_report_is_audited(scene: Scene, path: str) -> None:
    """G5: the subject report records the read about the person in the audit log, one entry
    per identifier asked about, as the API's route does (`ledger.report_on_subject`)."""
    incoming_in_review(scene.pair)  # a person the ledger holds
    browser = _signed_in(scene)
    leaves = scene.counts()["audit_leaves"]
    response = browser.post("/ui/subject-report", htmx=True,
                            form={"authority": "am-mcs", "document": "AM1234567"})  # fmt: skip
    assert response.status_code == 200, response.text
    assert "AM1234567" not in response.text
    assert scene.counts()["audit_leaves"] == leaves + 1


def administration_is_audited(scene: Scene, path: str) -> None:
    """G5: disabling an officer, resetting a password, revoking a token, re-issuing and
    discarding a message each add the use case's `administration` leaf, in the change's
    transaction."""
    method, _, template = path.partition(" ")
    with scene.node.unit_of_work() as uow:
        username = f"target-{scene.counts()['officer']}"
        add_officer(uow, username=username, display_name="Target", roles=[("officer", "am-mcs")],
                    password=None, actor="test",
                    hosted_authorities=scene.node.settings.authorities)  # fmt: skip
    with scene.node.unit_of_work() as uow:
        command = OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", INQUIRY,
                              "officer:test")  # fmt: skip
        message_id = open_request(uow, context(scene.node), command, now()).message_id
        parked = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.message_id == message_id)
        ).one()
        parked.status = Status.PARKED
        uow.commit()
    with scene.node.unit_of_work() as uow:
        token_id = issue_token(uow, username=username, name="target", ttl=timedelta(days=1),
                               actor="test").token_id  # fmt: skip
    url = template.format(username=username, message_id=message_id, token_id=token_id)
    form = {
        "password": "a long passphrase for the target",
        "reason": "sent by mistake",
        "username": f"added-{username}",
        "display_name": "Added",
        "grant": "officer@am-mcs",
        "name": "a script",
        "days": "30",
    }
    browser = _signed_in(scene)
    before = scene.counts()["audit_leaves"]
    response = browser.request(method, url, form=form, htmx=True)
    assert response.status_code in (200, 204), response.text
    assert scene.counts()["audit_leaves"] > before


def erasure_is_audited(scene: Scene, path: str) -> None:
    """G5: the retention run started from the console logs each erasure, in its transaction
    (`retention.run_retention`, the CLI's use case)."""
    incoming_in_review(scene.pair)  # personal data sealed on arrival
    with scene.node.unit_of_work() as uow:
        for kept in uow.session.scalars(
            select(RetentionKeyRow).where(RetentionKeyRow.erased_at.is_(None))
        ):
            kept.expires_at = now() - timedelta(minutes=1)
        uow.commit()
    browser = _signed_in(scene)
    before = scene.counts()["audit_leaves"]
    response = browser.post("/ui/retention/run", htmx=True)
    assert response.status_code == 200, response.text
    assert scene.counts()["audit_leaves"] > before


STATISTICS = f"/ui/statistics/{AGREEMENT}/{OWN_DATASET}/2024"
_CELL = re.compile(r'<td data-key="([^"]+)" data-status="([A-Z])">(.*?)</td>', re.S)
_BLANK = re.compile(r'<span class="blank">(.*?)</span></span>', re.S)
_C_ONLY = (
    '<span aria-hidden="true" class="icon">⊘</span> <span aria-hidden="true" translate="no">C'
    '</span><span class="visually-hidden">Confidential'
)


def _release(scene: Scene) -> Release:
    """Armenia's release of its workers dataset for 2024, stored once per scene."""
    if "console_release" not in scene.extra:
        scene.extra["console_release"] = stored_release(scene.node, scene.root, OWN_DATASET, 2024)
    release: Release = scene.extra["console_release"]
    return release


def statistics_show_only_what_is_published(scene: Scene, path: str) -> None:
    """G12 on the pages: a blank shows the confidential code and nothing else (no value, no
    primary or secondary code), and each cell of the release page is the published one."""
    release = _release(scene)
    browser = _signed_in(scene)
    url = STATISTICS if "{period}" in path else "/ui/statistics"
    page = browser.get(url)
    assert page.status_code == 200, page.text
    blanks = _BLANK.findall(page.text)
    assert {b.strip() for b in blanks} <= {_C_ONLY}, set(blanks)
    total = release.value(release.grand_total_key)
    if url != STATISTICS:  # the list: each version's total as published
        assert (f"{total:,}" in page.text) if total is not None else blanks
    else:
        assert blanks, "no blank is shown"
        cells = {k: (status, shown) for k, status, shown in _CELL.findall(page.text)}
        for observation in release.observations:
            status, shown = cells[".".join(observation.key)]
            assert status == str(observation.status.published), observation
            assert (observation.value is None) == (re.search(r"\d", shown) is None), shown


def statistics_send_is_audited(scene: Scene, path: str) -> None:
    """G5: a version sent from the console is the release's decision leaf naming the officer
    and the recipient, with the gate's leaf for the message, as `migrex stats send`."""
    _release(scene)
    browser = _signed_in(scene)
    before = scene.counts()["audit_leaves"]
    response = browser.post(STATISTICS + "/send", htmx=True,
                            form={"recipient": "kz-mlsp", "version": "1"})  # fmt: skip
    assert response.status_code == 200, response.text
    with scene.node.unit_of_work() as uow:
        data = uow.session.scalars(select(AuditLeafRow.data).order_by(AuditLeafRow.position)
                                   .offset(before)).all()  # fmt: skip
    references = [json.loads(d).get("reference") or "" for d in data]
    assert any(r.endswith(f"release-{OWN_DATASET}-2024-v1:sent-to:kz-mlsp") for r in references)
    assert len(data) >= 2, references


def statistics_sent_is_published(scene: Scene, path: str) -> None:
    """G12 on what leaves: the message the console's send queues carries the release as
    SDMX-CSV in which every blank is "C" without a value, every other cell its count (the
    interval attack on what `stats send` carries is the commands matrix's)."""
    release = _release(scene)
    browser = _signed_in(scene)
    response = browser.post(STATISTICS + "/send", htmx=True,
                            form={"recipient": "kz-mlsp", "version": "1"})  # fmt: skip
    assert response.status_code == 200, response.text
    with scene.node.unit_of_work() as uow:
        body = uow.session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.type == "statistical-information")
            .order_by(OutboxMessage.id.desc()).limit(1)
        ).one()  # fmt: skip
    [attachment] = [Attachment.model_validate(a) for a in json.loads(body)["attachments"]
                    if a["media_type"] == SDMX_CSV]  # fmt: skip
    lines = list(csv.DictReader(io.StringIO(attachment.data().decode("utf-8"))))
    assert len(lines) == len(release.observations)
    assert {line["CONF_STATUS"] for line in lines} <= {"F", "C"}
    assert all((line["CONF_STATUS"] == "C") == (line["OBS_VALUE"] == "") for line in lines)


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


_na = NotApplicable
CONSOLE: Row = {
    Guarantee.G1: _na("a console route sends nothing itself; what a use case sends passes "
                      "the outgoing gate, checked per message kind (G1)"),
    Guarantee.G2: _na("no field leaves on this route; the kinds matrix checks what leaves (G2)"),
    Guarantee.G3: _na("no message leaves on this route (G3 is checked per message kind)"),
    Guarantee.G4: _na("shows no person's data: the officer's own roles and forms only"),
    Guarantee.G5: _na("shows no person's data and decides nothing; sessions are the "
                      "officers' own records"),
    Guarantee.G6: _na("no request is opened here, so no volume is counted (G6)"),
    Guarantee.G7: _na("keeps no copy of a record: pages are sent with Cache-Control no-store"),
    Guarantee.G8: Check(no_planted_person_in_answers),
    Guarantee.G9: _na("no message is queued or delivered on this route (G9)"),
    Guarantee.G10: _na("takes no form: only identifiers in the path and typed parameters"),
    Guarantee.G11: Check(refused_without_session),
    Guarantee.G12: _na("no statistics release is made, changed or shown on this route"),
}  # fmt: skip
LEDGERED = Check(showing_is_recorded, (True,))
AUDITED = Check(showing_is_recorded, (False,))
BAD_FORM = Check(bad_form_changes_nothing)
STEP = _na(
    "shows nothing; the step it takes is audited by the use case the API's route "
    "calls, checked per message kind (G5)"
)
PUBLIC = _na("public: the sign-in page, the language choice and the console's own files "
             "show no record and change none")  # fmt: skip

CONSOLE_ROWS: dict[str, Row] = {
    "GET /ui/leads": row(
        CONSOLE, G4=_na("lists leads by rank, size, score and state: no member is shown")
    ),
    "GET /ui/leads/{lead_id}": row(
        CONSOLE,
        G4=Check(console_card_is_recorded, (True,)),
        G5=Check(console_card_is_recorded, (False,)),
    ),
    "POST /ui/leads/{lead_id}/dismiss": row(
        CONSOLE, G5=Check(console_decision_is_audited), G10=BAD_FORM
    ),
    "POST /ui/leads/{lead_id}/open": row(
        CONSOLE,
        G1=_na(
            "the request leaves through casework.service.open_case and its outgoing gate "
            "(G1 per message kind; tests/integration/channels)"
        ),
        G2=_na(
            "the pre-filled request names the lead's violators by document only and asks the "
            "purpose's profile fields only (tests/integration/channels)"
        ),
        G4=_na(
            "shows nothing; what leaves is ledgered by the outgoing gate, checked per "
            "message kind (G4)"
        ),
        G5=Check(console_decision_is_audited),
        G6=_na("the use case counts the request's persons against the limits (G6 per kind)"),
        G10=BAD_FORM,
    ),
    "GET /ui/linkage": row(
        CONSOLE, G4=_na("lists pair ids, bands and states: no record of the register is shown")
    ),
    "GET /ui/linkage/{candidate_id}": row(
        CONSOLE,
        G4=Check(console_candidate_is_recorded, (True,)),
        G5=Check(console_candidate_is_recorded, (False,)),
    ),
    "POST /ui/linkage/{candidate_id}/dismiss": row(
        CONSOLE, G5=Check(candidate_decision_is_audited), G10=BAD_FORM
    ),
    "POST /ui/linkage/{candidate_id}/verify": row(
        CONSOLE,
        G1=_na(
            "the request leaves through casework.service.open_case and its outgoing gate "
            "(G1 per message kind; tests/integration/linkage)"
        ),
        G2=_na(
            "the pre-filled request names the person by Latin names and birth date only and "
            "asks the citizenship status (tests/integration/linkage)"
        ),
        G4=_na(
            "shows nothing; what leaves is ledgered by the outgoing gate, checked per "
            "message kind (G4)"
        ),
        G5=Check(candidate_decision_is_audited),
        G6=_na("the use case counts the request's person against the limits (G6 per kind)"),
        G10=BAD_FORM,
    ),
    "GET /ui/linkage/runs": row(
        CONSOLE,
        G4=_na(
            "lists runs by id, state, purpose, period, field names and candidates' counts: "
            "a proposal names no person"
        ),
    ),
    "POST /ui/linkage/runs": row(
        CONSOLE,
        G1=_na(
            "the proposal leaves through casework.service.open_request and its outgoing "
            "gate (G1 per message kind; tests/integration/linkage)"
        ),
        G5=Check(console_run_step_is_audited),
        G6=_na(
            "a proposal names fields and parameters, never a person: nothing counts "
            "against the limits (its category holds no personal data)"
        ),
        G10=BAD_FORM,
    ),
    "POST /ui/linkage/runs/{case_id}/accept": row(
        CONSOLE,
        G1=_na("the acceptance leaves through casework's outgoing gate (G1 per message kind)"),
        G5=Check(console_run_step_is_audited),
        G10=BAD_FORM,
    ),
    "POST /ui/linkage/runs/{case_id}/refuse": row(
        CONSOLE,
        G1=_na("the refusal leaves through casework's outgoing gate (G1 per message kind)"),
        G5=Check(console_run_step_is_audited),
        G10=BAD_FORM,
    ),
    "POST /ui/linkage/runs/{case_id}/send": row(
        CONSOLE,
        G1=_na(
            "the encodings go to the unit the run's agreement names only "
            "(`linkage.party.unit_name`), over mutual TLS; tests/integration/linkage"
        ),
        G2=_na(
            "the encodings hold only the run's agreed fields, keyed and hardened: no field "
            "leaves in clear (tests/integration/linkage)"
        ),
        G3=_na("sends the encodings of our own citizens' register, never data a partner sent"),
        G5=_na(
            "the step's audit entry (counts only) is written by the use case of `migrex "
            "linkage send`, checked against a real unit in "
            "tests/integration/ui/test_ui_linkage_runs.py"
        ),
        G6=_na(
            "encodings are no message of a category: the agreement's volume limits do not "
            "apply to a run"
        ),
        G7=_na(
            "our copy of the encodings is deleted once the unit holds it whole, a stale "
            "one by the linkage job (`party.forget_stale_transfers`; tests/integration/"
            "linkage)"
        ),
        G9=_na(
            "sending again carries on where the unit stands (tests/integration/linkage/"
            "test_linkage_transfer_killed.py)"
        ),
        G10=BAD_FORM,
    ),
    "POST /ui/linkage/runs/{case_id}/collect": row(
        CONSOLE,
        G4=_na(
            "files the candidates and shows their counts only; a candidate's record is "
            "shown on its own recorded page"
        ),
        G5=_na(
            "the step's audit entry (counts only) is written by the use case of `migrex "
            "linkage collect`, checked against a real unit in "
            "tests/integration/ui/test_ui_linkage_runs.py"
        ),
        G7=_na(
            "the candidates it files are kept and forgotten as the queue's are (the "
            "linkage job; `migrex linkage candidates` row, G7)"
        ),
        G10=BAD_FORM,
    ),
    "GET /": row(CONSOLE, G11=PUBLIC),
    "GET /ui/": row(CONSOLE),
    "GET /ui/language/{code}": row(CONSOLE, G11=PUBLIC),
    "GET /ui/sign-in": row(CONSOLE, G11=PUBLIC),
    "GET /ui/static/{name}": row(CONSOLE, G11=PUBLIC),
    "POST /ui/sign-in": row(
        CONSOLE,
        G10=Check(bad_form_changes_nothing),
        G11=Check(wrong_password_is_refused),
    ),
    "GET /ui/queues/{queue}": row(
        CONSOLE,
        G4=_na("lists cases by number, partner, state and deadline: no person's data"),
    ),
    "POST /ui/cases/{case_id}/claim": row(CONSOLE, G5=Check(claim_is_audited)),
    "POST /ui/cases/{case_id}/release": row(CONSOLE, G5=Check(claim_is_audited)),
    "POST /ui/queues/bulk": row(CONSOLE, G10=Check(bad_form_changes_nothing)),
    "GET /ui/cases/{case_id}": row(
        CONSOLE,
        G4=_na(
            "the case's facts, flags and timeline: the messages are shown on their own "
            "recorded route"
        ),
    ),
    "GET /ui/cases/{case_id}/messages": row(CONSOLE, G4=LEDGERED, G5=AUDITED),
    "GET /ui/cases/{case_id}/draft": row(CONSOLE, G4=LEDGERED, G5=AUDITED),
    "POST /ui/cases/{case_id}/draft": row(CONSOLE, G4=LEDGERED, G5=AUDITED),
    "POST /ui/cases/{case_id}/draft/narrow": row(CONSOLE, G4=LEDGERED, G5=AUDITED, G10=BAD_FORM),
    "POST /ui/cases/{case_id}/draft/refusal": row(CONSOLE, G10=BAD_FORM),
    "POST /ui/cases/{case_id}/draft/submit": row(CONSOLE),
    "POST /ui/cases/{case_id}/draft/approve": row(CONSOLE, G10=BAD_FORM),
    "POST /ui/cases/{case_id}/clarification": row(CONSOLE, G10=BAD_FORM),
    "POST /ui/cases/{case_id}/review": row(CONSOLE),
    "POST /ui/cases/{case_id}/withdraw": row(CONSOLE, G5=STEP, G10=BAD_FORM),
    "POST /ui/cases/{case_id}/clarification-answer": row(CONSOLE, G5=STEP, G10=BAD_FORM),
    "POST /ui/cases/{case_id}/findings": row(CONSOLE, G5=STEP, G10=BAD_FORM),
    "POST /ui/cases/{case_id}/outcome": row(CONSOLE, G5=STEP, G10=BAD_FORM),
    "POST /ui/cases/{case_id}/outcome/cosign": row(CONSOLE, G5=STEP),
    "GET /ui/requests/new": row(CONSOLE),
    "POST /ui/requests/screen": row(
        CONSOLE,
        G4=_na(
            "shows what screening found (kinds of breach and flag, counts, the agreement's "
            "terms), never the person typed into the form"
        ),
        G10=BAD_FORM,
    ),
    "POST /ui/requests": row(
        CONSOLE,
        G4=_na(
            "shows nothing; what leaves is ledgered by the outgoing gate of the use case the "
            "API's route calls, checked per message kind (G4)"
        ),
        G5=_na(
            "shows nothing; the request it sends is audited by the use case, checked per "
            "message kind (G5)"
        ),
        G6=_na(
            "the use case counts the request's persons against the limits, as on the API's "
            "route, checked per message kind (G6)"
        ),
        G10=BAD_FORM,
    ),
    "GET /ui/search": row(
        CONSOLE,
        G4=_na("finds cases by number, message id and state, and lists no person's data"),
    ),
    "POST /ui/search/persons": row(
        CONSOLE,
        G4=Check(person_search_is_recorded, (True,)),
        G5=Check(person_search_is_recorded, (False,)),
        G10=BAD_FORM,
    ),
    "GET /ui/audit": row(CONSOLE),
    "POST /ui/audit/verify": row(CONSOLE),
    "POST /ui/audit/prove": row(CONSOLE, G10=BAD_FORM),
    "GET /ui/ledger": row(
        CONSOLE,
        G4=_na(
            "lists disclosures by message, partner, purpose and field names, with a count "
            "of persons: never a person's data"
        ),
    ),
    "GET /ui/limits": row(
        CONSOLE, G4=_na("counts persons per partner state and period: no person's data")
    ),
    "GET /ui/subject-report": row(CONSOLE),
    "POST /ui/subject-report": row(
        CONSOLE,
        G4=_na(
            "lists what the ledger holds about the person (partners, purposes, field "
            "names), never the person's data; the read is audited (G5)"
        ),
        G5=Check(subject_report_is_audited),
        G10=BAD_FORM,
    ),
    "GET /ui/retention": row(
        CONSOLE, G4=_na("lists records by message id, agreement and dates: no person's data")
    ),
    "POST /ui/retention/run": row(
        CONSOLE,
        G5=Check(erasure_is_audited),
        G7=_na(
            "runs the retention use case of `migrex retention run`, whose erasure of "
            "every copy is checked in tests/integration/retention"
        ),
    ),
    "GET /ui/officers": row(CONSOLE, G4=_na("lists officers, not data subjects")),
    "POST /ui/officers/{username}/disable": row(CONSOLE, G5=Check(administration_is_audited)),
    "POST /ui/officers/{username}/password": row(
        CONSOLE, G5=Check(administration_is_audited), G10=BAD_FORM
    ),
    "POST /ui/tokens/{token_id}/revoke": row(CONSOLE, G5=Check(administration_is_audited)),
    "POST /ui/officers": row(CONSOLE, G5=Check(administration_is_audited), G10=BAD_FORM),
    "POST /ui/officers/{username}/tokens": row(
        CONSOLE, G5=Check(administration_is_audited), G10=BAD_FORM
    ),
    "GET /ui/node": row(
        CONSOLE,
        G4=_na(
            "counts per status and envelopes' facts (ids, authorities, types, states), never a body"
        ),
    ),
    "POST /ui/outbox/{message_id}/retry": row(
        CONSOLE,
        G5=Check(administration_is_audited),
        G9=_na(
            "a supervisor's way to put a parked message back in line, the use case of the "
            "API's retry, whose delivery is checked in tests/integration/exchange"
        ),
    ),
    "POST /ui/outbox/{message_id}/reissue": row(
        CONSOLE,
        G5=Check(administration_is_audited),
        G9=_na(
            "the operator's way to move a held-up message on, the use case of `migrex "
            "outbox reissue`, whose delivery is checked in tests/integration/exchange"
        ),
    ),
    "POST /ui/outbox/{message_id}/discard": row(
        CONSOLE,
        G5=Check(administration_is_audited),
        G9=_na(
            "the operator's way to clear a held-up message, the use case of `migrex "
            "outbox discard`, whose effect on the case is checked in tests/integration/"
            "exchange"
        ),
        G10=BAD_FORM,
    ),
    "GET /ui/statistics": row(
        CONSOLE,
        G4=_na("lists statistics releases and their totals: aggregates, never a person"),
        G12=Check(statistics_show_only_what_is_published),
    ),
    "GET /ui/statistics/{agreement_id}/{dataset_id}/{period}": row(
        CONSOLE,
        G4=_na("shows a release's aggregate counts, never a person's data"),
        G12=Check(statistics_show_only_what_is_published),
    ),
    "POST /ui/statistics/{agreement_id}/{dataset_id}/{period}/send": row(
        CONSOLE,
        G4=_na("a statistics release holds counts, never a person's data"),
        G5=Check(statistics_send_is_audited),
        G6=_na("a statistics release names no person: nothing counts against the limits"),
        G9=_na(
            "only queues, through the use case of `migrex stats send`; delivery is the "
            "relay job's (jobs matrix, G9)"
        ),
        G10=BAD_FORM,
        G12=Check(statistics_sent_is_published),
    ),
    "POST /ui/sign-out": row(CONSOLE),
    "POST /ui/session/extend": row(CONSOLE),
}
