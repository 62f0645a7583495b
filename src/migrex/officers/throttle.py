"""Login throttling: per account and per address, with lockouts that grow, and a bound on how
many password hashes run at once.

Every way in (the officers' API, the console's sign-in) goes through `sessions.log_in`, which
cannot be called without the throttle. The counts are kept in the node's database
(`officer_login_throttle`), so every process serving officers shares them and a restart
forgets nothing; the rules that move them are plain functions, clocked from outside. Neither a
name typed nor an address is stored: each is kept under a keyed hash (the node's secret), since
a username field sometimes receives a password. An unknown username is counted like a real
one: the answer never tells which accounts exist. Records nobody failed with for
`WINDOW` + `MAX_LOCK` are deleted as new failures come, so spraying names cannot grow the table
beyond what that time allows.

- An account may fail `ACCOUNT_FREE` times in `WINDOW`; each failure beyond locks it for
  `ACCOUNT_LOCK` doubled per further failure, at most `MAX_LOCK`. A success clears it.
- An address may fail `ADDRESS_FREE` times in `WINDOW` over any accounts; beyond, it is locked
  the same way from `ADDRESS_LOCK`. Its success does not clear it (a sprayer may know one
  password of its own).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from migrex.audit.store import insert_ignoring_conflict
from migrex.errors import MigrexError
from migrex.officers.tables import LoginThrottleRow

_THROTTLE = cast(Table, LoginThrottleRow.__table__)

# The node secret (in the key folder) the records' keys are hashed with.
LOGIN_THROTTLE_KEY: Final = "login-throttle.key"

WINDOW: Final = timedelta(minutes=15)
ACCOUNT_FREE: Final = 5
ACCOUNT_LOCK: Final = timedelta(seconds=30)
ADDRESS_FREE: Final = 20
ADDRESS_LOCK: Final = timedelta(minutes=1)
MAX_LOCK: Final = timedelta(minutes=15)


class LoginThrottled(MigrexError):
    type_slug = "login-throttled"
    title = "Too many login attempts; try again later"
    status = 429

    def __init__(self, detail: str, retry_after: timedelta) -> None:
        super().__init__(detail)
        self.retry_after = max(1, math.ceil(retry_after.total_seconds()))
        # RFC 9110 §10.2.3: how long to wait, in seconds.
        self.headers = {"Retry-After": str(self.retry_after)}


@dataclass(frozen=True)
class Rule:
    free: int
    first_lock: timedelta


ACCOUNT: Final = Rule(ACCOUNT_FREE, ACCOUNT_LOCK)
ADDRESS: Final = Rule(ADDRESS_FREE, ADDRESS_LOCK)


def after_failure(
    failures: list[datetime], now: datetime, rule: Rule
) -> tuple[list[datetime], datetime | None]:
    """The failures still in the window with this one, and until when they lock (None: free)."""
    # Enough to reach the longest lock; a flood of failures keeps the record small.
    recent = [at for at in failures if now - at < WINDOW][-(rule.free + 40) :]
    kept = [*recent, now]
    beyond = len(kept) - rule.free
    if beyond <= 0:
        return kept, None
    return kept, now + min(rule.first_lock * 2 ** min(beyond - 1, 20), MAX_LOCK)


def wait_left(locked_until: datetime | None, now: datetime) -> timedelta | None:
    if locked_until is None or locked_until <= now:
        return None
    return locked_until - now


class LoginThrottle:
    """Failed logins per account and per address, kept in the node's database, and whether a
    login may be tried now. `secret` keys the hashes the records are kept under."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def check(self, session: Session, account: str, address: str | None, now: datetime) -> None:
        """Raises LoginThrottled while the account or the address is locked."""
        keys = [self._key("account", _account(account))]
        if address:
            keys.append(self._key("address", address))
        rows = session.scalars(select(LoginThrottleRow).where(LoginThrottleRow.key.in_(keys)))
        waits = [w for row in rows if (w := wait_left(row.locked_until, now)) is not None]
        if waits:
            raise LoginThrottled("too many failed logins; wait before trying again", max(waits))

    def failed(self, session: Session, account: str, address: str | None, now: datetime) -> None:
        """Counts a failure against the account and the address (in the caller's transaction),
        and forgets records nobody has failed with for long."""
        session.execute(
            delete(LoginThrottleRow).where(LoginThrottleRow.updated_at < now - WINDOW - MAX_LOCK)
        )
        self._fail(session, self._key("account", _account(account)), ACCOUNT, now)
        if address:
            self._fail(session, self._key("address", address), ADDRESS, now)

    def succeeded(self, session: Session, account: str) -> None:
        session.execute(
            delete(LoginThrottleRow)
            .where(LoginThrottleRow.key == self._key("account", _account(account)))
        )  # fmt: skip

    def _fail(self, session: Session, key: str, rule: Rule, now: datetime) -> None:
        # Added unless there, then row-locked on PostgreSQL, so two processes failing at once
        # both count: two first failures at once each found no record and added one, and the
        # second's insert failed.
        empty = {"key": key, "failures": "[]", "updated_at": now}
        insert_ignoring_conflict(session, _THROTTLE, empty)
        row = session.scalars(select(LoginThrottleRow).where(LoginThrottleRow.key == key)
                              .with_for_update()).one()  # fmt: skip
        earlier = [datetime.fromisoformat(at) for at in json.loads(row.failures)]
        failures, row.locked_until = after_failure(earlier, now, rule)
        row.failures = json.dumps([at.isoformat() for at in failures])
        row.updated_at = now
        session.flush()

    def _key(self, kind: str, value: str) -> str:
        return hmac.new(self._secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def _account(username: str) -> str:
    # Bounded, so a megabyte of username is not hashed; case as the lookup folds it.
    return username.strip().lower()[:100]


class HashingGate:
    """At most `limit` password hashes at once. A hash takes 64 MiB and every core for about
    0.15 s, so a burst of logins computed side by side takes the process's memory and starves
    its other work (the partners' door, the relays); here they queue, and one that would wait
    longer than `wait` is refused with Retry-After instead."""

    def __init__(self, limit: int = 1, wait: timedelta = timedelta(seconds=5)) -> None:
        self.limit = limit
        self.wait = wait
        self._slots = threading.BoundedSemaphore(limit)

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self.wait.total_seconds()):
            raise LoginThrottled("too many logins at once; try again shortly", timedelta(seconds=1))
        try:
            yield
        finally:
            self._slots.release()
