"""Who may send what: `send_message` asks the agreement before it touches the outbox, so its
refusals are tested without a database, on a fake unit of work (`tests/fake_unit_of_work.py`)
that would raise at any SQL statement. Sending itself is tested on both databases in
`tests/integration/exchange/`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from fake_unit_of_work import FakeUnitOfWork
from migrex.agreements import load_agreements
from migrex.demo.workspace import AUTHORITIES
from migrex.exchange.service import NotPermitted, SendMessage, send_message

AGREEMENTS = load_agreements([Path(__file__).parents[3] / "agreements" / "kz-am-2024.toml"])
KZ_HOSTS = AUTHORITIES["KZ"]


def now() -> datetime:
    return datetime.now(UTC)


def test_the_agreement_decides_who_may_send() -> None:
    with FakeUnitOfWork() as uow, pytest.raises(NotPermitted):
        send_message(
            uow, SendMessage("kz-am-2024", "kz-mia", "kz-mlsp", "notice"),
            agreements=AGREEMENTS, hosted=KZ_HOSTS, now=now(),
        )  # fmt: skip
    with FakeUnitOfWork() as uow, pytest.raises(NotPermitted):
        send_message(
            uow, SendMessage("kz-am-2024", "am-mcs", "kz-mia", "notice"),
            agreements=AGREEMENTS, hosted=KZ_HOSTS, now=now(),
        )  # fmt: skip


def test_a_refused_message_is_neither_queued_nor_committed() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(NotPermitted):
        send_message(
            uow, SendMessage("kz-am-2024", "am-mcs", "kz-mia", "notice"),
            agreements=AGREEMENTS, hosted=KZ_HOSTS, now=now(),
        )  # fmt: skip
    assert (uow.added, uow.recorded, uow.commits) == ([], [], 0)
