"""Login throttling rules, clocked from outside: lockouts per account and per address that grow,
end, and forget old failures; and the hashing gate's bound."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrex.officers import throttle as rules
from migrex.officers.throttle import HashingGate, LoginThrottled

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def locked(failures: int, rule: rules.Rule, at: datetime = T0) -> int | None:
    """Seconds of lock after `failures` failures at `at` (None: not locked)."""
    kept: list[datetime] = []
    until = None
    for _ in range(failures):
        kept, until = rules.after_failure(kept, at, rule)
    wait = rules.wait_left(until, at)
    return None if wait is None else int(wait.total_seconds())


def test_an_account_is_locked_after_five_failures_for_a_growing_time() -> None:
    assert locked(5, rules.ACCOUNT) is None  # five failures are free
    assert locked(6, rules.ACCOUNT) == 30
    assert locked(7, rules.ACCOUNT) == 60  # doubled
    assert locked(30, rules.ACCOUNT) == 15 * 60  # capped


def test_an_address_may_fail_more_often_before_it_is_locked() -> None:
    assert locked(20, rules.ADDRESS) is None
    assert locked(21, rules.ADDRESS) == 60


def test_failures_outside_the_window_are_forgotten() -> None:
    kept: list[datetime] = []
    for _ in range(5):
        kept, until = rules.after_failure(kept, T0, rules.ACCOUNT)
    later = T0 + rules.WINDOW + timedelta(seconds=1)
    kept, until = rules.after_failure(kept, later, rules.ACCOUNT)
    assert kept == [later] and until is None


@settings(max_examples=200)
@given(st.lists(st.integers(min_value=0, max_value=3600), max_size=200))
def test_what_is_kept_stays_small_and_a_lock_never_exceeds_the_cap(offsets: list[int]) -> None:
    kept: list[datetime] = []
    for offset in sorted(offsets):
        at = T0 + timedelta(seconds=offset)
        kept, until = rules.after_failure(kept, at, rules.ACCOUNT)
        assert len(kept) <= rules.ACCOUNT_FREE + 41
        assert until is None or timedelta(0) < until - at <= rules.MAX_LOCK
        assert all(at - earlier < rules.WINDOW for earlier in kept)


def test_the_hashing_gate_runs_at_most_its_limit_and_refuses_a_long_wait() -> None:
    gate = HashingGate(limit=2, wait=timedelta(seconds=5))
    running, most = 0, 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, most
        with gate.slot():
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.02)
            with lock:
                running -= 1

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 2

    impatient = HashingGate(limit=1, wait=timedelta(milliseconds=50))
    with impatient.slot(), pytest.raises(LoginThrottled) as refused, impatient.slot():
        pass
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "1"}
