"""A manual clock for tests: token expiry and quota windows without real sleeping."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Clock", "FakeClock"]

#: What the fake reads the time from: seconds since the epoch, like :func:`time.time`.
Clock = Callable[[], float]


class FakeClock:
    """A clock that only moves when told to.

    Pass it as ``FakeWeCom(clock=FakeClock())``; call :meth:`advance` to expire tokens or slide
    quota windows instantly.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)

    def __call__(self) -> float:
        return self._now

    @property
    def now(self) -> float:
        """The current reading."""
        return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by *seconds* (must not be negative); return the new reading."""
        if seconds < 0:
            raise ValueError("a FakeClock does not go backwards")
        self._now += seconds
        return self._now

    def set(self, now: float) -> None:
        """Jump to *now* (may go backwards: tests of clock skew)."""
        self._now = float(now)

    def __repr__(self) -> str:
        return f"FakeClock({self._now!r})"
