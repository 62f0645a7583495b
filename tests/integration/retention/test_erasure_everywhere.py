"""After retention, a received person is readable nowhere in the node, with any key it holds.

A person is planted in what Kazakhstan's node receives from Armenia: a violation notice, a reply
carrying their data, and a refusal that cannot be filed (quarantined) quoting their name. Before
the period ends each copy opens; after `run_retention` the scan reads every column of every
table, the SQLite database file with its WAL, and the captured logs, and tries every key the
node holds on every sealed text and every JWE it stores: the person's name and document number
appear nowhere. The same scan run on the sender's database finds the person, so it can fail.
"""

from __future__ import annotations

import itertools
import secrets
import string
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from joserfc import jwe
from sqlalchemy import MetaData, select
from sqlalchemy.engine import make_url

from casework_steps import context, deliver, now, partner_sends
from migrex.casework.bodies import body_text
from migrex.casework.service import OpenRequest, open_request
from migrex.casework.tables import CaseMessageRow
from migrex.exchange.tables import InboxMessage
from migrex.identity import FileKeyStore, KeyUse
from migrex.node import Node
from migrex.retention.run import run_retention
from migrex.retention.sealing import SealBroken, is_sealed, open_text, unwrap_key
from migrex.retention.tables import RetentionKeyRow
from nodes import Pair

COPY_NAMES = ("inbox-body", "signed-message", "case-body")


def _planted() -> tuple[str, str]:
    letters = "".join(secrets.choice(string.ascii_uppercase) for _ in range(10))
    return f"QX{letters}", f"KZ{secrets.randbelow(10**7):07d}"


def _notice(surname: str, document: str) -> dict[str, object]:
    return {
        "purpose": "suppress-illegal-migration-channels",
        "legal_basis": "Code of the Republic of Armenia on Administrative Offences, Article 201",
        "person": {"surname_latin": surname, "given_name_latin": "ASKAR",
                   "citizenship": "KAZ", "document_number": document},
        "violations": [{"violation_type": "overstay", "detected_on": "2025-10-01",
                        "region": "AM-ER", "legal_article": "Article 201",
                        "decision": "fine"}],
    }  # fmt: skip


def _values(node: Node) -> Iterator[tuple[str, str, object]]:
    """Every value of every column of every table of the node's database."""
    metadata = MetaData()
    metadata.reflect(node.engine)
    with node.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for column, value in zip(table.columns, row, strict=True):
                    yield table.name, column.name, value


def _as_text(value: object) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("latin-1")
    return str(value)


def _keys_the_node_holds(node: Node, records: list[str]) -> list[bytes]:
    """Its retention key, and every data key it can still unwrap with it."""
    retention = context(node).retention_key
    keys = [retention]
    with node.unit_of_work() as uow:
        for row in uow.session.scalars(select(RetentionKeyRow)):
            if row.wrapped_key is not None:
                keys.append(unwrap_key(retention, row.wrapped_key, row.record))
    return keys


def _decryption_keys(node: Node) -> list[object]:
    store = FileKeyStore(node.settings.resolved_key_dir)
    return [k.key for authority in node.settings.authorities
            for k in store.all_keys(authority) if k.use is KeyUse.ENCRYPTION]  # fmt: skip


def _readable(node: Node, secrets_: tuple[str, ...]) -> list[str]:
    """Where any of `secrets_` can be read in the node, with every key it holds."""
    found = []
    values = list(_values(node))
    records = sorted({_as_text(v) for t, c, v in values if t == "retention_key" and c == "record"})
    keys = _keys_the_node_holds(node, records)
    decryption = _decryption_keys(node)
    for table, column, value in values:
        if value is None:
            continue
        text = _as_text(value)
        if any(s in text for s in secrets_):
            found.append(f"{table}.{column} in clear")
        if is_sealed(text):
            for key, record, name in itertools.product(keys, records, COPY_NAMES):
                try:
                    opened = open_text(key, text, f"{record}/{name}")
                except (SealBroken, ValueError):
                    continue
                if any(s in opened for s in secrets_):
                    found.append(f"{table}.{column} opened with a key the node holds")
        if text.count(".") == 4 and text.startswith("ey"):
            for key in decryption:
                try:
                    plain = jwe.decrypt_compact(text, key).plaintext or b""
                except Exception:  # noqa: S112 - any failure to open is the point
                    continue
                if any(s.encode() in plain for s in secrets_):
                    found.append(f"{table}.{column} decrypts with the node's own key")
    return found


def _files(node: Node) -> list[Path]:
    url = make_url(node.settings.resolved_database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return []
    base = Path(url.database)
    return [p for p in (base, Path(f"{base}-wal"), Path(f"{base}-shm")) if p.exists()]


def _in_files(node: Node, secrets_: tuple[str, ...]) -> list[str]:
    return [f"{path.name} holds it" for path in _files(node)
            for s in secrets_ if s.encode() in path.read_bytes()]  # fmt: skip


def test_after_retention_a_received_person_is_readable_nowhere(
    pair: Pair, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    surname, document = _planted()
    planted = (surname, document)
    # 1. A violation notice from Armenia about the person.
    with pair.am.unit_of_work() as uow:
        notice = open_request(uow, context(pair.am), OpenRequest(
            "kz-am-2024", "am-police", "kz-mia", "violation-notice", _notice(surname, document),
            "officer:anna",
        ), now())  # fmt: skip
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    # 2. Kazakhstan asks about someone; Armenia's reply carries the planted person's data.
    with pair.kz.unit_of_work() as uow:
        inquiry = open_request(uow, context(pair.kz), OpenRequest(
            "kz-am-2024", "kz-mia", "am-mcs", "person-inquiry", {
                "purpose": "legal-status-of-stay",
                "legal_basis": "Law of the Republic of Kazakhstan on Migration, Article 12",
                "persons": [{"document_number": "AM7654321", "citizenship": "ARM"}],
                "requested_fields": ["surname_latin", "document_number"],
                "step": "full",
            }, "officer:bolat",
        ), now())  # fmt: skip
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    partner_sends(pair, inquiry.case_id, "person-inquiry-reply", {
        "step": "full",
        "results": [{"person": 0, "hit": True,
                     "fields": {"surname_latin": surname, "document_number": document}}],
    })  # fmt: skip
    # 3. A refusal Kazakhstan cannot file (no such ground), quoting the person: quarantined.
    partner_sends(pair, inquiry.case_id, "refusal", {
        "grounds": [{"ground": "no-such-ground", "article": "Article 99"}],
        "explanation": f"We will not discuss {surname} ({document})",
    })  # fmt: skip

    with pair.kz.unit_of_work() as uow:
        statuses = dict(uow.session.execute(select(InboxMessage.type, InboxMessage.status)).all())
        copies = uow.session.scalars(
            select(CaseMessageRow).where(CaseMessageRow.direction == "received")
        ).all()
        readable = [body_text(uow, context(pair.kz), row) for row in copies]
    assert statuses["refusal"] == "quarantined"
    assert statuses["violation-notice"] == statuses["person-inquiry-reply"] == "filed"
    assert sum(surname in text for text in readable) == 2  # the notice and the reply open
    before = _readable(pair.kz, planted)
    # While it may be kept it opens with the node's keys, and is never stored in clear.
    assert before and not [where for where in before if "in clear" in where]
    assert _in_files(pair.kz, planted) == []

    with pair.kz.unit_of_work() as uow:
        erased = run_retention(uow, now() + timedelta(days=366))
    assert len(erased) == 3

    assert _readable(pair.kz, planted) == []
    assert _in_files(pair.kz, planted) == []
    logged = capsys.readouterr()
    assert not [s for s in planted if s in logged.out + logged.err + caplog.text]
    # The scan is not blind: the sender's own copy of its notice is right there.
    assert notice.case_id and _readable(pair.am, planted)
