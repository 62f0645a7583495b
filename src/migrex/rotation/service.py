"""Use cases of a rotation: rotate a key (pending by default), propose the directory version
that lists it, countersign a partner's proposal, install a version both parties signed and
activate the keys it lists.

Keys and directories are files, which no transaction covers; each step is written so that
running it again after a crash converges: installing a version already installed answers with
it again, activating keys already active does nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import structlog
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from migrex.audit import events
from migrex.audit.pending import record
from migrex.db import begin_writing
from migrex.directory import (
    Directory,
    DirectoryFiles,
    DirectoryInvalid,
    check_update,
    same_document,
    sign_directory,
    signers,
    verify_directory,
    verify_proposal,
    write_signed_directory,
)
from migrex.directory.signing import payload_version
from migrex.directory.updates import (
    DirectoryUpdateRefused,
    check_proposal,
    new_keys_listed,
    proposed_version,
)
from migrex.envelope import new_message_id
from migrex.errors import ConfigurationError, MigrexError, NotFound
from migrex.exchange.outbox import OutgoingMessage, enqueue
from migrex.exchange.service import SendMessage, check_send
from migrex.exchange.tables import OutboxMessage
from migrex.exchange.trust import Trust
from migrex.identity.keys import AuthorityKey, KeyPair
from migrex.identity.keystore import KeyStore
from migrex.leases import lock_key
from migrex.node import Node
from migrex.rotation.messages import DIRECTORY_UPDATE, DirectoryUpdate, Stage
from migrex.uow import UnitOfWork

log = structlog.get_logger(__name__)

# How long a replaced key still opens what partners sealed to it and verifies what it signed
# as current: the partners stop using it when they install the new version, so this only
# covers messages already sealed or in flight then.
OVERLAP: Final = timedelta(days=7)
CLERK: Final = "directory-updates"
"""The actor of what the node does on its own when a partner's update arrives."""


class RotationPending(MigrexError):
    type_slug = "rotation-pending"
    title = "A key rotation already waits for the partners' countersignature"
    status = 409


@dataclass(frozen=True)
class Proposal:
    agreement_id: str
    version: int
    signed: Mapping[str, Any]
    sent_to: tuple[str, ...]


def hold_directories(session: Session) -> None:
    """Holds the node's directories until the session's transaction ends: the write lock on
    SQLite, a lock of their own on PostgreSQL. Every use case that reads the installed version
    and then installs or proposes one takes it first, so the clerk filing a partner's update
    and an operator's `directory install` or `propose` take turns: either would otherwise
    act on the version it read before the other installed one (logged twice, or proposed
    twice)."""
    begin_writing(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": lock_key("directories")})  # fmt: skip


def _audit(session: Session | None, at: datetime, actor: str, action: str, target: str) -> None:
    if session is not None:
        record(session, events.administration(at=at, actor=actor, action=action, target=target))


# ---------------------------------------------------------------- our own side


def rotate_keys(
    store: KeyStore,
    authority: str,
    now: datetime,
    *,
    activate_now: bool,
    overlap: timedelta,
    session: Session | None,
    actor: str,
) -> KeyPair:
    """New keys for the authority: pending until the partners install a directory listing
    them, or (`activate_now`, for emergencies) current at once, which breaks traffic until
    they do. Each new key is an administration entry when a session is given."""
    waiting = [k for k in store.all_keys(authority) if k.pending]
    if waiting:
        raise RotationPending(
            f"{authority}'s key {waiting[0].kid} still waits for the partners: see "
            "`migrex directory show`, or propose the directory again with `migrex directory "
            "propose`"
        )
    if activate_now:
        pair = store.rotate(authority, now, overlap)
    else:
        pair = store.add_pending(authority, now)
    action = "key-rotated-now" if activate_now else "key-rotated-pending"
    for key in pair:
        _audit(session, now, actor, action, f"{authority}:{key.kid}")
    return pair


def propose(
    uow: UnitOfWork, node: Node, trust: Trust, agreement_id: str, now: datetime,
    *, send: bool = True, actor: str,
) -> Proposal:  # fmt: skip
    """The next version of the agreement's directory with our authorities' keys as the key
    store holds them (pending ones included), signed by our state, kept as our proposal and,
    with `send`, sent to every partner state as a `directory-update`. Commits."""
    hold_directories(uow.session)
    proposal = _proposal(uow, node, trust, agreement_id, now, send=send, actor=actor)
    uow.commit()
    return proposal


def _proposal(
    uow: UnitOfWork, node: Node, trust: Trust, agreement_id: str, now: datetime,
    *, send: bool, actor: str,
) -> Proposal:  # fmt: skip
    trust.refresh()
    current = _installed(trust, agreement_id)
    state = node.settings.state
    ours = _our_authorities(node, current)
    candidate = proposed_version(current, state, {a: trust.keystore.all_keys(a) for a in ours}, now)
    signed = sign_directory(candidate, state, trust.keystore.party_key(state, now).key)
    files = _files(trust)
    write_signed_directory(files.proposal(agreement_id), signed)
    sent_to: list[str] = []
    if send:
        update = DirectoryUpdate(
            stage=Stage.PROPOSAL, agreement_id=agreement_id, version=candidate.version,
            directory=signed,
        )  # fmt: skip
        for partner in sorted(candidate.states - {state}):
            recipient = _door_of(node, current, partner)
            _send(uow, node, (agreement_id, ours[0], recipient), update, now=now)
            sent_to.append(recipient)
    _audit(uow.session, now, actor, "directory-proposed", f"{agreement_id}:{candidate.version}")
    return Proposal(agreement_id, candidate.version, signed, tuple(sent_to))


def bring_up_to_date(
    uow: UnitOfWork, node: Node, trust: Trust, now: datetime, *, actor: str
) -> list[Proposal]:
    """Proposes the next version of each installed directory whose half of ours is not what
    our key store holds (keys pending or activated since, replaced keys' new ends), unless a
    proposal of ours is in the outbox already. Derived from the key store, the installed
    directories and the outbox, not from what the caller just did, so a round repeated after
    a rollback still proposes what is missing."""
    proposals = []
    for agreement_id, current in sorted(trust.directories.items()):
        if _proposal_sent(uow.session, agreement_id, current.version + 1):
            continue
        if _our_half_outdated(node, trust, current, now):
            proposals.append(_proposal(uow, node, trust, agreement_id, now, send=True, actor=actor))
    return proposals


def _our_half_outdated(node: Node, trust: Trust, current: Directory, now: datetime) -> bool:
    state = node.settings.state
    try:
        ours = _our_authorities(node, current)
    except NotFound:
        return False
    fresh = proposed_version(current, state, {a: trust.keystore.all_keys(a) for a in ours}, now)
    return fresh.entries != current.entries


def install(
    uow: UnitOfWork, node: Node, trust: Trust, signed: Mapping[str, Any], now: datetime,
    *, actor: str, overlap: timedelta = OVERLAP,
) -> tuple[Directory, list[AuthorityKey], bool]:  # fmt: skip
    """Installs a version every party signed (received out of band), then activates our
    pending keys every installed directory now lists; whether the version is new to the node.
    Commits. The version installed already is taken again (nothing changes); an older one, or
    another of the same number, is refused: an operator who carried the wrong file must hear
    it."""
    hold_directories(uow.session)
    directory = _verified_whole(trust, signed)
    before = _installed(trust, directory.agreement_id).version
    if _take(uow.session, trust, directory, signed, now=now, actor=actor) == "stale":
        raise DirectoryUpdateRefused(
            f"version {directory.version} of {directory.agreement_id} is not the installed "
            f"one and does not follow it (version {before} is installed): nothing installed"
        )
    activated = activate_ready(uow.session, node, trust, now, actor=actor, overlap=overlap)
    # Once new keys took over, the next version lists the replaced ones with their end.
    bring_up_to_date(uow, node, trust, now, actor=actor)
    uow.commit()
    return directory, activated, directory.version > before


def countersign(node: Node, trust: Trust, signed: Mapping[str, Any]) -> Directory:
    """The partner's proposal (received out of band) checked as `answer_proposal` checks it;
    raises when this node may not countersign it. The caller signs."""
    theirs = sorted(signers(signed) - {node.settings.state})
    if len(theirs) != 1:
        raise DirectoryUpdateRefused("a proposal carries the signature of one other party")
    return _check_proposal(trust, signed, theirs[0], node.settings.state)


def party_signature(
    node: Node, trust: Trust, signed: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """`signed` with our state's signature added."""
    state = node.settings.state
    return sign_directory(signed, state, trust.keystore.party_key(state, now).key)


def activate_ready(
    session: Session | None, node: Node, trust: Trust, now: datetime,
    *, actor: str, overlap: timedelta = OVERLAP,
) -> list[AuthorityKey]:  # fmt: skip
    """Activates each hosted authority's pending keys once every installed directory that
    lists the authority lists them too: from then on no partner refuses what they sign."""
    trust.refresh()
    activated: list[AuthorityKey] = []
    for authority in node.settings.authorities:
        pending = [k.kid for k in trust.keystore.all_keys(authority) if k.pending]
        if not pending:
            continue
        listing = [
            d for d in trust.directories.values()
            if any(e.authority_id == authority for e in d.entries)
        ]  # fmt: skip
        if not listing or not all(new_keys_listed(d, authority, pending) for d in listing):
            continue
        for key in trust.keystore.activate(authority, now, overlap, pending):
            _audit(session, now, actor, "key-activated", f"{authority}:{key.kid}")
            log.info("key activated", authority=authority, kid=key.kid)
            activated.append(key)
    trust.refresh()
    return activated


# ---------------------------------------------------------------- answering a partner


def answer_proposal(
    uow: UnitOfWork, node: Node, trust: Trust, *, message_id: str, sender: str,
    recipient: str, update: DirectoryUpdate, now: datetime,
) -> str:  # fmt: skip
    """Checks a partner's proposal, countersigns and installs it, and answers with the
    countersigned version; or answers why not. Returns the inbox status."""
    agreement_id = update.agreement_id
    try:
        proposer = _state_of(trust, agreement_id, sender)
        installed = _files(trust).read(_files(trust).current(agreement_id))
        if update.directory is None:
            raise DirectoryInvalid("the proposal carries no directory")
        superseded = _proposal_sent(uow.session, agreement_id, update.version)
        if installed is not None and same_document(installed, update.directory):
            signed = installed  # countersigned and installed before: answer again
        else:
            if superseded and node.settings.state < proposer:
                # Both parties proposed this version at once: the state first in order keeps
                # its proposal, the other countersigns it and proposes its own change again.
                raise DirectoryUpdateRefused(
                    f"{node.settings.state} proposed version {update.version} too, and its "
                    "proposal goes first; propose again once it is installed"
                )
            candidate = _check_proposal(trust, update.directory, proposer, node.settings.state)
            _same_agreement(candidate, agreement_id)
            signed = party_signature(node, trust, update.directory, now)
            directory = _verified_whole(trust, signed)
            _take(uow.session, trust, directory, signed, now=now, actor=CLERK)
            _audit(uow.session, now, CLERK, "directory-countersigned",
                   f"{agreement_id}:{directory.version}")  # fmt: skip
    except (DirectoryInvalid, NotFound) as error:
        reason = _reason(error)
        answer = DirectoryUpdate(stage=Stage.DECLINED, agreement_id=agreement_id,
                                 version=update.version, reason=reason)  # fmt: skip
        _send(uow, node, (agreement_id, recipient, sender), answer, now=now, in_reply_to=message_id)
        _audit(uow.session, now, CLERK, "directory-declined", f"{agreement_id}:{update.version}")
        log.warning("directory update declined", agreement=agreement_id, version=update.version,
                    reason=reason)  # fmt: skip
        return "declined"
    answer = DirectoryUpdate(stage=Stage.COUNTERSIGNED, agreement_id=agreement_id,
                             version=update.version, directory=signed)  # fmt: skip
    _send(uow, node, (agreement_id, recipient, sender), answer, now=now, in_reply_to=message_id)
    # Both parties may have rotated: our own pending keys may be listed now as well.
    activate_ready(uow.session, node, trust, now, actor=CLERK)
    # Our own change, if the partner's proposal superseded it, goes in the next version.
    bring_up_to_date(uow, node, trust, now, actor=CLERK)
    return "countersigned"


def take_countersignature(
    uow: UnitOfWork, node: Node, trust: Trust, update: DirectoryUpdate, now: datetime
) -> str:
    """Installs the version the partner countersigned (and installed), then activates our
    pending keys it lists. Returns the inbox status; raises DirectoryInvalid when the
    version is not signed by every party with the keys we trust."""
    if update.directory is None:
        raise DirectoryInvalid("the countersignature carries no directory")
    directory = _same_agreement(_verified_whole(trust, update.directory), update.agreement_id)
    status = _take(uow.session, trust, directory, update.directory, now=now, actor=CLERK)
    activate_ready(uow.session, node, trust, now, actor=CLERK)
    bring_up_to_date(uow, node, trust, now, actor=CLERK)
    return status


def note_declined(session: Session, update: DirectoryUpdate, sender: str, now: datetime) -> str:
    _audit(session, now, CLERK, "directory-declined-by-partner",
           f"{update.agreement_id}:{update.version}")  # fmt: skip
    # The partner's reason is its own free text: it stays in the (sealed) inbox, not the log.
    log.warning("partner declined our directory update", agreement=update.agreement_id,
                version=update.version, partner=sender)  # fmt: skip
    return "declined"


# ---------------------------------------------------------------- steps


def _take(
    session: Session, trust: Trust, directory: Directory, signed: Mapping[str, Any],
    *, now: datetime, actor: str,
) -> str:  # fmt: skip
    """Installs `directory` when it follows the installed one; "installed" (now or before)
    or "stale" (an older version, left alone)."""
    agreement_id = directory.agreement_id
    current = _installed(trust, agreement_id)
    files = _files(trust)
    if directory.version <= current.version:
        installed = files.read(files.current(agreement_id))
        same = installed is not None and same_document(installed, signed)
        _forget_proposal(files, agreement_id, current.version)
        return "installed" if same else "stale"
    check_update(current, directory)
    files.install(agreement_id, signed)
    _forget_proposal(files, agreement_id, directory.version)
    trust.refresh()
    _audit(session, now, actor, "directory-installed", f"{agreement_id}:{directory.version}")
    log.info("directory installed", agreement=agreement_id, version=directory.version)
    return "installed"


def _check_proposal(trust: Trust, signed: Mapping[str, Any], proposer: str, ours: str) -> Directory:
    if proposer == ours:
        raise DirectoryUpdateRefused("the proposal comes from this node's own state")
    trust.refresh()
    candidate = verify_proposal(
        signed, trust.trusted_parties, proposer, known_agreements=set(trust.directories)
    )
    if ours in signers(signed):
        raise DirectoryUpdateRefused(f"the proposal already carries {ours}'s signature")
    return check_proposal(_installed(trust, candidate.agreement_id), candidate, proposer)


def _verified_whole(trust: Trust, signed: Mapping[str, Any]) -> Directory:
    """The directory once every party of its agreement signed it with a key trusted here."""
    trust.refresh()
    for agreement_id, required in trust.required_states.items():
        try:
            return verify_directory(
                signed, trust.trusted_parties, required, known_agreements={agreement_id}
            )
        except DirectoryInvalid as error:
            if "which this node does not take part in" not in error.detail:
                raise
    raise DirectoryInvalid("the directory is for no agreement this node has a directory of")


def _proposal_sent(session: Session, agreement_id: str, version: int) -> bool:
    """Whether our proposal of `version` is in the outbox (the proposal file alone proves
    nothing: it is written before the transaction that sends it commits, or does not)."""
    bodies = session.scalars(
        select(OutboxMessage.body)
        .where(OutboxMessage.type == DIRECTORY_UPDATE, OutboxMessage.agreement_id == agreement_id)
        .order_by(OutboxMessage.id.desc())
        .limit(20)
    )
    for body in bodies:
        sent = json.loads(body)
        if sent.get("stage") == Stage.PROPOSAL and sent.get("version") == version:
            return True
    return False


def _same_agreement(directory: Directory, agreement_id: str) -> Directory:
    """The directory, when it is the one of the agreement its message travelled under."""
    if directory.agreement_id != agreement_id:
        raise DirectoryUpdateRefused(
            f"the update under {agreement_id} carries the directory of {directory.agreement_id}"
        )
    return directory


def _forget_proposal(files: DirectoryFiles, agreement_id: str, installed: int) -> None:
    """Drops our proposal once a version at least as new is installed."""
    path = files.proposal(agreement_id)
    proposal = files.read(path)
    if proposal is None:
        return
    try:
        stale = payload_version(proposal) <= installed
    except DirectoryInvalid:
        stale = True
    if stale:
        path.unlink(missing_ok=True)


def _installed(trust: Trust, agreement_id: str) -> Directory:
    try:
        return trust.directories[agreement_id]
    except KeyError:
        raise NotFound(f"this node has no directory of agreement {agreement_id}") from None


def _files(trust: Trust) -> DirectoryFiles:
    if trust.files is None:
        raise ConfigurationError("the node needs directory_dir to keep directories")
    return trust.files


def _our_authorities(node: Node, directory: Directory) -> list[str]:
    hosted = set(node.settings.authorities)
    ours = sorted(e.authority_id for e in directory.entries if e.authority_id in hosted)
    if not ours:
        raise NotFound(
            f"the directory of {directory.agreement_id} lists no authority this node hosts"
        )
    return ours


def _door_of(node: Node, directory: Directory, state: str) -> str:
    """The partner authority an update to `state` is addressed to: the first of that state
    that both the directory and the agreement list (any one reaches its node)."""
    agreement = node.agreements[directory.agreement_id]
    for entry in sorted(directory.entries, key=lambda e: e.authority_id):
        if entry.state == state and entry.authority_id in agreement.authorities:
            return entry.authority_id
    raise NotFound(f"the directory of {directory.agreement_id} lists no authority of {state}")


def _state_of(trust: Trust, agreement_id: str, authority: str) -> str:
    return _installed(trust, agreement_id).entry(authority).state


def _send(
    uow: UnitOfWork, node: Node, route: tuple[str, str, str], update: DirectoryUpdate,
    *, now: datetime, in_reply_to: str | None = None,
) -> str:  # fmt: skip
    """Queues the update along `route` (agreement, sender, recipient), checked like any send."""
    agreement_id, sender, recipient = route
    command = SendMessage(agreement_id, sender, recipient, DIRECTORY_UPDATE, update.as_body())
    agreement = check_send(command, node.agreements, node.settings.authorities)
    message_id = new_message_id(now)
    enqueue(uow.session, OutgoingMessage(
        message_id=message_id, agreement_id=agreement.id, sender=sender, recipient=recipient,
        type=DIRECTORY_UPDATE, body=update.as_body(), issued_at=now,
        expires_at=now + agreement.message_lifetime, case_id=None, in_reply_to=in_reply_to,
    ), now)  # fmt: skip
    return message_id


def _reason(error: MigrexError) -> str:
    """What a declined update says: the error and its places, never a directory's content
    beyond state codes and versions, which the error texts name."""
    parts = [error.detail, *(str(p) for p in error.problems[:10])]
    return "; ".join(parts)[:2000]


def proposal_file(trust: Trust, agreement_id: str) -> Path:
    return _files(trust).proposal(agreement_id)
