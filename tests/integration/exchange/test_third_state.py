"""A third state in-process: KZ serves kz-am-2024 with AM and kz-kg-example with KG, so
messages under the second agreement, and parties of one agreement posting under the other,
are tried against real trust, directories and receivers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from casework_scenes import INQUIRY, PERSON
from migrex.casework.service import OpenRequest, file_inbox, node_context, open_request
from migrex.casework.tables import CaseRow
from migrex.envelope import verify_receipt
from migrex.errors import MigrexError
from migrex.exchange.service import SendMessage, send_message
from migrex.exchange.tables import InboxMessage, OutboxMessage, Receipt
from migrex.node import Node
from migrex.retention.sealing import is_sealed
from migrex.retention.service import INBOX_BODY, open_record
from migrex.uow import UnitOfWork
from nodes import World


def inbox(world: World, state: str) -> list[tuple[str, str, str]]:
    with world.nodes[state].unit_of_work() as uow:
        rows = uow.session.execute(
            select(InboxMessage.message_id, InboxMessage.agreement_id, InboxMessage.sender)
        )
        return [(m, a, s) for m, a, s in rows]


def test_kz_sends_to_kg_under_the_kz_kg_agreement(world: World) -> None:
    with world.kz.unit_of_work() as uow:
        message_id = send_message(
            uow,
            SendMessage("kz-kg-example", "kz-mia", "kg-mvd", "legal-information",
                        {"subject": "Amendments to the law on foreigners"}, category="legal"),
            agreements=world.kz.agreements, hosted=world.kz.settings.authorities,
            now=datetime.now(UTC),
        )  # fmt: skip
    assert world.relay("KZ") == {"KG"}
    assert inbox(world, "KG") == [(message_id, "kz-kg-example", "kz-mia")]
    assert inbox(world, "AM") == []
    with world.kz.unit_of_work() as uow:
        outbox = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.message_id == message_id)
        ).one()
        receipt = uow.session.scalars(select(Receipt).where(Receipt.message_id == message_id)).one()
        assert (outbox.status, receipt.receiver) == ("delivered", "kg-mvd")
        verified = verify_receipt(
            receipt.token,
            resolve_signing_key=world.trusts["KZ"].resolve_signing_key,
            expected_envelope_sha256=outbox.envelope_sha256 or "",
            expected_receiver="kg-mvd",
        )
    assert verified.message_id == message_id


@pytest.mark.parametrize(
    ("state", "sender", "agreement"),
    [("AM", "am-mcs", "kz-am-2024"), ("KG", "kg-mvd", "kz-kg-example")],
)
def test_a_party_posting_under_its_own_agreement_is_accepted(
    world: World, state: str, sender: str, agreement: str
) -> None:
    """The control for the test below: the same envelope, naming the sender's agreement."""
    token = world.envelope(state, sender, "kz-mia", agreement)
    [outcome] = world.receive("KZ", [token])
    assert outcome["status"] == "accepted", outcome
    assert [a for _, a, _ in inbox(world, "KZ")] == [agreement]


@pytest.mark.parametrize(
    ("state", "sender", "agreement", "own"),
    [
        ("AM", "am-mcs", "kz-kg-example", "kz-am-2024"),
        ("KG", "kg-mvd", "kz-am-2024", "kz-kg-example"),
    ],
)
def test_a_party_of_one_agreement_cannot_post_under_another(
    world: World, state: str, sender: str, agreement: str, own: str
) -> None:
    token = world.envelope(state, sender, "kz-mia", agreement, sealed_under=own)
    [outcome] = world.receive("KZ", [token])
    assert outcome["status"] == "rejected", outcome
    assert inbox(world, "KZ") == []


INQUIRY_UNDER_KZ_KG: dict[str, Any] = {
    "purpose": "labour-migration-control",
    "legal_basis": "Law of the Kyrgyz Republic on External Labour Migration, Article 8",
    "persons": [PERSON],
    "requested_fields": ["surname_latin", "permit_type"],
}


def _file(node: Node) -> None:
    with node.unit_of_work() as uow:
        file_inbox(uow, node_context(node), datetime.now(UTC))


def test_a_cross_agreement_inquiry_neither_opens_a_case_nor_stops_filing(world: World) -> None:
    """am-mcs posts a person inquiry naming kz-kg-example. Today KZ accepts it at the door and
    the filing round then raises on it ("no authority 'am-mcs'") every time, so no message
    after it is ever filed."""
    forged = world.envelope("AM", "am-mcs", "kz-mlsp", "kz-kg-example", sealed_under="kz-am-2024",
                            type_="person-inquiry", body=INQUIRY_UNDER_KZ_KG,
                            case_id="forged-case")  # fmt: skip
    honest = world.envelope("KG", "kg-migration", "kz-mlsp", "kz-kg-example",
                            type_="person-inquiry", body=INQUIRY_UNDER_KZ_KG,
                            case_id="honest-case")  # fmt: skip
    world.receive("KZ", [forged, honest])
    _file(world.kz)
    with world.kz.unit_of_work() as uow:
        assert uow.session.get(CaseRow, "forged-case") is None
        assert uow.session.get(CaseRow, "honest-case") is not None


def test_a_person_received_from_armenia_does_not_reach_kyrgyzstan(world: World) -> None:
    """Armenia asks Kazakhstan about a person; a Kazakh officer then asks Kyrgyzstan about the
    same person under kz-kg-example. Whatever refuses it (the use case or the outgoing gate),
    nothing about the person may arrive at KG."""
    with world.am.unit_of_work() as uow:
        open_request(uow, node_context(world.am), OpenRequest(
            "kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", INQUIRY, "officer:anna",
        ), datetime.now(UTC))  # fmt: skip
    assert world.relay("AM") == {"KZ"}
    _file(world.kz)
    try:
        with world.kz.unit_of_work() as uow:
            open_request(uow, node_context(world.kz), OpenRequest(
                "kz-kg-example", "kz-mlsp", "kg-migration", "person-inquiry",
                INQUIRY_UNDER_KZ_KG, "officer:bolat",
            ), datetime.now(UTC))  # fmt: skip
    except MigrexError:
        pass  # refused at the use case: fine, as long as nothing leaves below
    world.relay("KZ")
    with world.kg.unit_of_work() as uow:
        bodies = inbox_texts(uow, world.kg)
    assert not [body for body in bodies if PERSON["document_number"] in body]


def test_kz_asks_kg_about_a_person_it_did_not_receive_from_anyone(world: World) -> None:
    """The control for the test above: the same request about a person of its own arrives."""
    own = {
        **PERSON,
        "surname_latin": "ASANOV",
        "citizenship": "KGZ",
        "document_number": "ID0000001",
    }
    with world.kz.unit_of_work() as uow:
        open_request(uow, node_context(world.kz), OpenRequest(
            "kz-kg-example", "kz-mlsp", "kg-migration", "person-inquiry",
            {**INQUIRY_UNDER_KZ_KG, "persons": [own]}, "officer:bolat",
        ), datetime.now(UTC))  # fmt: skip
    assert world.relay("KZ") == {"KG"}
    with world.kg.unit_of_work() as uow:
        bodies = inbox_texts(uow, world.kg)
    assert [body for body in bodies if "ID0000001" in body]


def inbox_texts(uow: UnitOfWork, node: Node) -> list[str]:
    """Every received body in clear: opened with the node's own retention key where sealed,
    so that a person who did arrive is found."""
    key = node_context(node).retention_key
    return [
        open_record(uow.session, key, record=row.message_id, name=INBOX_BODY, sealed=row.body)
        if is_sealed(row.body) else row.body
        for row in uow.session.scalars(select(InboxMessage))
    ]  # fmt: skip
