"""Login throttling: per account and per address, with lockouts that grow, and a bound on how
many password hashes run at once.

The rules are plain and clocked from outside, so tests need no sleeping. Counters live in the
process (several officer listeners each keep their own, which only makes them stricter per
process); they are bounded, so spraying usernames or addresses cannot grow memory. An unknown
username is counted like a real one: the answer never tells which accounts exist.

- An account may fail `ACCOUNT_FREE` times in `WINDOW`; each failure beyond locks it for
  `ACCOUNT_LOCK` doubled per further failure, at most `MAX_LOCK`. A success clears it.
- An address may fail `ADDRESS_FREE` times in `WINDOW` over any accounts; beyond, it is locked
  the same way from `ADDRESS_LOCK`. Its success does not clear it (a sprayer may know one
  password of its own).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from migrex.errors import MigrexError

WINDOW: Final = timedelta(minutes=15)
ACCOUNT_FREE: Final = 5
ACCOUNT_LOCK: Final = timedelta(seconds=30)
ADDRESS_FREE: Final = 20
ADDRESS_LOCK: Final = timedelta(minutes=1)
MAX_LOCK: Final = timedelta(minutes=15)
MAX_TRACKED: Final = 10_000


class LoginThrottled(MigrexError):
    type_slug = "login-throttled"
    title = "Too many login attempts; try again later"
    status = 429

    def __init__(self, detail: str, retry_after: timedelta) -> None:
        super().__init__(detail)
        self.retry_after = max(1, math.ceil(retry_after.total_seconds()))
        # RFC 9110 §10.2.3: how long to wait, in seconds.
        self.headers = {"Retry-After": str(self.retry_after)}


@dataclass
class _Record:
    failures: list[datetime] = field(default_factory=list)
    locked_until: datetime | None = None


@dataclass
class _Counter:
    free: int
    first_lock: timedelta
    records: OrderedDict[str, _Record] = field(default_factory=OrderedDict)

    def wait(self, key: str, now: datetime) -> timedelta | None:
        record = self.records.get(key)
        if record is None or record.locked_until is None or record.locked_until <= now:
            return None
        return record.locked_until - now

    def fail(self, key: str, now: datetime) -> None:
        record = self.records.pop(key, None) or _Record()
        record.failures = [at for at in record.failures if now - at < WINDOW] + [now]
        beyond = len(record.failures) - self.free
        if beyond > 0:
            lock = min(self.first_lock * 2 ** min(beyond - 1, 20), MAX_LOCK)
            record.locked_until = now + lock
        self.records[key] = record  # most recent last
        while len(self.records) > MAX_TRACKED:
            self.records.popitem(last=False)

    def clear(self, key: str) -> None:
        self.records.pop(key, None)


class LoginThrottle:
    """Failed logins per account and per address, and whether a login may be tried now."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts = _Counter(ACCOUNT_FREE, ACCOUNT_LOCK)
        self._addresses = _Counter(ADDRESS_FREE, ADDRESS_LOCK)

    def check(self, account: str, address: str | None, now: datetime) -> None:
        """Raises LoginThrottled while the account or the address is locked."""
        with self._lock:
            waits = [
                wait
                for wait in (
                    self._accounts.wait(_account(account), now),
                    self._addresses.wait(address, now) if address else None,
                )
                if wait is not None
            ]
        if waits:
            raise LoginThrottled("too many failed logins; wait before trying again", max(waits))

    def failed(self, account: str, address: str | None, now: datetime) -> None:
        with self._lock:
            self._accounts.fail(_account(account), now)
            if address:
                self._addresses.fail(address, now)

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._accounts.clear(_account(account))


def _account(username: str) -> str:
    # Bounded, so a megabyte of username is not kept; case as the lookup folds it.
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
