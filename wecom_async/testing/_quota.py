"""Frequency limits: per (corp, API path) sliding windows of 60 s and 3600 s.

WeCom documents 10,000 calls per minute and 150,000 per hour per corp and per API (doc 90312).
The fake counts the calls it accepted in the last 60 s / 3600 s of the injected clock (a call at
time ``t`` is in the window at ``now`` while ``now - t < window``). A call that would exceed a
quota answers 45009 and blocks that API for that corp for the length of the window exceeded
(60 s for the minute quota, 3600 s for the hour quota), counted from that call; calls during the
block answer 45009 too.

Assumptions: rejected calls (45009) do not count against the quota; ``gettoken`` is not subject to
it; the per-IP limits are not modelled.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ._errors import FakeAPIError

__all__ = ["DEFAULT_QUOTA", "Quota", "QuotaTracker"]

MINUTE = 60.0
HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Quota:
    """Calls allowed per (corp, API path); ``None`` switches that window off."""

    per_minute: int | None = 10_000
    per_hour: int | None = 150_000


DEFAULT_QUOTA = Quota()


@dataclass(slots=True)
class _Window:
    minute: deque[float] = field(default_factory=deque)
    hour: deque[float] = field(default_factory=deque)
    blocked_until: float = float("-inf")


class QuotaTracker:
    """Counts accepted calls per key and rejects those over the :class:`Quota`."""

    def __init__(self, quota: Quota) -> None:
        self.quota = quota
        self._windows: dict[tuple[str, str], _Window] = {}
        #: How many calls were answered 45009 (over the quota, or during a block).
        self.rejected = 0

    def admit(self, key: tuple[str, str], now: float) -> None:
        """Count a call at *now*, or raise 45009 if it is over the quota or the API is blocked."""
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window()
        if now < window.blocked_until:
            self.rejected += 1
            raise FakeAPIError(45009, "api freq out of limit: blocked")
        per_minute, per_hour = self.quota.per_minute, self.quota.per_hour
        if per_minute is not None:
            _prune(window.minute, now - MINUTE)
            if len(window.minute) >= per_minute:
                window.blocked_until = now + MINUTE
                self.rejected += 1
                raise FakeAPIError(45009, f"api freq out of limit: over {per_minute} per minute")
        if per_hour is not None:
            _prune(window.hour, now - HOUR)
            if len(window.hour) >= per_hour:
                window.blocked_until = now + HOUR
                self.rejected += 1
                raise FakeAPIError(45009, f"api freq out of limit: over {per_hour} per hour")
        if per_minute is not None:
            window.minute.append(now)
        if per_hour is not None:
            window.hour.append(now)

    def blocked_until(self, key: tuple[str, str]) -> float | None:
        """Until when *key* is blocked (clock time), or None if it never was."""
        window = self._windows.get(key)
        if window is None or window.blocked_until == float("-inf"):
            return None
        return window.blocked_until


def _prune(times: deque[float], cutoff: float) -> None:
    while times and times[0] <= cutoff:
        times.popleft()
