"""Two requests at once, made to meet at the same moment every time.

A race between two requests shows only when the second comes while the first is inside the
step that matters: after it has checked the row and before it has written. Left to chance
the two almost never meet there, so a test makes the step start the second request itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest


def beside(
    monkeypatch: pytest.MonkeyPatch,
    module: Any,
    name: str,
    second: Callable[[], Any],
    *,
    wait: float = 2,
) -> Callable[[], list[Any]]:
    """Makes the next call of `module.name` (a step the first request takes once it has
    checked what it decides on) start `second` in another thread and give it up to `wait`
    seconds before the step is taken, so the second request runs while the first is inside
    its step, every time. The second is done at once unless it waits for a lock the first
    holds (as a fix makes it): then it goes on once the first is done. The step is put back
    first, so the second, and any later call, take it plainly.

    Returns what waits for the second's thread to end and gives the outcomes: what `second`
    returned, or the error it raised (a refusal the test expects, or a failure it shows)."""
    step = getattr(module, name)
    outcomes: list[Any] = []
    threads: list[threading.Thread] = []

    def run_second() -> None:
        try:
            outcomes.append(second())
        except BaseException as error:  # reported to the test's thread
            outcomes.append(error)

    def with_the_second_beside(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(module, name, step)
        other = threading.Thread(target=run_second)
        other.start()
        other.join(timeout=wait)
        threads.append(other)
        return step(*args, **kwargs)

    def ended() -> list[Any]:
        for other in threads:
            other.join(timeout=30)
            assert not other.is_alive(), "the second request is still waiting"
        return outcomes

    monkeypatch.setattr(module, name, with_the_second_beside)
    return ended
