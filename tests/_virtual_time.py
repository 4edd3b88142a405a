"""Test helpers: an asyncio loop on virtual time, and sliding-window counting.

:class:`VirtualTimeLoop` is a real selector event loop whose :meth:`~VirtualTimeLoop.time` is a
number that only moves when the loop would otherwise wait: when nothing is ready it jumps
straight to the next timer. Code that reads ``loop.time()`` and sleeps through ``call_at`` /
``asyncio.sleep`` (aiolimiter, asyncio.timeout, ...) runs unchanged, an hour of traffic in a
second or two. Every pass of the loop also advances the clock by a small ``tick`` (1 µs by
default), as real time would; that guarantees progress when code re-arms a timer for "now".
"""

from __future__ import annotations

import asyncio
import selectors
from bisect import bisect_left
from collections.abc import Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

__all__ = ["VirtualTimeLoop", "count_between", "max_in_window", "run_virtual"]

T = TypeVar("T")

#: Real seconds to wait for I/O when the loop has nothing scheduled at all before calling it a
#: deadlock (nothing in these tests does real I/O; threads wake the loop through its self-pipe).
_DEADLOCK_AFTER = 30.0


class _VirtualSelector(selectors.BaseSelector):
    """Delegates to a real selector but turns every wait for a timer into a clock jump."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._real = selectors.DefaultSelector()
        self._loop = loop

    def register(
        self, fileobj: FileDescriptorLike, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: FileDescriptorLike) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(
        self, fileobj: FileDescriptorLike, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Mapping[FileDescriptorLike, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = self._real.select(0)
        if events:
            return events
        if timeout is None:  # nothing ready, nothing scheduled: only another thread can help
            events = self._real.select(_DEADLOCK_AFTER)
            if not events:
                raise RuntimeError("virtual-time loop: nothing scheduled and nothing happens")
            return events
        self._loop.advance(timeout)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop on a virtual clock; see the module docstring."""

    def __init__(self, *, start: float = 1_000_000.0, tick: float = 1e-6) -> None:
        self._virtual_now = float(start)
        self._virtual_tick = float(tick)
        super().__init__(_VirtualSelector(self))

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        """Move the clock by *seconds* plus one tick (time spent running callbacks)."""
        self._virtual_now += seconds + self._virtual_tick


def run_virtual(main: Coroutine[Any, Any, T], *, start: float = 1_000_000.0) -> T:
    """Run *main* to completion in a fresh :class:`VirtualTimeLoop`, then close the loop."""
    loop = VirtualTimeLoop(start=start)
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            leftovers = asyncio.all_tasks(loop)
            for task in leftovers:
                task.cancel()
            if leftovers:
                loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


def max_in_window(times: Sequence[float], window: float) -> int:
    """The most timestamps in any closed interval ``[a, a + window]`` (``times`` sorted).

    Closed at both ends, so calls exactly ``window`` apart count as being in one window: the
    strictest reading of "N calls per window".
    """
    if window < 0:
        raise ValueError("window must be >= 0")
    best = 0
    start = 0
    for end, t in enumerate(times):
        while t - times[start] > window:
            start += 1
        best = max(best, end - start + 1)
    return best


def count_between(times: Sequence[float], start: float, end: float) -> int:
    """How many of the sorted *times* fall in ``[start, end)``."""
    return bisect_left(times, end) - bisect_left(times, start)
