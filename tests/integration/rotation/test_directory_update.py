"""A key rotation through the exchange, in process: the proposal, the partner's
countersignature, the activation, and what is refused on the way."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from joserfc.jwk import OKPKey
from sqlalchemy import delete, select

from at_once import beside
from casework_steps import deliver, now
from migrex.audit.leaves import LeafKind
from migrex.audit.tables import AuditLeafRow
from migrex.directory import sign_directory
from migrex.directory.updates import proposed_version
from migrex.envelope import new_message_id
from migrex.envelope.receipt import verify_receipt
from migrex.exchange.outbox import OutgoingMessage, enqueue
from migrex.exchange.service import SendMessage, send_message
from migrex.exchange.tables import InboxMessage, OutboxMessage, Receipt, SecurityEvent
from migrex.exchange.trust import Trust, load_trust
from migrex.identity.keys import KeyUse
from migrex.node import Node
from migrex.rotation import service
from migrex.rotation.filing import file_directory_updates
from migrex.rotation.messages import DIRECTORY_UPDATE, DirectoryUpdate, Stage
from migrex.rotation.queries import directory_status
from nodes import Pair

AGREEMENT = "kz-am-2024"


def _clerk(node: Node, trust: Trust) -> int:
    with node.unit_of_work() as uow:
        return file_directory_updates(uow, node, trust, now())


def _notice(pair: Pair, sender: str, recipient: str, node: Node) -> str:
    """A legal-information notice queued at `node`; returns its message id."""
    with node.unit_of_work() as uow:
        return send_message(
            uow, SendMessage(AGREEMENT, sender, recipient, "legal-information",
                             {"type": "legal-information", "subject": "s", "summary": "s"},
                             case_id=new_message_id(now())),
            agreements=node.agreements, hosted=node.settings.authorities, now=now(),
        )  # fmt: skip


def _inbox(node: Node, message_id: str) -> InboxMessage:
    with node.unit_of_work() as uow:
        row = uow.session.scalars(
            select(InboxMessage).where(InboxMessage.message_id == message_id)
        ).one()
        uow.session.expunge(row)
        return row


def _exchange(pair: Pair) -> None:
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)


def test_a_rotated_key_waits_for_the_partner_then_takes_over(pair: Pair) -> None:
    store = pair.kz_trust.keystore
    old = store.current_signing("kz-mia")
    with pair.kz.unit_of_work() as uow:
        pending = service.rotate_keys(store, "kz-mia", now(), activate_now=False,
                                      overlap=timedelta(days=7), session=uow.session,
                                      actor="test")  # fmt: skip
        uow.commit()
    with pair.kz.unit_of_work() as uow:
        proposal = service.propose(uow, pair.kz, pair.kz_trust, AGREEMENT, now(), actor="test")
    assert proposal.version == 2 and proposal.sent_to == ("am-mcs",)

    # While the partner has not countersigned, the old key signs: the partner accepts it.
    before = _notice(pair, "kz-mia", "am-mcs", pair.kz)
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    assert _inbox(pair.am, before).sender_kid == old.kid
    assert _clerk(pair.am, pair.am_trust) == 1  # the proposal: checked, countersigned, installed
    assert pair.am_trust.directories[AGREEMENT].version == 2
    assert pair.kz_trust.directories[AGREEMENT].version == 1
    assert store.current_signing("kz-mia").kid == old.kid

    # The partner already seals to our pending key, which opens it.
    reply = _notice(pair, "am-mcs", "kz-mia", pair.am)
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)  # the countersignature and reply
    assert _inbox(pair.kz, reply).status == "filed"
    assert _clerk(pair.kz, pair.kz_trust) == 1
    assert pair.kz_trust.directories[AGREEMENT].version == 2
    assert store.current_signing("kz-mia").kid == pending.signing.kid
    activated_at = now()

    # Once the new keys took over, the next version lists the old ones with their end.
    assert service.proposal_file(pair.kz_trust, AGREEMENT).exists()
    _exchange(pair)
    assert _clerk(pair.am, pair.am_trust) == 1
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    assert _clerk(pair.kz, pair.kz_trust) == 1
    for trust in (pair.kz_trust, pair.am_trust):
        retired = trust.directories[AGREEMENT]
        assert retired.version == 3
        [listed] = [k for k in retired.entry("kz-mia").signing_keys if k.kid == old.kid]
        assert activated_at < listed.not_after <= activated_at + timedelta(days=7, seconds=5)
    assert not service.proposal_file(pair.kz_trust, AGREEMENT).exists()

    after = _notice(pair, "kz-mia", "am-mcs", pair.kz)
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    assert _inbox(pair.am, after).sender_kid == pending.signing.kid
    assert _inbox(pair.am, after).status == "filed"
    with pair.kz.unit_of_work() as uow, pair.am.unit_of_work() as am:
        assert not list(am.session.scalars(select(SecurityEvent)))
        # Every receipt kept, the ones signed before the rotation too, still verifies.
        tokens = list(uow.session.scalars(select(Receipt)))
    for receipt in tokens:
        verify_receipt(receipt.token, resolve_signing_key=pair.kz_trust.resolve_signing_key,
                       expected_envelope_sha256=receipt.envelope_sha256,
                       expected_receiver=receipt.receiver)  # fmt: skip


def test_a_proposal_that_changes_the_partners_half_is_declined(pair: Pair) -> None:
    """AM proposes a version in which KZ's authority lists a key of AM's choosing; KZ
    refuses to sign it, installs nothing, and tells AM why."""
    current = pair.kz_trust.directories[AGREEMENT]
    rogue = pair.am_trust.keystore.all_keys("am-mcs")
    forged = proposed_version(current, "KZ", {"kz-mia": rogue}, now())  # AM's key, KZ's name
    am_party = pair.am_trust.keystore.party_key("AM").key
    signed = sign_directory(forged, "AM", am_party)
    update = DirectoryUpdate(stage=Stage.PROPOSAL, agreement_id=AGREEMENT, version=2,
                             directory=signed)  # fmt: skip
    with pair.am.unit_of_work() as uow:
        service._send(uow, pair.am, (AGREEMENT, "am-mcs", "kz-mia"), update, now=now())
        uow.commit()
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    assert _clerk(pair.kz, pair.kz_trust) == 1
    assert pair.kz_trust.directories[AGREEMENT].version == 1
    with pair.kz.unit_of_work() as uow:
        statuses = list(uow.session.scalars(
            select(InboxMessage.status).where(InboxMessage.type == DIRECTORY_UPDATE)
        ))  # fmt: skip
    assert statuses == ["declined"]
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    _clerk(pair.am, pair.am_trust)
    with pair.am.unit_of_work() as uow:
        [answer] = uow.session.scalars(
            select(InboxMessage).where(InboxMessage.type == DIRECTORY_UPDATE)
        ).all()
        assert answer.status == "declined"
        shown = directory_status(uow.session, pair.am, pair.am_trust, now(), AGREEMENT)
    assert pair.am_trust.directories[AGREEMENT].version == 1
    [declined] = [u for u in shown["updates"] if u["direction"] == "received"]
    assert "changes KZ's own entries" in declined["reason"], declined


def test_a_malformed_update_is_refused_and_changes_nothing(pair: Pair) -> None:
    with pair.am.unit_of_work() as uow:
        enqueue(uow.session, OutgoingMessage(
            message_id=new_message_id(now()), agreement_id=AGREEMENT, sender="am-mcs",
            recipient="kz-mia", type=DIRECTORY_UPDATE, body={"stage": "countersigned"},
            issued_at=now(), expires_at=now() + timedelta(days=1), case_id=None, in_reply_to=None,
        ), now())  # fmt: skip
        uow.commit()
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    assert _clerk(pair.kz, pair.kz_trust) == 1
    with pair.kz.unit_of_work() as uow:
        [row] = uow.session.scalars(select(InboxMessage).where(
            InboxMessage.type == DIRECTORY_UPDATE)).all()  # fmt: skip
        assert row.status == "refused" and "malformed" in (row.problem or "")
        events = [e.reason for e in uow.session.scalars(select(SecurityEvent))]
    assert events == ["directory-update-refused"]
    assert pair.kz_trust.directories[AGREEMENT].version == 1


def test_an_update_answered_twice_installs_once(pair: Pair) -> None:
    """The countersignature filed again (a crash between installing and committing) installs
    nothing more and activates nothing twice, and still proposes the version retiring the
    replaced keys that the lost transaction had queued."""
    store = pair.kz_trust.keystore
    with pair.kz.unit_of_work() as uow:
        service.rotate_keys(store, "kz-mia", now(), activate_now=False, overlap=timedelta(days=7),
                            session=uow.session, actor="test")  # fmt: skip
        uow.commit()
    with pair.kz.unit_of_work() as uow:
        service.propose(uow, pair.kz, pair.kz_trust, AGREEMENT, now(), actor="test")
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    _clerk(pair.am, pair.am_trust)
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    _clerk(pair.kz, pair.kz_trust)
    signing = store.current_signing("kz-mia").kid
    proposal = service.proposal_file(pair.kz_trust, AGREEMENT)
    assert proposal.exists()
    with pair.kz.unit_of_work() as uow:  # what the rolled-back transaction had written
        row = uow.session.scalars(select(InboxMessage).where(
            InboxMessage.type == DIRECTORY_UPDATE)).one()  # fmt: skip
        row.status = "for-rotation"
        uow.session.execute(delete(OutboxMessage).where(OutboxMessage.status == "pending"))
        uow.commit()
    proposal.unlink()
    _clerk(pair.kz, pair.kz_trust)
    assert proposal.exists()
    with pair.kz.unit_of_work() as uow:
        queued = uow.session.scalars(select(OutboxMessage.type).where(
            OutboxMessage.status == "pending")).all()  # fmt: skip
    assert queued == [DIRECTORY_UPDATE]
    assert store.current_signing("kz-mia").kid == signing
    assert pair.kz_trust.directories[AGREEMENT].version == 2
    signing_keys = [k for k in store.all_keys("kz-mia") if k.use is KeyUse.SIGNING]
    assert len(signing_keys) == 2 and not any(k.pending for k in signing_keys)
    with pair.kz.unit_of_work() as uow:
        assert uow.session.scalars(select(InboxMessage.status).where(
            InboxMessage.type == DIRECTORY_UPDATE)).one() == "installed"  # fmt: skip


@pytest.mark.parametrize("stage", [Stage.PROPOSAL, Stage.COUNTERSIGNED])
def test_a_directory_signed_by_an_untrusted_key_is_not_taken(pair: Pair, stage: Stage) -> None:
    current = pair.am_trust.directories[AGREEMENT]
    forged = proposed_version(current, "AM", {"am-mcs": pair.am_trust.keystore.all_keys("am-mcs")},
                              now())  # fmt: skip
    stranger = OKPKey.generate_key("Ed25519")
    signed = sign_directory(forged, "AM", stranger)
    if stage is Stage.COUNTERSIGNED:
        signed = sign_directory(signed, "KZ", OKPKey.generate_key("Ed25519"))
    update = DirectoryUpdate(stage=stage, agreement_id=AGREEMENT, version=2, directory=signed)
    with pair.am.unit_of_work() as uow:
        service._send(uow, pair.am, (AGREEMENT, "am-mcs", "kz-mia"), update, now=now())
        uow.commit()
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    _clerk(pair.kz, pair.kz_trust)
    assert pair.kz_trust.directories[AGREEMENT].version == 1
    with pair.kz.unit_of_work() as uow:
        [status] = uow.session.scalars(select(InboxMessage.status).where(
            InboxMessage.type == DIRECTORY_UPDATE)).all()  # fmt: skip
    assert status == ("declined" if stage is Stage.PROPOSAL else "refused")


def test_both_parties_rotating_at_once_end_on_the_same_directory(pair: Pair) -> None:
    """Each proposes version 2 before seeing the other's: AM's goes first (the states' order),
    KZ countersigns it and proposes its own change again; both end on one document, every new
    key active."""
    for node, trust, authority in ((pair.kz, pair.kz_trust, "kz-mia"),
                                   (pair.am, pair.am_trust, "am-mcs")):  # fmt: skip
        with node.unit_of_work() as uow:
            service.rotate_keys(
                trust.keystore, authority, now(), activate_now=False,
                overlap=timedelta(days=7), session=uow.session, actor="test",
            )  # fmt: skip
            uow.commit()
        with node.unit_of_work() as uow:
            service.propose(uow, node, trust, AGREEMENT, now(), actor="test")
    for _ in range(8):
        _exchange(pair)
        _clerk(pair.kz, pair.kz_trust)
        _clerk(pair.am, pair.am_trust)
    files = {state: t.files for state, t in (("KZ", pair.kz_trust), ("AM", pair.am_trust))}
    documents = {
        state: f.current(AGREEMENT).read_text(encoding="utf-8")
        for state, f in files.items()
        if f is not None
    }
    assert documents["KZ"] == documents["AM"]
    assert pair.kz_trust.directories[AGREEMENT].version >= 3
    for trust, authority in ((pair.kz_trust, "kz-mia"), (pair.am_trust, "am-mcs")):
        assert not [k for k in trust.keystore.all_keys(authority) if k.pending]
        assert not service.proposal_file(trust, AGREEMENT).exists()


def test_a_version_installed_by_hand_as_the_clerk_files_it_is_installed_once(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Armenia's operator runs `migrex directory install` with the version Kazakhstan
    countersigned (sent to them by hand) just as Armenia's clerk files the countersignature
    that came through the exchange."""
    with pair.am.unit_of_work() as uow:
        service.rotate_keys(pair.am_trust.keystore, "am-mcs", now(), activate_now=False,
                            overlap=timedelta(days=7), session=uow.session,
                            actor="test")  # fmt: skip
        uow.commit()
    with pair.am.unit_of_work() as uow:
        service.propose(uow, pair.am, pair.am_trust, AGREEMENT, now(), actor="test")
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    assert _clerk(pair.kz, pair.kz_trust) == 1
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)  # the countersigned version
    assert pair.kz_trust.files is not None
    signed = json.loads(pair.kz_trust.files.current(AGREEMENT).read_text(encoding="utf-8"))
    command_trust = load_trust(pair.am.settings, pair.am.agreements)  # the command's own

    # The clerk files it as the command checks the version; the clerk checks it plainly.
    filed = beside(monkeypatch, service, "check_update", lambda: _clerk(pair.am, pair.am_trust))
    with pair.am.unit_of_work() as uow:
        service.install(uow, pair.am, command_trust, signed, now(), actor="cli:operator")
    assert filed() == [1]
    with pair.am.unit_of_work() as uow:
        entries = [
            data for data in uow.session.scalars(
                select(AuditLeafRow.data).where(AuditLeafRow.kind == LeafKind.ADMINISTRATION)
            )
            if b"directory-installed" in data or b"key-activated" in data
        ]  # fmt: skip
    installed = [e for e in entries if b"directory-installed" in e]
    activated = [e for e in entries if b"key-activated" in e]
    assert (len(installed), len(activated)) == (1, 2)  # the version; the signing and sealing key
