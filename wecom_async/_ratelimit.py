"""Client-side rate limiting: WeCom's per-API quotas, enforced before a request is sent.

The quotas (WeCom server API, "频率限制" / frequency limits)
--------------------------------------------------------------
* **Calls per API path, per corp**: at most 10,000 calls per minute **and** 150,000 calls per
  hour. Exceeding either is answered with errcode **45009** and WeCom then refuses that API for
  the corp for the length of the window it exceeded (60 s or 3600 s).
* **Concurrent calls per API path, per corp**: capped at an unpublished number (about 10);
  exceeding it is answered with errcode **45033**.

How the limiter keeps to them
-----------------------------
Every HTTP attempt (retries included) goes through ``async with limiter.slot():``, which

1. takes a place in a concurrency gate (limit :attr:`RateLimits.max_concurrency`, lowered on
   45033 and raised back slowly on success: additive increase, multiplicative decrease);
2. waits out a cool-down, if a 45009 started one;
3. takes one token from each leaky bucket (:class:`aiolimiter.AsyncLimiter`).

Bucket sizing. A leaky bucket of capacity ``B`` that drains at ``r`` calls per second admits at
most ``B + r·W`` calls in *any* window of length ``W``, whatever happened before (it may start
empty, at cold start or after an idle spell, and it drains while idle). For a quota of ``N``
calls per ``T`` seconds the buckets here are sized so that::

    B + r·(T + slack) <= N // share - 1         i.e.  r = (N // share - 1 - B) / (T + slack)

with ``B = floor(N // share · burst_fraction)`` (1 % by default, at least 1), checked in exact
arithmetic against the rate as aiolimiter rounds it (the period is nudged up by an ulp until it
holds). So no window of length ``T + slack`` ever sees more than ``N // share - 1`` tokens
taken. The spare call covers the one request that, with two buckets, took its first token
before it waited for the second (token waits are serialised, so there is at most one);
``slack`` (default 0.5 s) absorbs jitter between our send times and WeCom's arrival times.
With the default quotas the hour quota binds: the sustained rate is
``(150,000 - 1 - 1,500) / 3,600.5`` calls per second, 98.97 % of the quota. A bucket whose
bound is already implied by the other one is not created (with the defaults the hour bucket
admits at most ~4,000 calls in any minute, so there is no minute bucket), which keeps the
uncontended path at one bucket, about 0.5 µs over a bare ``AsyncLimiter``.

Limiters live per event loop (aiolimiter reads the running loop's clock; asyncio primitives bind
to one loop): :func:`limiter_for` returns the one limiter of a ``(loop, corp_id, api_path)``.
Every client of a corp in a loop must give it equal :class:`RateLimits`
(:class:`~wecom_async.RateLimitsConflictError` otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections import deque
from fractions import Fraction
from typing import TYPE_CHECKING, Final, final

import attrs
from aiolimiter import AsyncLimiter

from ._options import finite_at_least, flag, int_at_least, number_within
from .errors import Problem, RateLimitsConflictError, ValidationError

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["APILimiter", "RateLimits", "Slot", "limiter_for"]

#: WeCom: calls per minute allowed per corp and API path.
PER_MINUTE_QUOTA: Final = 10_000
#: WeCom: calls per hour allowed per corp and API path.
PER_HOUR_QUOTA: Final = 150_000
#: WeCom answers 45033 beyond about this many concurrent calls per corp and API (unpublished).
DEFAULT_MAX_CONCURRENCY: Final = 10

#: Calls held back from every quota: covers the one in-between request and float rounding.
_SPARE_CALLS: Final = 1
#: Smallest ``quota // share`` that leaves room for a burst of 1 and a drain rate above 0.
_MIN_QUOTA_PER_PROCESS: Final = 3


@attrs.frozen(slots=True)
class RateLimits:
    """How hard one process may use WeCom's per-API quotas.

    The defaults are WeCom's documented quotas: per corp and per API path, 10,000 calls a
    minute and 150,000 calls an hour (45009 beyond either, then the API is refused for the
    rest of the window: 60 s or 3600 s), and about 10 concurrent calls (45033 beyond).

    :param per_minute: calls allowed per API path per minute, for the whole corp.
    :param per_hour: calls allowed per API path per hour, for the whole corp.
    :param share: this corp's quota is shared with ``share - 1`` other processes; this process
        uses ``per_minute // share``, ``per_hour // share`` and
        ``max(1, max_concurrency // share)``. With ``WeComClient(redis=...)`` the processes
        share the whole quota through Redis instead, and ``share`` applies only around an
        outage of Redis (the most processes that may run: see ``_redis``).
    :param max_concurrency: concurrent calls allowed per API path, for the whole corp; the
        limit in force drops on 45033 and climbs back to this on success.
    :param burst_fraction: share of the quota that may go out at once from rest (the bucket
        capacity ``B``); the sustained rate is ``quota - B`` per window, so the default 1 %
        keeps about 99 %.
    :param window_slack: seconds added to every window when sizing the buckets, against the
        jitter between our send times and WeCom's arrival times.
    :param enabled: ``False`` turns all client-side limiting off (see :meth:`disabled`).
    """

    per_minute: int = attrs.field(default=PER_MINUTE_QUOTA, validator=int_at_least(1))
    per_hour: int = attrs.field(default=PER_HOUR_QUOTA, validator=int_at_least(1))
    share: int = attrs.field(default=1, validator=int_at_least(1))
    max_concurrency: int = attrs.field(default=DEFAULT_MAX_CONCURRENCY, validator=int_at_least(1))
    burst_fraction: float = attrs.field(
        default=0.01, validator=number_within(0, 1, open_interval=True)
    )
    window_slack: float = attrs.field(default=0.5, validator=finite_at_least(0))
    enabled: bool = attrs.field(default=True, validator=flag)

    def __attrs_post_init__(self) -> None:
        for name, quota in (("per_minute", self.per_minute), ("per_hour", self.per_hour)):
            if quota // self.share < _MIN_QUOTA_PER_PROCESS:
                message = (
                    f"{name} // share must be at least {_MIN_QUOTA_PER_PROCESS}, "
                    f"got {quota} // {self.share} = {quota // self.share}"
                )
                raise ValidationError([Problem(name, message)], model="RateLimits")

    @classmethod
    def disabled(cls) -> RateLimits:
        """No client-side limiting at all: no buckets, no concurrency cap, no cool-down."""
        return cls(enabled=False)

    @property
    def concurrency_per_process(self) -> int:
        """The concurrency cap this process starts with and climbs back to."""
        return max(1, self.max_concurrency // self.share)


@attrs.frozen(slots=True)
class _BucketSize:
    """One leaky bucket: ``AsyncLimiter(capacity, period)``, drains at ``capacity / period``/s."""

    capacity: float
    period: float

    @property
    def rate(self) -> float:
        """Drain rate in calls per second, computed like aiolimiter does."""
        return self.capacity / self.period

    def worst_window(self, seconds: float) -> Fraction:
        """Most admissions in any window of *seconds*, ``B + r·W``, computed exactly."""
        return Fraction(self.capacity) + Fraction(self.rate) * Fraction(seconds)


def _bucket_for(per_process: int, span: float, burst_fraction: float) -> _BucketSize:
    """The bucket admitting at most ``per_process - 1`` calls in any window of *span* seconds."""
    budget = per_process - _SPARE_CALLS  # >= 2 (validated), so 1 <= burst <= budget - 1
    burst = min(budget - 1, max(1, math.floor(per_process * burst_fraction)))
    size = _BucketSize(float(burst), burst * span / (budget - burst))
    while size.worst_window(span) > budget:  # float rounding: give up a hair of rate
        size = _BucketSize(size.capacity, math.nextafter(size.period, math.inf))
    return size


def _bucket_sizes(limits: RateLimits) -> tuple[_BucketSize, ...]:
    """The buckets enforcing *limits*, slowest first; a bucket implied by the other is left out.

    For a quota of ``N`` per ``T`` seconds, with ``N' = N // share`` and ``W = T + slack``:
    capacity ``B = max(1, floor(N' · burst_fraction))`` and period ``B·W / (N' - 1 - B)``, so
    the drain rate is ``(N' - 1 - B) / W`` and no window of ``W`` sees more than ``N' - 1``.
    """
    minute_span = 60.0 + limits.window_slack
    hour_span = 3600.0 + limits.window_slack
    minute_quota = limits.per_minute // limits.share
    hour_quota = limits.per_hour // limits.share
    minute = _bucket_for(minute_quota, minute_span, limits.burst_fraction)
    hour = _bucket_for(hour_quota, hour_span, limits.burst_fraction)
    if hour.worst_window(minute_span) <= minute_quota - _SPARE_CALLS:
        return (hour,)  # the defaults: the hour bucket alone keeps every minute under quota
    if minute.worst_window(hour_span) <= hour_quota - _SPARE_CALLS:
        return (minute,)
    return (hour, minute) if hour.rate <= minute.rate else (minute, hour)


@final
class Slot:
    """One admission through an :class:`APILimiter`: ``async with limiter.slot() as slot:``.

    Hold it for exactly one HTTP attempt. Pass it to :meth:`APILimiter.on_concurrency_limited`
    and :meth:`APILimiter.cool_down` so that answers to calls sent *before* the limiter reacted
    don't make it react again.
    """

    __slots__ = ("_cooldown_gen", "_decrease_gen", "_limiter")

    def __init__(self, limiter: APILimiter) -> None:
        self._limiter = limiter
        self._decrease_gen = -1
        self._cooldown_gen = -1

    async def acquire(self) -> Slot:
        """Wait for admission (``async with`` does this); pair it with :meth:`release`."""
        lim = self._limiter
        if not lim._enabled:
            return self
        if lim._in_flight < lim._limit and not lim._waiters:
            lim._in_flight += 1
        else:
            await lim._wait_for_gate()
        self._decrease_gen = lim._decrease_gen
        try:
            single = lim._single
            if single is not None and lim._blocked_until is None:
                await single.acquire()  # the common case, inlined: one bucket, no cool-down
                if lim._blocked_until is not None:
                    await lim._admit()  # a cool-down began while we waited: start over
            else:
                await lim._admit()
        except BaseException:
            lim._release()
            raise
        self._cooldown_gen = lim._cooldown_gen
        return self

    def release(self) -> bool:
        """Give the place back (once, after :meth:`acquire`; ``async with`` does this).

        Returns whether a waiting call was handed the place.
        """
        return self._limiter._enabled and self._limiter._release()

    __aenter__ = acquire

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class APILimiter:
    """The limits of one ``(corp, API path)`` in one event loop.

    Get it from :func:`limiter_for` (which shares it between all clients of the corp in the
    loop); it must only be used in the loop that was running when it was first used.
    (``_redis.SharedLimiter`` extends it to share the limits through Redis.)
    """

    __slots__ = (
        "_blocked_until",
        "_buckets",
        "_cap",
        "_cooldown_gen",
        "_credit",
        "_decrease_gen",
        "_enabled",
        "_in_flight",
        "_limit",
        "_rate_lock",
        "_single",
        "_waiters",
        "limits",
    )

    def __init__(self, limits: RateLimits | None = None) -> None:
        limits = RateLimits() if limits is None else limits
        #: The configuration in force (every client sharing it gave an equal one).
        self.limits: Final = limits
        self._enabled = limits.enabled
        self._buckets: tuple[AsyncLimiter, ...] = (
            tuple(AsyncLimiter(s.capacity, s.period) for s in _bucket_sizes(limits))
            if limits.enabled
            else ()
        )
        self._single = self._buckets[0] if len(self._buckets) == 1 else None
        # With two buckets, serialises the waits for tokens: only its holder may hold a token of
        # one bucket while it waits for the other, so at most one admission is counted early.
        self._rate_lock = asyncio.Lock() if len(self._buckets) > 1 else None
        self._cap = limits.concurrency_per_process
        self._limit = self._cap
        self._in_flight = 0
        self._credit = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._decrease_gen = 0
        self._cooldown_gen = 0
        self._blocked_until: float | None = None

    # --- hot path ---------------------------------------------------------------------------

    def slot(self) -> Slot:
        """An async context manager admitting one HTTP attempt; see :class:`Slot`."""
        return Slot(self)

    async def _admit(self) -> None:
        """Wait out any cool-down, then take one token of every bucket, all at one instant."""
        if self._rate_lock is None:
            await self._take_tokens()
        else:
            async with self._rate_lock:
                await self._take_tokens()

    async def _take_tokens(self) -> None:
        while True:
            blocked_until = self._blocked_until
            if blocked_until is not None:
                now = asyncio.get_running_loop().time()
                if now < blocked_until:
                    await asyncio.sleep(blocked_until - now)
                    continue
                self._blocked_until = None
            for bucket in self._buckets:
                await bucket.acquire()
            blocked_until = self._blocked_until
            if blocked_until is None or asyncio.get_running_loop().time() >= blocked_until:
                return
            # a cool-down began while we waited for tokens: they are spent; wait, then retry

    async def _wait_for_gate(self) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                self._pass_on()  # we were handed a place but won't use it
            else:
                with contextlib.suppress(ValueError):  # unless _wake already dropped it
                    self._waiters.remove(fut)
            raise

    def _release(self) -> bool:
        self._in_flight -= 1
        return bool(self._waiters) and self._wake()

    def _pass_on(self) -> None:
        """Give back a place that was handed to a waiter that left before using it."""
        self._release()

    def _wake(self) -> bool:
        """Hand free places to waiting calls; returns whether any was handed one."""
        waiters = self._waiters
        woken = False
        while waiters and self._in_flight < self._limit:
            fut = waiters.popleft()
            if not fut.done():
                self._in_flight += 1
                fut.set_result(None)
                woken = True
        return woken

    # --- feedback ---------------------------------------------------------------------------

    def on_success(self) -> None:
        """A call went through: raise the concurrency limit by one per ``limit`` successes."""
        if self._limit < self._cap:
            self._credit += 1
            if self._credit >= self._limit:
                self._credit = 0
                self._limit += 1
                if self._waiters:
                    self._wake()

    def on_concurrency_limited(self, slot: Slot) -> bool:
        """WeCom answered 45033 to the call in *slot*: halve the concurrency limit (min. 1).

        Ignored (returns ``False``) if the limit was already lowered after *slot* got its place:
        the calls that were in flight together all tend to fail together, and one decrease is
        the answer to all of them. Calls in flight are not interrupted; new ones wait until
        fewer than the new limit are in flight.
        """
        if not self._enabled or slot._decrease_gen != self._decrease_gen or self._limit == 1:
            return False
        self._limit = max(1, self._limit // 2)
        self._credit = 0
        self._decrease_gen += 1
        return True

    def cool_down(self, seconds: float, slot: Slot | None = None) -> bool:
        """WeCom answered 45009: hold back every call to this API for *seconds* from now.

        Calls already waiting and new ones wait until the block has passed. Overlapping
        cool-downs merge (the block ends at the latest end asked for), never add up. Given the
        *slot* of the refused call, a 45009 to a call sent before the current cool-down started
        is taken as part of that block and ignored. Returns whether the block was extended.
        """
        if not math.isfinite(seconds):
            raise ValueError(f"cool-down must be finite, got {seconds!r}")
        if not self._enabled or seconds <= 0:
            return False
        if slot is not None and slot._cooldown_gen != self._cooldown_gen:
            return False
        until = asyncio.get_running_loop().time() + seconds
        if self._blocked_until is not None and until <= self._blocked_until:
            return False
        self._blocked_until = until
        self._cooldown_gen += 1
        return True

    # --- introspection ----------------------------------------------------------------------

    @property
    def concurrency_limit(self) -> int:
        """How many calls may be in flight now (between 1 and the configured cap)."""
        return self._limit

    @property
    def in_flight(self) -> int:
        """How many slots are held now."""
        return self._in_flight

    @property
    def waiting(self) -> int:
        """How many callers wait for a concurrency slot."""
        return len(self._waiters)

    @property
    def rate(self) -> float:
        """Sustained calls per second this limiter allows (``inf`` when disabled)."""
        return min((b.max_rate / b.time_period for b in self._buckets), default=math.inf)

    @property
    def blocked_until(self) -> float | None:
        """Loop time at which the current cool-down ends, or ``None``."""
        blocked_until = self._blocked_until
        if blocked_until is None or asyncio.get_running_loop().time() >= blocked_until:
            return None
        return blocked_until

    def __repr__(self) -> str:
        return (
            f"<APILimiter limit={self._limit}/{self._cap} in_flight={self._in_flight} "
            f"waiting={len(self._waiters)} rate={self.rate:.3f}/s>"
        )


# --- the per-loop registry ------------------------------------------------------------------

# Keyed by the loop object itself, not a weak reference: the limiters' asyncio and aiolimiter
# internals hold the loop strongly, so a weak key would never die. Closed loops are dropped
# instead, whenever a new limiter is created.
_registry: dict[asyncio.AbstractEventLoop, dict[tuple[str, str], APILimiter]] = {}
_registry_lock = threading.Lock()


def limiter_for(corp_id: str, path: str, limits: RateLimits) -> APILimiter:
    """The limiter of API *path* for *corp_id* in the running event loop.

    Every client of one corp in one loop shares it, so they share the quota. All of them must
    give equal *limits*: a different one for a corp that has limiters in this loop raises
    :class:`~wecom_async.RateLimitsConflictError` rather than being silently ignored (keying
    limiters by their limits instead would let the clients together exceed the corp's quota).
    Must be called with a loop running; limiters of a loop are forgotten once it is closed.
    """
    loop = asyncio.get_running_loop()
    per_loop = _registry.get(loop)
    if per_loop is not None:
        limiter = per_loop.get((corp_id, path))
        if limiter is not None and (limiter.limits is limits or limiter.limits == limits):
            return limiter
    with _registry_lock:
        for old in [old for old in _registry if old.is_closed()]:
            del _registry[old]
        per_loop = _registry.setdefault(loop, {})
        for (corp, _), other in per_loop.items():
            if corp == corp_id and other.limits != limits:
                raise RateLimitsConflictError(
                    f"corp {corp_id} already has rate limiters in this event loop, with "
                    f"{other.limits}; a client with {limits} would share them (clients of one "
                    "corp share its quota): give every client of the corp the same RateLimits"
                )
        return per_loop.setdefault((corp_id, path), APILimiter(limits))
