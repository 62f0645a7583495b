"""Which refusals are one entry of the security log: the rules, with no I/O.

A refusal is noted with its source (the peer's address or node), its stable reason and a
detail that never holds content. A thousand garbage envelopes from one address in one
minute are one entry counted a thousand times, not a thousand rows: the log stays readable
and a flood cannot fill the database through it. The first refusal's detail is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

WINDOW: Final = timedelta(minutes=1)
MAX_DETAIL: Final = 500


@dataclass(frozen=True)
class Refusal:
    reason: str
    detail: str
    peer: str | None = None
    size: int = 0
    envelope_sha256: str | None = None


@dataclass(frozen=True)
class Aggregate:
    """Refusals of one (source, reason) in one window: the first, how many, the last time."""

    first: Refusal
    count: int
    at: datetime

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.first.peer, self.first.reason)


def window_start(at: datetime, window: timedelta = WINDOW) -> datetime:
    """The start of the fixed window `at` falls in (windows are aligned on the epoch)."""
    epoch = datetime(1970, 1, 1, tzinfo=at.tzinfo or UTC)
    return at - (at - epoch) % window


def aggregate(refusals: Iterable[Refusal], at: datetime) -> list[Aggregate]:
    """The refusals noted at `at`, one aggregate per (source, reason), in first-seen order."""
    counts: dict[tuple[str | None, str], tuple[Refusal, int]] = {}
    for refusal in refusals:
        key = (refusal.peer, refusal.reason)
        first, count = counts.get(key, (refusal, 0))
        counts[key] = (first, count + 1)
    return [Aggregate(first, count, at) for first, count in counts.values()]


def clipped(detail: str) -> str:
    return detail if len(detail) <= MAX_DETAIL else detail[: MAX_DETAIL - 1] + "…"
