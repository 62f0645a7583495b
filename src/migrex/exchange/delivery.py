"""Delivery rules for outgoing messages: statuses, retry schedule, parking. Pure.

A message is `pending` until a relay claims it (`in_flight`, with a lease). A receipt makes it
`delivered`. A failed attempt puts it back to `pending` with an exponentially later, jittered
`next_attempt_at`; after the last attempt it is `parked`: kept, listed, retried only by an
operator. A relay that dies mid-flight leaves an expired lease, which makes the row claimable
again, and the receiver's idempotent inbox absorbs the second delivery.
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


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.IN_FLIGHT}),
    Status.IN_FLIGHT: frozenset({Status.DELIVERED, Status.PENDING, Status.PARKED}),
    Status.PARKED: frozenset({Status.PENDING}),
    Status.DELIVERED: frozenset(),
}
# Statuses that hold back later messages of the same case: order within a case is kept.
UNFINISHED = (Status.PENDING, Status.IN_FLIGHT, Status.PARKED)


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
