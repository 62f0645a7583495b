"""Delivery rules for outgoing messages: statuses, retry schedule, parking, refusals. Pure.

A message is `pending` until a relay claims it (`in_flight`, with a lease). A receipt makes it
`delivered`. A failed attempt puts it back to `pending` with an exponentially later, jittered
`next_attempt_at`; after the last attempt it is `parked`: kept, listed, retried only by an
operator. A relay that dies mid-flight leaves an expired lease, which makes the row claimable
again, and the receiver's idempotent inbox absorbs the second delivery.

A refusal by the receiver that the same envelope can never overcome (it has expired, names an
agreement the receiver is not party to, ...) is not a network error: retrying the same bytes
only repeats it. Such a message is `refused` at once, with the receiver's reason, and waits for
an operator to re-issue it (sealed anew) or discard it (`discarded`, with a reason). Parked and
refused messages still hold back the later messages of their case: order within a case is
kept, and the operator sees what waits behind them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    PARKED = "parked"
    REFUSED = "refused"
    DISCARDED = "discarded"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.IN_FLIGHT, Status.DISCARDED}),
    Status.IN_FLIGHT: frozenset({Status.DELIVERED, Status.PENDING, Status.PARKED, Status.REFUSED}),
    # An operator's retry (same envelope), re-issue (new envelope) or discard.
    Status.PARKED: frozenset({Status.PENDING, Status.DISCARDED}),
    # Retrying a refused envelope is futile: only a re-issue or a discard moves it on.
    Status.REFUSED: frozenset({Status.PENDING, Status.DISCARDED}),
    Status.DELIVERED: frozenset(),
    Status.DISCARDED: frozenset(),
}
# Statuses that hold back later messages of the same case: order within a case is kept.
UNFINISHED = (Status.PENDING, Status.IN_FLIGHT, Status.PARKED, Status.REFUSED)
# Statuses only an operator moves on (`migrex outbox retry|reissue|discard`).
NEEDS_OPERATOR = (Status.PARKED, Status.REFUSED)
# What an operator may re-issue or discard: a message no relay holds and none has delivered.
SETTLEABLE = (Status.PENDING, Status.PARKED, Status.REFUSED)

# The receiver's refusal reasons (`envelope.REJECTION_REASONS`) that no retry of the same
# envelope can overcome: its bytes, or its signed claims, are what the receiver refuses.
# `unknown-sender-key` and `bad-signature` are not here: they are the receiver's directory
# disagreeing with ours (a key rotation half done), which an update of the directory heals
# without a new envelope, so they are retried like network errors.
FINAL_REFUSALS: frozenset[str] = frozenset(
    {
        "expired",  # the lifetime it claims has passed; it never comes back
        "not-yet-valid",  # sealed by a clock ahead of the receiver's; re-issue once fixed
        "unknown-agreement",  # the receiver is not party to the agreement it names
        "not-a-party",  # sender or recipient outside that agreement
        "wrong-recipient",  # addressed to an authority the receiver does not host
        "unknown-recipient-key",  # encrypted to a key the receiver no longer holds
        "undecryptable",
        "malformed",
        "oversized",
        "bad-claims",  # e.g. a lifetime longer than the agreement allows
        "replayed",  # the receiver holds another message under this id
    }
)


def is_final(reason: str | None) -> bool:
    """Whether the receiver's refusal `reason` makes every retry of the envelope futile."""
    return reason in FINAL_REFUSALS


# A message waiting behind a re-issued one keeps its own times if they stay good this long:
# the case drains in seconds once its head goes, and a message left with only minutes would
# be refused on the way.
REDATE_MARGIN = timedelta(hours=1)


def needs_new_times(issued_at: datetime, expires_at: datetime, now: datetime) -> bool:
    """Whether a message waiting behind a re-issued one must get new times: its own would be
    refused (expired, nearly so, or issued in the future by a clock that was ahead)."""
    return issued_at > now or expires_at <= now + REDATE_MARGIN


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 12
    base: timedelta = timedelta(seconds=1)
    cap: timedelta = timedelta(minutes=10)
    lease: timedelta = timedelta(seconds=60)

    def next_attempt(self, attempts: int, now: datetime, rng: random.Random) -> datetime:
        """Full jitter: a uniform delay up to base·2^(attempts-1), capped (AWS backoff)."""
        ceiling = min(self.cap.total_seconds(), self.base.total_seconds() * 2 ** (attempts - 1))
        return now + timedelta(seconds=rng.uniform(0, ceiling))

    def after_failure(self, attempts: int) -> Status:
        return Status.PARKED if attempts >= self.max_attempts else Status.PENDING
