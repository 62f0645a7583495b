"""Login throttling rules, clocked from outside: lockouts per account and per address that grow,
end, and clear on success; bounded memory; and the hashing gate's bound."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from migrex.officers import throttle as rules
from migrex.officers.throttle import HashingGate, LoginThrottle, LoginThrottled

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def waits(throttle: LoginThrottle, account: str, address: str | None, at: datetime) -> int | None:
    try:
        throttle.check(account, address, at)
    except LoginThrottled as refused:
        assert refused.headers == {"Retry-After": str(refused.retry_after)}
        return refused.retry_after
    return None


def test_an_account_is_locked_after_five_failures_for_a_growing_time() -> None:
    throttle = LoginThrottle()
    for n in range(5):
        assert waits(throttle, "anna", f"10.0.0.{n}", T0) is None
        throttle.failed("anna", f"10.0.0.{n}", T0)
    assert waits(throttle, "anna", "10.9.9.9", T0) is None  # five failures are free
    throttle.failed("Anna ", "10.9.9.9", T0)  # the sixth, under another spelling
    assert waits(throttle, "anna", "10.1.1.1", T0) == 30
    assert waits(throttle, "boris", "10.1.1.1", T0) is None  # other accounts are not held
    later = T0 + timedelta(seconds=31)
    assert waits(throttle, "anna", "10.1.1.1", later) is None
    throttle.failed("anna", "10.1.1.1", later)
    assert waits(throttle, "anna", "10.1.1.1", later) == 60  # doubled
    for _ in range(20):
        throttle.failed("anna", "10.1.1.1", later)
    assert waits(throttle, "anna", "10.1.1.1", later) == 15 * 60  # capped


def test_failures_outside_the_window_are_forgotten_and_success_clears() -> None:
    throttle = LoginThrottle()
    for _ in range(5):
        throttle.failed("anna", None, T0)
    throttle.failed("anna", None, T0 + rules.WINDOW + timedelta(seconds=1))
    assert waits(throttle, "anna", None, T0 + rules.WINDOW + timedelta(seconds=1)) is None
    for _ in range(5):
        throttle.failed("boris", None, T0)
    throttle.succeeded("boris")
    throttle.failed("boris", None, T0)
    assert waits(throttle, "boris", None, T0) is None


def test_an_address_spraying_many_accounts_is_locked() -> None:
    throttle = LoginThrottle()
    for n in range(20):
        throttle.failed(f"user{n}", "203.0.113.5", T0)
    assert waits(throttle, "someone-else", "203.0.113.5", T0) is None
    throttle.failed("user21", "203.0.113.5", T0)
    assert waits(throttle, "someone-else", "203.0.113.5", T0) == 60
    assert waits(throttle, "someone-else", "203.0.113.6", T0) is None


def test_memory_is_bounded_however_many_names_are_sprayed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules, "MAX_TRACKED", 100)
    throttle = LoginThrottle()
    for n in range(1000):
        throttle.failed(f"user{n}", f"10.0.{n // 250}.{n % 250}", T0)
    assert len(throttle._accounts.records) == 100
    assert len(throttle._addresses.records) == 100


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
