"""`migrex bench logins`: a burst of parallel logins, with password hashing bounded as the node
runs it and unbounded as it ran before, each in a fresh process (peak memory is per process).

For each: the process's peak memory growth, the burst's wall time, how many logins were
refused with Retry-After, and how late a small periodic task (standing in for the partners'
door and the relays) ran while the burst went on.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import subprocess
import sys
import threading
import time
from typing import Annotated, Any

import typer

from migrex.officers import passwords
from migrex.officers.throttle import LoginThrottled

PROBE_EVERY = 0.02


def _memory_mib(field: str) -> float:
    """VmRSS (now) or VmHWM (the peak of this process's own memory) from /proc. Not
    getrusage's maxrss: Linux carries that over an exec from the forking parent, so a child
    of a large test run would report the parent's size."""
    with open("/proc/self/status") as status:  # noqa: PTH123 - a Linux proc file
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def burst(parallel: int, limit: int) -> dict[str, Any]:
    """Runs in this process: `parallel` wrong logins at once, `limit` hashes at a time."""
    stored = passwords.HASHER.hash("a long passphrase for the burst")
    passwords.bound_hashing(limit)
    before = _memory_mib("VmRSS")
    late: list[float] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            start = time.perf_counter()
            for _ in range(50):
                hashlib.sha256(b"x" * 4096).digest()
            time.sleep(PROBE_EVERY)
            late.append(time.perf_counter() - start - PROBE_EVERY)

    refused = 0
    lock = threading.Lock()

    def login() -> None:
        nonlocal refused
        try:
            passwords.verify_password(stored, "wrong")
        except LoginThrottled:
            with lock:
                refused += 1

    prober = threading.Thread(target=probe)
    prober.start()
    time.sleep(0.2)
    started = time.perf_counter()
    logins = [threading.Thread(target=login) for _ in range(parallel)]
    for thread in logins:
        thread.start()
    for thread in logins:
        thread.join()
    wall = time.perf_counter() - started
    done.set()
    prober.join()
    peak = _memory_mib("VmHWM")
    late.sort()
    return {
        "parallel": parallel,
        "hash_limit": limit,
        "peak_growth_mib": round(peak - before, 1),
        "wall_s": round(wall, 2),
        "refused_429": refused,
        "probe_p50_ms": round(statistics.median(late) * 1000, 1),
        "probe_max_ms": round(late[-1] * 1000, 1),
    }


def measure(parallel: int, limit: int) -> dict[str, Any]:
    """`burst` in a fresh interpreter, so its peak memory is the burst's own."""
    code = f"import json; from migrex.officers.bench import burst; print(json.dumps(burst({parallel}, {limit})))"  # noqa: E501
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def logins(
    parallel: Annotated[int, typer.Option(min=1, max=400, help="logins at once")] = 40,
    limit: Annotated[int, typer.Option(min=1, max=16, help="hashes at once when bounded")] = 1,
) -> None:
    """A burst of parallel logins: memory and latency with hashing bounded and unbounded."""
    figures = {"unbounded": measure(parallel, parallel), "bounded": measure(parallel, limit)}
    print(json.dumps(figures))
