"""A third state in-process: KZ serves kz-am-2024 with AM and kz-kg-example with KG, so
messages under the second agreement, and parties of one agreement posting under the other,
are tried against real trust, directories and receivers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from migrex.envelope import verify_receipt
from migrex.exchange.service import SendMessage, send_message
from migrex.exchange.tables import InboxMessage, OutboxMessage, Receipt
from nodes import World

CROSS_AGREEMENT = "issue 10 item 6: sender must belong to the named agreement"


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


@pytest.mark.xfail(strict=True, reason=CROSS_AGREEMENT)
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
