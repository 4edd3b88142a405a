"""An event loop on a fake clock, for running the rate limiter through hours in seconds.

``loop.time()`` only moves when the loop has nothing ready to run: it then jumps to the
next timer (plus a microsecond) instead of sleeping. Code that reads the loop's clock and
sleeps through it (aiolimiter, ``asyncio.sleep``) runs unchanged. Nothing here may wait for
real I/O.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_on_fake_clock"]

T = TypeVar("T")


class _JumpingSelector(selectors.SelectSelector):
    """A real selector (the loop's self-pipe needs one) that never sleeps: it moves the clock."""

    def __init__(self, loop: _FakeClockLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = super().select(0)
        if events:
            return events
        if timeout is None:
            raise RuntimeError("fake-clock loop: nothing scheduled, nothing to wait for")
        # One microsecond more, as real time would pass: a timer re-armed for "now" (float
        # rounding in aiolimiter) must not leave the clock standing still.
        self._loop.now += timeout + 1e-6
        return events


class _FakeClockLoop(asyncio.SelectorEventLoop):
    def __init__(self, start: float) -> None:
        self.now = start
        super().__init__(_JumpingSelector(self))

    def time(self) -> float:
        return self.now


def run_on_fake_clock(main: Coroutine[Any, Any, T], *, start: float = 1_000_000.0) -> T:
    """Run *main* to completion on a fresh fake-clock loop, then close the loop."""
    loop = _FakeClockLoop(start)
    try:
        return loop.run_until_complete(main)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
