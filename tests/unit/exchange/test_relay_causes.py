"""What the relay logs of failed deliveries: causes, never the receiver's free text (G8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from structlog.testing import capture_logs

from migrex.exchange.relay import Relay, _causes


def test_causes_keep_the_kind_and_the_receivers_reason_code_only() -> None:
    causes = _causes([
        "ConnectError: [Errno 111] Connection refused",
        "ConnectError: [Errno 111] Connection refused",
        "refused by the receiver: unknown-sender-key: key kz-1 of Ivanova Anna",
        "refused by the receiver: Ivanova Anna: whatever it says",
        "receipt rejected: signature does not verify",
        "connection refused",
    ])  # fmt: skip
    assert causes == {
        "ConnectError": 2,
        "refused by the receiver: unknown-sender-key": 1,
        "refused by the receiver: (other)": 1,
        "receipt rejected": 1,
        "connection refused": 1,
    }
    assert "Ivanova" not in repr(causes)


def test_failed_tries_are_said_at_most_once_a_minute_and_none_is_lost() -> None:
    now = [datetime(2026, 12, 7, 12, 0, tzinfo=UTC)]
    relay = Relay("relay-1", unit_of_work=None, trust=None, transport=None,  # type: ignore[arg-type]
                  clock=lambda: now[0])  # fmt: skip
    said = []
    with capture_logs() as logs:
        for second in range(0, 150, 10):  # a partner down: a failed round every 10 s
            now[0] = datetime(2026, 12, 7, 12, 0, tzinfo=UTC) + timedelta(seconds=second)
            relay._report({f"m{second}": "ConnectError: refused"}, [], {})
            said += [(second, e["tries"]) for e in logs if e["event"].startswith("delivery")]
            logs.clear()
    # At 0 s, then a minute later (the five tries since), then at 120 s (six more).
    assert said == [(0, 1), (60, 6), (120, 6)]
    with capture_logs() as logs:
        relay._report({"p": "ConnectError: refused"}, ["p"], {})  # parked: said at once
    assert [(e["log_level"], e["messages"]) for e in logs] == [("error", 1)]
