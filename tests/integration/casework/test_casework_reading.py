"""Reading a case in full: the reader sees the bodies, and every read of personal data is in
the disclosure ledger and the audit log under the reader's name."""

from __future__ import annotations

from sqlalchemy import select

from casework_steps import context, deliver, now
from migrex.audit import subject_hash
from migrex.audit.leaves import AuditLeaf, LeafKind
from migrex.audit.log import leaf_data, position_of_message
from migrex.casework.reading import read_case_messages
from migrex.casework.service import OpenRequest, open_request
from migrex.ledger.service import subject_report
from migrex.ledger.subjects import document_identifier
from migrex.ledger.tables import DisclosureRow
from nodes import Pair

INQUIRY = {
    "purpose": "legal-status-of-stay",
    "legal_basis": "Law of the Republic of Armenia on Foreigners, Article 12, part 3",
    "persons": [{"citizenship": "ARM", "document_number": "AM1234567"}],
    "requested_fields": ["surname_latin", "permit_type"],
}


def test_a_read_is_ledgered_and_logged(pair: Pair) -> None:
    with pair.am.unit_of_work() as uow:
        opened = open_request(
            uow, context(pair.am),
            OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", INQUIRY, "officer:a"),
            now(),
        )  # fmt: skip
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    ctx = context(pair.kz)
    with pair.kz.unit_of_work() as uow:
        [view] = read_case_messages(uow, ctx, opened.case_id, reader="officer:bolat", now=now())
    assert view.body is not None and view.body["persons"][0]["document_number"] == "AM1234567"
    with pair.kz.unit_of_work() as uow:
        entries = subject_report(uow.session, ctx.subject_key, [document_identifier("AM1234567")])
        reads = uow.session.scalars(
            select(DisclosureRow).where(DisclosureRow.direction == "read")
        ).all()
        logged = [AuditLeaf.decode(leaf_data(uow.session, p))
                  for p in position_of_message(uow.session, view.message_id)]  # fmt: skip
    assert [(e.direction, e.actor) for e in entries] == [
        ("received", "partner:am-mcs"), ("read", "officer:bolat"),
    ]  # fmt: skip
    assert len(reads) == 1
    read = next(leaf for leaf in logged if leaf.kind is LeafKind.PERSONAL_DATA_READ)
    assert read.actor == "officer:bolat" and read.authority == "kz-mia"
    assert read.subject_hash == subject_hash(ctx.subject_key, document_identifier("AM1234567"))
    assert [leaf.kind for leaf in logged][:1] == [LeafKind.MESSAGE_RECEIVED]
