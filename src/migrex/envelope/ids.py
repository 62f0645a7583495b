"""Message ids: UUIDv7 (RFC 9562 §5.7), written out because Python 3.11 has no `uuid.uuid7`.

Layout, most significant bit first: 48-bit Unix time in milliseconds, 4-bit version (0b0111),
12 bits `rand_a`, 2-bit variant (0b10), 62 bits `rand_b`. Ids made in one process without
explicit inputs are strictly increasing (RFC 9562 §6.2, method 2): within one millisecond the
74 random bits grow by a random step, so ids sort by creation order and stay unguessable.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RAND_BITS = 74
_RAND_LIMIT = 1 << _RAND_BITS
_MS_LIMIT = 1 << 48
_RAND_BYTES = 10  # 80 bits read, the top 74 used

# A UUID spelt as `str(uuid.UUID(...))` spells it (lower case, hyphens), version 7, RFC 4122
# variant (10xx): checked for every message id of every envelope, receipt and audit leaf, where
# parsing a UUID cost several times as much.
_CANONICAL_V7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

_lock = threading.Lock()
_last_ms = -1
_last_rand = 0


def _pack(unix_ms: int, rand74: int) -> str:
    rand_a = rand74 >> 62
    rand_b = rand74 & ((1 << 62) - 1)
    value = (unix_ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))


def _rand74(rand: bytes) -> int:
    if len(rand) < _RAND_BYTES:
        raise ValueError(f"a message id needs {_RAND_BYTES} random bytes, got {len(rand)}")
    return int.from_bytes(rand[:_RAND_BYTES], "big") >> (_RAND_BYTES * 8 - _RAND_BITS)


def _unix_ms(now: datetime) -> int:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("a message id needs an aware datetime")
    # Integer division of timedeltas is exact, unlike float timestamps.
    unix_ms = (now - _EPOCH) // timedelta(milliseconds=1)
    if not 0 <= unix_ms < _MS_LIMIT:
        raise ValueError(f"{now.isoformat()} is outside the UUIDv7 time range")
    return unix_ms


def new_message_id(now: datetime | None = None, rand: bytes | None = None) -> str:
    """A new UUIDv7 in canonical form (lower-case, hyphenated).

    With no arguments the id comes from the clock and the OS random source, and is greater
    than every id made before it in this process, even if the clock steps back. With `now`
    or `rand` given the id is a pure function of them (no process state), which tests use.
    """
    if now is not None or rand is not None:
        unix_ms = _unix_ms(now) if now is not None else time.time_ns() // 1_000_000
        return _pack(unix_ms, _rand74(rand if rand is not None else os.urandom(_RAND_BYTES)))

    # The monotonic state is process-wide by design: one sequence per process.
    global _last_ms, _last_rand
    fresh = os.urandom(_RAND_BYTES + 4)
    with _lock:
        unix_ms = time.time_ns() // 1_000_000
        if unix_ms > _last_ms:
            rand74 = _rand74(fresh)
        else:
            # Same millisecond, or the clock went back: stay on the last timestamp and step
            # the random part up by 1..2^32; on overflow borrow the next millisecond.
            unix_ms = _last_ms
            rand74 = _last_rand + 1 + int.from_bytes(fresh[_RAND_BYTES:], "big")
            if rand74 >= _RAND_LIMIT:
                unix_ms += 1
                rand74 = _rand74(fresh) >> 1  # leave headroom for the ids that follow
        _last_ms, _last_rand = unix_ms, rand74
    return _pack(unix_ms, rand74)


def is_message_id(value: object) -> bool:
    """Whether `value` is a UUIDv7 in canonical form.

    Only the canonical spelling is accepted, so one message cannot be replayed under another
    spelling of its id (upper case, braces, `urn:uuid:`) that a replay check would miss.
    """
    return isinstance(value, str) and _CANONICAL_V7.fullmatch(value) is not None


def message_id_time(message_id: str) -> datetime:
    """The creation time (millisecond precision, UTC) stored in a UUIDv7."""
    if not is_message_id(message_id):
        raise ValueError(f"{message_id!r} is not a UUIDv7")
    return _EPOCH + timedelta(milliseconds=uuid.UUID(message_id).int >> 80)
