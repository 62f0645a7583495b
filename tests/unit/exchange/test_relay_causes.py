"""What the relay logs of failed deliveries: causes, never the receiver's free text (G8)."""

from __future__ import annotations

from migrex.exchange.relay import _causes


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
