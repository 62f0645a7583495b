"""Which refusals of our checkpoints stand: a refusal answers a checkpoint we sent its
witness or it is refused itself, and a later cosignature from that witness clears it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from migrex.audit.merkle import AuditError
from migrex.audit.message_kinds import CHECKPOINT, COSIGNATURE
from migrex.exchange.tables import InboxMessage, OutboxMessage
from migrex.witness.refusals import KEPT, REFUSED, note_refusal, refusals

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
_ids = count(1)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def _sent_checkpoint(session: Session, witness: str) -> str:
    message_id = f"0190d6a4-0000-7000-8000-{next(_ids):012d}"
    session.add(OutboxMessage(
        message_id=message_id, agreement_id="kz-am-2024", sender="am-police", recipient=witness,
        type=CHECKPOINT, body="{}", ordering_key=message_id, issued_at=T0, status="delivered",
        expires_at=T0 + timedelta(days=7), created_at=T0, next_attempt_at=T0,
    ))  # fmt: skip
    session.flush()
    return message_id


def _answer(session: Session, witness: str, in_reply_to: str | None, body: dict[str, object],
            *, status: str, minutes: int) -> InboxMessage:  # fmt: skip
    n = next(_ids)
    row = InboxMessage(
        message_id=f"0190d6a4-0000-7000-9000-{n:012d}", agreement_id="kz-am-2024",
        sender=witness, recipient="am-police", type=COSIGNATURE, in_reply_to=in_reply_to,
        body=json.dumps(body), issued_at=T0, expires_at=T0 + timedelta(days=7),
        received_at=T0 + timedelta(minutes=minutes), sender_kid="k", signed_message="s",
        envelope_sha256=f"{n:064d}", receipt="r", status=status,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


REFUSAL = {"note": None, "size": 40, "refused": "refused"}


def test_a_later_cosignature_clears_a_refusal_and_a_later_refusal_brings_it_back(
    session: Session,
) -> None:
    first = _sent_checkpoint(session, "kz-mia")
    _answer(session, "kz-mia", first, REFUSAL, status=REFUSED, minutes=1)
    assert set(refusals(session)) == {"kz-mia"}
    assert refusals(session)["kz-mia"].size == 40
    second = _sent_checkpoint(session, "kz-mia")
    _answer(session, "kz-mia", second, {"note": "cosigned", "size": 41}, status=KEPT, minutes=61)
    assert refusals(session) == {}
    third = _sent_checkpoint(session, "kz-mia")
    _answer(session, "kz-mia", third, {**REFUSAL, "size": 42}, status=REFUSED, minutes=122)
    assert refusals(session)["kz-mia"].size == 42


def test_a_cosignature_from_another_witness_does_not_clear_a_refusal(session: Session) -> None:
    refused = _sent_checkpoint(session, "kz-mia")
    _answer(session, "kz-mia", refused, REFUSAL, status=REFUSED, minutes=1)
    kept = _sent_checkpoint(session, "kz-mlsp")
    _answer(session, "kz-mlsp", kept, {"note": "cosigned", "size": 41}, status=KEPT, minutes=2)
    assert set(refusals(session)) == {"kz-mia"}


@pytest.mark.parametrize("answers", ["nothing", "a checkpoint sent to another witness"])
def test_a_refusal_of_no_checkpoint_we_sent_its_witness_is_itself_refused(
    session: Session, answers: str
) -> None:
    in_reply_to = None if answers == "nothing" else _sent_checkpoint(session, "kz-mlsp")
    row = _answer(session, "kz-mia", in_reply_to, REFUSAL, status="new", minutes=1)
    with pytest.raises(AuditError, match="answers no checkpoint we sent"):
        note_refusal(session, row, REFUSAL, T0)
    assert refusals(session) == {}
