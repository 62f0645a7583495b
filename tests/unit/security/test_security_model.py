"""Which refusals are one entry of the security log, and the --since filter's grammar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import typer

from migrex.security.cli import parse_since
from migrex.security.model import WINDOW, Refusal, aggregate, clipped, window_start

AT = datetime(2026, 12, 6, 10, 15, 42, 123456, tzinfo=UTC)


def test_identical_refusals_from_one_source_are_one_counted_aggregate() -> None:
    refusals = [Refusal("malformed", f"envelope {n} is not JWE", "10.0.0.9") for n in range(1000)]
    refusals += [Refusal("malformed", "x", "10.0.0.8"), Refusal("expired", "y", "10.0.0.9")]
    groups = aggregate(refusals, AT)
    assert [(g.key, g.count) for g in groups] == [
        (("10.0.0.9", "malformed"), 1000), (("10.0.0.8", "malformed"), 1),
        (("10.0.0.9", "expired"), 1),
    ]  # fmt: skip
    assert groups[0].first.detail == "envelope 0 is not JWE"


def test_windows_are_aligned_minutes() -> None:
    start = window_start(AT)
    assert start == datetime(2026, 12, 6, 10, 15, tzinfo=UTC)
    assert window_start(start + WINDOW - timedelta(microseconds=1)) == start
    assert window_start(start + WINDOW) == start + WINDOW


def test_a_long_detail_is_clipped() -> None:
    assert len(clipped("x" * 10_000)) == 500


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("30m", AT - timedelta(minutes=30)),
        ("24h", AT - timedelta(hours=24)),
        ("7d", AT - timedelta(days=7)),
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-12-01T08:00:00+05:00", datetime(2026, 12, 1, 3, tzinfo=UTC)),
    ],
)
def test_since(given: str, expected: datetime) -> None:
    assert parse_since(given, AT) == expected


def test_an_unreadable_since_is_a_usage_error() -> None:
    with pytest.raises(typer.BadParameter, match="time ago"):
        parse_since("yesterday", AT)
