"""How much memory a piece of code took at its peak, in this process (Linux).

The kernel's peak (VmHWM) is reset first through /proc/self/clear_refs, so earlier tests'
peaks do not hide this one; getrusage's maxrss cannot be reset and even carries a forking
parent's size over an exec.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_STATUS = Path("/proc/self/status")


def status_mib(field: str) -> float:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in {_STATUS}")


@contextmanager
def peak_growth() -> Iterator[list[float]]:
    """Yields a list that holds, once the block ends, the peak's growth in MiB."""
    Path("/proc/self/clear_refs").write_text("5")
    before, growth = status_mib("VmRSS"), []
    try:
        yield growth
    finally:
        growth.append(status_mib("VmHWM") - before)
