"""The auditor's page in the console: the log's state as `migrex audit show` gives it, a
verification that finds what was tampered with, and a message's proof that checks against
the checkpoint's root — for the auditor only."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from casework_scenes import incoming_in_review, officers_app
from console_client import Browser, add_console_officer
from migrex.audit import log as audit_log
from migrex.audit.merkle import leaf_hash
from migrex.audit.tables import AuditLeafRow
from migrex.casework.tables import CaseMessageRow
from migrex.officers.model import Role
from nodes import Pair


@pytest.fixture
def app(pair: Pair) -> Iterator[FastAPI]:
    add_console_officer(pair.am, "audra", [(Role.AUDITOR, "am-mcs")])
    add_console_officer(pair.am, "anna", [(Role.REVIEWER, "am-mcs")])
    yield officers_app(pair.am)


def _auditor(app: FastAPI) -> Browser:
    browser = Browser(app)
    assert browser.sign_in("audra").status_code == 303
    return browser


def test_the_page_shows_the_logs_state(app: FastAPI, pair: Pair) -> None:
    incoming_in_review(pair)
    auditor = _auditor(app)  # signing in is logged too
    with pair.am.unit_of_work() as uow:
        size = audit_log.tree_size(uow.session)
        root = base64.b64encode(audit_log.current_root(uow.session)).decode()
    page = auditor.get("/ui/audit", headers={"Accept-Language": "ru"})
    assert page.status_code == 200
    assert f"<dd>{size}</dd>" in page.text and root in page.text
    assert "Журнал аудита" in page.text and 'hx-post="/ui/audit/verify"' in page.text


def test_verify_says_intact_then_finds_a_tampered_entry(app: FastAPI, pair: Pair) -> None:
    incoming_in_review(pair)
    auditor = _auditor(app)
    intact = auditor.post("/ui/audit/verify", htmx=True)
    assert intact.status_code == 200 and 'data-ok="true"' in intact.text
    with pair.am.unit_of_work() as uow:
        first = uow.session.scalars(select(AuditLeafRow).order_by(AuditLeafRow.position)).first()
        assert first is not None
        uow.session.execute(update(AuditLeafRow).where(AuditLeafRow.position == first.position)
                            .values(data=bytes(first.data) + b" "))  # fmt: skip
        uow.commit()
    broken = auditor.post("/ui/audit/verify", htmx=True)
    assert broken.status_code == 200 and 'data-ok="false"' in broken.text
    assert 'data-ok="true"' not in broken.text and "<td>0</td>" in broken.text


def test_a_messages_proof_checks_against_the_checkpoint(app: FastAPI, pair: Pair) -> None:
    case_id = incoming_in_review(pair)
    with pair.am.unit_of_work() as uow:
        message_id = uow.session.scalar(
            select(CaseMessageRow.message_id).where(CaseMessageRow.case_id == case_id)
        )  # fmt: skip
    shown = _auditor(app).post("/ui/audit/prove", form={"message_id": message_id}, htmx=True)
    assert shown.status_code == 200, shown.text
    found = re.search(r"<pre translate=\"no\">(.*?)</pre>", shown.text, re.S)
    assert found is not None
    proof = json.loads(html.unescape(found.group(1)))
    assert proof["message_id"] == message_id and proof["entries"]
    root = base64.b64decode(proof["root_hash"])
    for entry in proof["entries"]:
        data = entry["leaf_data"].encode()
        assert base64.b64decode(entry["leaf_hash"]) == leaf_hash(data)
        assert message_id in entry["leaf_data"]
        path = [base64.b64decode(n) for n in entry["inclusion_proof"]]
        assert _root_from(entry["leaf_index"], proof["tree_size"], leaf_hash(data), path) == root


def _root_from(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.3.2, written out here so the test does not trust the node's own."""
    fn, sn, node = index, size - 1, leaf
    for sibling in path:
        assert sn != 0
        if fn & 1 or fn == sn:
            node = hashlib.sha256(b"\x01" + sibling + node).digest()
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = hashlib.sha256(b"\x01" + node + sibling).digest()
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0
    return node


def test_a_bad_or_unknown_message_id_is_refused_and_changes_nothing(
    app: FastAPI, pair: Pair
) -> None:
    auditor = _auditor(app)
    with pair.am.unit_of_work() as uow:
        before = audit_log.tree_size(uow.session)
    bad = auditor.post("/ui/audit/prove", form={"message_id": "<script>"}, htmx=True)
    assert bad.status_code == 422 and "<script>" not in bad.text
    nobody = "01a24a68-0000-7000-8000-000000000000"
    unknown = auditor.post("/ui/audit/prove", form={"message_id": nobody}, htmx=True)
    assert unknown.status_code == 404
    with pair.am.unit_of_work() as uow:
        assert audit_log.tree_size(uow.session) == before


def test_only_who_may_see_the_log_gets_the_page(app: FastAPI) -> None:
    reviewer = Browser(app)
    reviewer.sign_in("anna")
    assert 'href="/ui/audit"' not in reviewer.get("/ui/").text
    assert reviewer.get("/ui/audit").status_code == 403
    assert reviewer.post("/ui/audit/verify", htmx=True).status_code == 403
    assert 'href="/ui/audit"' in _auditor(app).get("/ui/").text
