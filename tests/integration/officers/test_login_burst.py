"""A burst of parallel logins no longer takes 64 MiB per login: hashing is bounded (issue 11,
item 8: 160 parallel logins took a node from 308 MB to 1.26 GB)."""

from __future__ import annotations

from migrex.officers.bench import measure


def test_a_burst_of_logins_stays_within_bounded_memory() -> None:
    unbounded = measure(16, 16)  # as before: every login hashed at once
    bounded = measure(16, 1)  # as the node runs: one hash at a time, the rest wait or get 429
    assert unbounded["peak_growth_mib"] > 700, unbounded
    assert bounded["peak_growth_mib"] < 300, bounded
    assert bounded["refused_429"] < 16
