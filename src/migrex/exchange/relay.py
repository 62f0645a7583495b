"""The relay: claims due outbox messages, seals them once, posts them, stores the receipts.

Runs inside the node (a thread) or on its own (`migrex relay`); on PostgreSQL several relays
share one outbox. Each round: claim (one short transaction), seal what is not sealed yet (no
transaction open: sealing is the round's slow part, and on SQLite an open write transaction
holds the database's one write lock), store the fresh envelopes (one short transaction, so a
resend carries the same bytes), post one batch per partner node, then settle (one
transaction): receipts verified and stored, failures scheduled for retry or parked.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from migrex.audit import events
from migrex.audit.leaves import AuditLeaf
from migrex.audit.merkle import AuditError
from migrex.audit.origins import log_origin
from migrex.audit.partner_logs import PartnerHead, record_heads
from migrex.audit.pending import record
from migrex.audit.receipt_proof import CLAIM, LoggedAt, verify_proof_claims
from migrex.db import bulk_insert, in_list
from migrex.envelope import MessageClaims, Receipt, ReceiptInvalid, seal, verify_receipt
from migrex.errors import MigrexError
from migrex.exchange.delivery import RetryPolicy, is_final
from migrex.exchange.metrics import ExchangeMetrics
from migrex.exchange.outbox import (
    Claimed,
    claim,
    mark_delivered,
    mark_failed,
    mark_refused,
    release_claims,
    store_envelopes,
)
from migrex.exchange.tables import receipts_table
from migrex.exchange.transport import Transport, TransportError
from migrex.exchange.trust import Trust
from migrex.exchange.wakeup import Doorbell
from migrex.uow import UnitOfWork

log = structlog.get_logger(__name__)


# Failed tries are logged at most this often per relay (see `Relay._report`).
FAILURES_SAID_EVERY = timedelta(minutes=1)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Relay:
    relay_id: str
    unit_of_work: Callable[[], UnitOfWork]
    trust: Trust
    transport: Transport
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    batch_size: int = 200
    metrics: ExchangeMetrics | None = None
    clock: Callable[[], datetime] = utc_now
    rng: random.Random = field(default_factory=random.Random)
    _leases_checked: datetime | None = field(default=None, init=False)
    _in_hand: set[str] = field(default_factory=set, init=False)  # the round's claim tokens
    _to_release: set[str] = field(default_factory=set, init=False)  # claims of failed rounds
    _unsaid_failures: Counter[str] = field(default_factory=Counter, init=False)
    _failures_said_at: datetime | None = field(default=None, init=False)

    def run_once(self) -> int:
        """One round; returns how many messages it claimed (0 means nothing was due).

        A round that the database fails after claiming (a restart, a dropped connection, a
        lock given up) leaves its messages in flight. The next round first puts them back in
        line: they go out again at once instead of when their lease runs out (a minute, by
        default), which after a database restart under load held every message of the
        failed rounds back that long. Any other failure (a fault in the code) leaves them to
        their lease, so a message that makes rounds fail is not sent again every second.
        """
        self._release_failed_claims()
        try:
            return self._round()
        except (OperationalError, InterfaceError):
            self._to_release |= self._in_hand
            raise
        finally:
            self._in_hand = set()

    def _release_failed_claims(self) -> None:
        if not self._to_release:
            return
        with self.unit_of_work() as uow:
            released = release_claims(uow.session, self._to_release, self.clock())
            uow.commit()
        self._to_release = set()
        log.info("relay put messages of a failed round back in line", relay=self.relay_id,
                 messages=released)  # fmt: skip

    def _round(self) -> int:
        now = self.clock()
        # Expired leases (a relay died mid-flight) are looked for ten times per lease, not at
        # every round: a round that only claims due messages reads far fewer rows.
        expired = (
            self._leases_checked is None or now - self._leases_checked >= self.policy.lease / 10
        )
        with self.unit_of_work() as uow:
            claimed = claim(
                uow.session, relay_id=self.relay_id, now=now,
                limit=self.batch_size, lease=self.policy.lease, expired=expired,
            )  # fmt: skip
            uow.commit()
        self._in_hand = {row.claimed_by for row in claimed if row.claimed_by}
        if expired:
            self._leases_checked = now
        sealed, failures = self._seal(claimed)
        by_endpoint: dict[str, list[Claimed]] = defaultdict(list)
        for row in sealed:
            try:
                by_endpoint[self.trust.endpoint_of(row.agreement_id, row.recipient)].append(row)
            except MigrexError as error:
                failures[row.message_id] = error.detail
        receipts: dict[str, dict[str, Any]] = {}
        heads: dict[str, PartnerHead] = {}
        refusals: dict[str, tuple[str, str]] = {}
        for endpoint, rows in by_endpoint.items():
            self._post(endpoint, rows, receipts, heads, failures, refusals=refusals)
        self._settle(receipts, heads, failures, refusals, sealed,
                     claims={row.message_id: row.claimed_by for row in claimed})  # fmt: skip
        return len(claimed)

    def _seal(self, rows: list[Claimed]) -> tuple[list[Claimed], dict[str, str]]:
        """The rows ready to send (sealed now, or on an earlier attempt), and the failures.

        Sealed with no transaction open, then stored in a short one of their own: a row sent
        with a fresh envelope must hold it first, or a retry after a crash would seal anew and
        send other bytes for the same message.
        """
        failures: dict[str, str] = {}
        sealed, fresh = [], []
        now = self.clock()
        for row in rows:
            if row.envelope is None:
                try:
                    row.envelope = self._envelope(row, now)
                except (MigrexError, ValueError) as error:
                    failures[row.message_id] = f"cannot seal: {error}"
                    continue
                row.envelope_sha256 = _sha256(row.envelope)
                fresh.append(row)
            sealed.append(row)
        if not fresh:
            return sealed, failures
        with self.unit_of_work() as uow:
            stored = store_envelopes(uow.session, fresh)
            uow.commit()
        # A fresh envelope that did not go in is left out of this round: not sent, not settled.
        # Its row is not ours any more: our lease ran out while we sealed and another relay
        # claimed it, or it has been settled. That relay's envelope, sealed or still to be, is
        # the one every send must carry, so ours must never reach the receiver. Sending its
        # stored bytes instead would not do either: it may not have stored them yet, and
        # settling the row from here would undo its lease (a failure puts the row back in line
        # while that relay is sending it). The row's holder sends and settles it.
        lost = {row.id for row in fresh} - stored
        if lost:
            log.warning("relay lost messages to another claim", relay=self.relay_id,
                        messages=len(lost))  # fmt: skip
        return [row for row in sealed if row.id not in lost], failures

    def _envelope(self, row: Claimed, now: datetime) -> str:
        claims = MessageClaims(
            sender=row.sender, recipient=row.recipient, agreement=row.agreement_id,
            message_id=row.message_id, type=row.type, case_id=row.case_id,
            in_reply_to=row.in_reply_to, issued_at=row.issued_at, expires_at=row.expires_at,
        )  # fmt: skip
        return seal(
            claims,
            json.loads(row.body),
            signing_key=self.trust.signing_key(row.sender, now),
            recipient_key=self.trust.recipient_key(row.agreement_id, row.recipient, now),
        )

    def _post(
        self,
        endpoint: str,
        rows: list[Claimed],
        receipts: dict[str, dict[str, Any]],
        heads: dict[str, PartnerHead],
        failures: dict[str, str],
        *,
        refusals: dict[str, tuple[str, str]],
    ) -> None:
        try:
            results = self.transport.post_batch(endpoint, [row.envelope or "" for row in rows])
        except TransportError as error:
            failures.update({row.message_id: str(error) for row in rows})
            return
        now = self.clock()
        for row, result in zip(rows, results, strict=True):
            refusal = _final_refusal(result)
            if refusal is not None:
                # Sending these bytes again can only be refused again: set aside at once.
                refusals[row.message_id] = refusal
                continue
            receipt = self._receipt(row, result, now)
            if isinstance(receipt, str):
                failures[row.message_id] = receipt
                continue
            receipts[row.message_id], head = receipt
            if head is not None:
                heads[row.message_id] = head

    def _receipt(
        self, row: Claimed, result: dict[str, Any], now: datetime
    ) -> tuple[dict[str, Any], PartnerHead | None] | str:
        """The verified receipt's row to store and the receiver's log head it states, or why
        there is none."""
        if result.get("status") not in ("accepted", "duplicate"):
            problem = result.get("problem") or {}
            return f"refused by the receiver: {problem.get('reason')}: {problem.get('detail')}"
        try:
            verified = self._verified(row, str(result.get("receipt", "")))
        except ReceiptInvalid as error:
            return f"receipt rejected: {error.detail}"
        if verified.message_id != row.message_id:
            return "receipt is for another message"
        try:
            logged = verify_proof_claims(verified.extra.get(CLAIM) or {},
                                         message_id=row.message_id,
                                         envelope_sha256=verified.envelope_sha256)  # fmt: skip
        except AuditError as error:
            return f"receipt rejected: {error.detail}"
        return {
            "message_id": row.message_id, "envelope_sha256": verified.envelope_sha256,
            "receiver": verified.receiver, "received_at": verified.received_at,
            "token": str(result["receipt"]), "stored_at": now,
        }, self._head(row, verified.receiver, verified.received_at, logged)  # fmt: skip

    def _verified(self, row: Claimed, token: str) -> Receipt:
        """The receipt, verified for the envelope sent now or, for a message an operator
        re-issued, for an envelope it was sealed in before (the receiver answers a re-issue
        of a message it already holds with the receipt it signed then)."""
        hashes = row.envelope_hashes() or ("",)

        def verify(digest: str) -> Receipt:
            return verify_receipt(token, resolve_signing_key=self.trust.resolve_signing_key,
                                  expected_envelope_sha256=digest,
                                  expected_receiver=row.recipient)  # fmt: skip

        for digest in hashes[:-1]:
            try:
                return verify(digest)
            except ReceiptInvalid as error:
                if error.reason != "wrong-envelope":
                    raise
        return verify(hashes[-1])

    def _head(
        self, row: Claimed, receiver: str, signed_at: datetime, logged: LoggedAt
    ) -> PartnerHead | None:
        """The receiver's log head the receipt states, filed under that log's origin, for the
        witness to hold the receiver's checkpoints to (None: its node is not listed)."""
        try:
            entry = self.trust.directories[row.agreement_id].entry(receiver)
        except (KeyError, MigrexError):
            return None
        origin = log_origin(entry.state, entry.node_id)
        return PartnerHead(origin, logged.size, logged.root_hash, row.message_id, signed_at)

    def _settle(
        self,
        receipts: dict[str, dict[str, Any]],
        heads: dict[str, PartnerHead],
        failures: dict[str, str],
        refusals: dict[str, tuple[str, str]],
        sealed: list[Claimed],
        *,
        claims: Mapping[str, str | None],
    ) -> None:
        if not receipts and not failures and not refusals:
            return
        now = self.clock()
        for attempt in (1, 2):
            try:
                with self.unit_of_work() as uow:
                    parked, refused = self._store_settlement(
                        uow, receipts, heads=heads, failures=failures, refusals=refusals,
                        sealed=sealed, claims=claims, now=now,
                    )  # fmt: skip
                    uow.commit()
                break
            except IntegrityError:
                # Another relay stored one of these receipts between our look and our write:
                # it claimed the message again when our lease ran out, and got the same
                # receipt. The second pass finds it stored, and leaves its log entries to that
                # relay; without it, this whole round's messages waited for their leases.
                if attempt == 2:
                    raise
        self._report(failures, parked, refusals)
        if self.metrics:
            created = {row.message_id: row.created_at for row in sealed}
            for message_id in receipts:
                self.metrics.sent.inc()
                if message_id in created:
                    self.metrics.latency.observe((now - created[message_id]).total_seconds())
            self.metrics.failed_attempts.inc(len(failures))
            self.metrics.parked.inc(len(parked))
            for message_id in refused:
                self.metrics.refused.labels(refusals[message_id][0]).inc()

    def _store_settlement(
        self,
        uow: UnitOfWork,
        receipts: dict[str, dict[str, Any]],
        *,
        heads: dict[str, PartnerHead],
        failures: dict[str, str],
        refusals: dict[str, tuple[str, str]],
        sealed: list[Claimed],
        claims: Mapping[str, str | None],
        now: datetime,
    ) -> tuple[list[str], list[str]]:
        """Stores the receipts not stored yet and moves the rows; the ids parked and refused."""
        known = _receipted(uow.session, list(receipts))
        fresh = [r for r in receipts.values() if r["message_id"] not in known]
        if fresh:
            bulk_insert(uow.session, receipts_table, fresh)
            for leaf in _logged(fresh, {row.message_id: row for row in sealed}):
                record(uow.session, leaf)
            # A batch's receipts state one head of the receiver's log: keep it once.
            distinct = {(h.origin, h.size, h.root_hash): h for h in heads.values()}
            record_heads(uow.session, distinct.values(), now)
        mark_delivered(uow.session, list(receipts), now)
        parked = mark_failed(
            uow.session, failures, claims=claims, now=now, policy=self.policy, rng=self.rng
        ) if failures else []  # fmt: skip
        refused = mark_refused(uow.session, refusals, claims=claims, now=now) if refusals else []
        return parked, refused

    def _report(
        self,
        failures: Mapping[str, str],
        parked: list[str],
        refusals: Mapping[str, tuple[str, str]],
    ) -> None:
        """What an operator must see in the log: deliveries that failed and will be tried
        again (at most one line a minute, counting every try since the last: a partner down
        for a day must not write a line per round), messages parked after their last try, and
        those the receiver refused for good. Causes only, never the receiver's free text: a
        partner's words are not ours to log."""
        set_aside = set(parked)
        self._unsaid_failures.update(
            _causes(text for message_id, text in failures.items() if message_id not in set_aside)
        )
        now = self.clock()
        if self._unsaid_failures and (
            self._failures_said_at is None or now - self._failures_said_at >= FAILURES_SAID_EVERY
        ):
            log.warning("delivery failed, tried again later", relay=self.relay_id,
                        tries=sum(self._unsaid_failures.values()),
                        causes=dict(self._unsaid_failures))  # fmt: skip
            self._unsaid_failures.clear()
            self._failures_said_at = now
        if parked:
            log.error("messages parked after their last try: see migrex outbox list --parked",
                      relay=self.relay_id, messages=len(parked), first=parked[:5],
                      causes=_causes(failures[message_id] for message_id in parked))  # fmt: skip
        if refusals:
            log.error("messages refused for good by the receiver: see migrex outbox list --parked",
                      relay=self.relay_id, messages=len(refusals),
                      reasons=dict(Counter(reason for reason, _ in refusals.values())))  # fmt: skip

    def run_forever(
        self, stop: threading.Event, wake: Doorbell, poll: float, *, lead: bool = True
    ) -> None:
        """Rounds until `stop` is set.

        When idle, the lead relay looks again after `poll` seconds; the others sleep ten times
        longer, so idle relays do not keep the database busy. A round that finds a full batch,
        which means there is a backlog to share, wakes them all; a new message in the outbox
        wakes the lead (PostgreSQL, see `wakeup.Doorbell`).
        """
        idle_wait = poll if lead else poll * 10
        while not stop.is_set():
            if lead:
                wake.answer()
            try:
                claimed = self.run_once()
            except Exception as error:  # a relay must outlive a database or network hiccup
                # The class only: an error's text may quote what it failed on (G8).
                log.error("relay round failed", relay=self.relay_id, error=type(error).__name__)
                claimed = 0
                stop.wait(1.0)
            if claimed >= self.batch_size:
                wake.ring_all()
            elif not claimed:
                wake.wait(idle_wait, lead=lead)


def _final_refusal(result: dict[str, Any]) -> tuple[str, str] | None:
    """The receiver's reason code and a one-line detail when it refused the envelope for a
    reason no retry of the same bytes can overcome; None for anything else."""
    if result.get("status") != "rejected":
        return None
    problem = result.get("problem") or {}
    reason = problem.get("reason")
    if not isinstance(reason, str) or not is_final(reason):
        return None
    return reason, f"refused by the receiver: {reason}: {problem.get('detail')}"


def _causes(texts: Iterable[str]) -> dict[str, int]:
    """How many failures of each cause: the text up to its first colon ("ConnectError",
    "receipt rejected"), with the receiver's reason code when it refused (a slug; anything
    else it sent is left out)."""
    causes: Counter[str] = Counter()
    for text in texts:
        head, _, rest = text.partition(": ")
        if head == "refused by the receiver":
            code = rest.partition(": ")[0]
            head += ": " + (code if re.fullmatch(r"[a-z0-9-]{1,40}", code) else "(other)")
        causes[head[:80]] += 1
    return dict(causes)


def _receipted(session: Session, message_ids: list[str]) -> set[str]:
    """Which of these messages already have a stored receipt."""
    if not message_ids:
        return set()
    return set(session.scalars(_receipted_query(session.get_bind().dialect.name),
                               {"message_ids": message_ids}))  # fmt: skip


@functools.cache
def _receipted_query(dialect: str) -> Select[str]:
    column = receipts_table.c.message_id
    return select(column).where(in_list(column, "message_ids", dialect))


def _logged(receipts: list[dict[str, Any]], rows: dict[str, Claimed]) -> list[AuditLeaf]:
    """Each delivered message's log entries: sent (with its envelope hash), then receipted."""
    leaves = []
    for receipt in receipts:
        row = rows.get(receipt["message_id"])
        sender = row.sender if row is not None else receipt["receiver"]
        common = {
            "message_id": receipt["message_id"], "envelope_sha256": receipt["envelope_sha256"]
        }  # fmt: skip
        leaves += [
            events.message_sent(at=receipt["stored_at"], sender=sender, **common),
            events.receipt(at=receipt["stored_at"], sender=sender, receiver=receipt["receiver"],
                           **common),
        ]  # fmt: skip
    return leaves


def _sha256(envelope: str) -> str:
    return hashlib.sha256(envelope.encode("ascii")).hexdigest()
