"""Many processes, one corp: quotas, concurrency cap, cool-downs and tokens shared in Redis.

``WeComClient(..., redis="redis://…")`` makes every process that passes the same Redis share,
per ``(corp, API path)``, the minute and hour quotas, the concurrency cap, the 45009 cool-down
and the 45033 back-off, and per app the access token. This module is imported only then, so
``import wecom_async`` never imports redis-py.

Admission: one script call, on Redis's clock
---------------------------------------------
Every HTTP attempt runs :data:`_ADMIT` once (``EVALSHA``; reloaded after ``NOSCRIPT``). The
script reads Redis ``TIME`` (one clock for the whole fleet: no skew between callers, and the
time is taken *after* the request reached Redis, not before it was sent), then, all or nothing:

1. refuses while a cool-down key is set (45009), answering its remaining ``PTTL``;
2. applies GCRA to the minute *and* the hour window; if either refuses, nothing is taken and
   the answer is the longer wait;
3. purges expired leases and refuses if the concurrency cap (shared, lowered on 45033) is
   reached;
4. otherwise stores both windows' new theoretical arrival times and adds a lease.

It answers ``0`` or the wait in milliseconds; the caller sleeps that long and asks again. In one
process, one caller at a time talks to Redis per API (the others queue behind it in FIFO
order), so a fleet of ``P`` processes has at most ``P`` callers asking at once.

The bound (GCRA, "virtual scheduling")
--------------------------------------
For a quota of ``N`` calls per ``T`` seconds, let ``W = T + window_slack`` and
``M = N - 1`` (``_SPARE_CALLS``, as in the local limiter), ``b = max(1, floor(N ·
burst_fraction))`` capped at ``M - 1``, and the emission interval ``I = ceil(W / (M - b))``
microseconds. The state is a theoretical arrival time ``TAT`` (initially in the past). A call
at Redis time ``t`` is admitted iff ``max(TAT, t) - t <= (b - 1)·I``, and then
``TAT := max(TAT, t) + I``.

Claim: any closed interval of length ``W`` holds at most ``M`` admissions, whatever came
before (cold start, idle spells, any number of processes). Let ``t_1 <= … <= t_k`` be the
admissions in it, ``TAT_i`` the value after admission ``i``. Each admission raises ``TAT`` by
at least ``I`` and ``TAT_1 >= t_1 + I``, so ``TAT_(k-1) >= t_1 + (k - 1)·I``. Admission ``k``
needs ``TAT_(k-1) - t_k <= (b - 1)·I``; hence ``(k - b)·I <= t_k - t_1 <= W`` and
``k <= b + W / I <= b + (M - b) = M``. ∎

Redis runs scripts one at a time, so the admissions of all processes form one sequence on one
clock and the claim covers the fleet. ``window_slack`` (0.5 s by default) covers the time
between admission and arrival at WeCom (the reply, the send); ``M = N - 1`` leaves one call
spare for rounding. The sustained rate is ``(M - b) / W``: with the defaults the hour binds at
``(149,999 - 1,500) / 3,600.5`` calls per second, 98.97 % of the quota, the same as one
process alone with the local limiter. Rounding ``I`` up to a microsecond only lowers the rate.
Keys expire when ``TAT`` is reached (then the state equals a fresh one), so idle keys cost no
memory. Redis's clock stepping back only delays admissions. A Redis restarted without
persistence forgets the state: "Redis fails" below shows why no window goes over anyway.

Concurrency: leases
-------------------
A lease is a member of a sorted set scored by its expiry on Redis ``TIME`` (15 s by default);
expired leases are purged by every admission, so a process killed while holding leases gives
them back within the lease time. Leases of calls older than a third of the lease time are
renewed by one background task per limiter. Releasing runs :data:`_RELEASE` (one round trip,
not awaited by the call): it removes the lease and credits the successes counted since the last
release, which raises the shared cap by one per ``cap`` successes after a 45033 halved it
(:data:`_DECREASE`, once per generation like the local limiter). Steady state cost: two round
trips per call (admission + release).

Redis fails
-----------
Any Redis error (unreachable, no answer within 1 s whatever the client's socket timeouts,
restarting, read-only…) makes the client limit locally, with one WARNING. Calls then no longer
touch Redis: a background task PINGs it after growing pauses (0.5 s doubling to
``P = min(15 s, minute window / 4)``), and its first answer rejoins the shared state (one INFO
line). Tokens fall back to memory the same way. A call never fails because Redis did; the
calls under way when Redis fails wait at most the 1 s deadline.

Limiting locally must not break the bound, neither in a window that spans the outage's start
(calls admitted by Redis before it, then local ones) nor in one that spans its end (local calls
Redis never saw, then calls it admits; a restart without persistence also forgot the earlier
ones). Hence *pacing*, per window (minute and hour) and per process, with ``S =
RateLimits.share`` and, next to the GCRA's ``I`` and ``b``, the slower interval ``I_f =
ceil(W / (M - max(b, S)))`` µs (``>= I``):

* when this process detects the failure (its clock reads ``t_f``), nothing is admitted before
  ``t_f + D``, ``D = (S + 1)·I_f``; after that, admissions are at least ``J = S·I_f`` apart
  (measured from the moment the previous one was admitted: for a Redis admission, the moment
  its answer arrived, which is later);
* the pacing goes on after the rejoin (at ``r``): calls are admitted by Redis *and* paced,
  until ``r + W + B`` with ``B = P + 2 s`` (then every process that probes has rejoined, see
  below). Without an outage nothing is paced; the local limiter (quotas divided by ``S``)
  also applies while Redis is down.

Claim: given at most ``S`` processes (the contract of ``share``), every one of which sees each
outage (Redis admits nothing from the moment an outage begins, ``t_out``, until it ends, at
``R``, and each process detects it at its first attempt after ``t_out``), any closed interval
``[s, s + W]`` still holds at most ``M`` admissions. Clocks are taken to run at the same rate
(their offsets do not matter: only durations and the order of events are used). Two cases:

(a) *It starts before* ``R0 + B``, *for the latest outage that began before* ``s`` *(ending at*
    ``R0``). A process paces from its detection until at least ``R0 + W + B > s + W`` (a later
    outage only adds delays), so every admission in the interval is paced, ``J`` apart per
    process: at most ``S·(W/J + 1) = W/I_f + S <= M - max(b, S) + S <= M``.
(b) *Otherwise* (no earlier outage, or ``s >= R0 + B``). Let ``t*`` be the start of the first
    outage in the interval (``s + W`` if none). Every process rejoined by ``R0 + B`` (a probe
    under way at ``R0`` fails within the 1 s deadline, one pause ``<= P``, then a probe answers
    within 1 s), so the admissions in ``[s, t*]`` all went through the script on one Redis
    state (kept or fresh, whatever it held): at most ``b + (t* - s)/I`` (the proof above gives
    ``(k - b)·I <= t_k - t_1``). After ``t*`` every admission is paced: a process detects the
    outage no earlier than ``t*``, so its admissions lie in ``[t* + D, s + W]``, ``J`` apart,
    at most ``(s + W - t* - D)/J + 1`` if that span is not empty, and for ``S`` processes (as
    ``I_f >= I``) at most ``(s + W - t* - D)/I + S``. Together at most
    ``b + (W - D)/I + S <= M + S - D/I <= M``, as ``W/I <= M - b`` and ``D > S·I``; if the span
    is empty, ``b + W/I <= M``.

So a missing key (fresh or restarted Redis) needs no special start: the state Redis lost is
never mixed with calls admitted unpaced. The price: a stall of ``D`` when Redis fails (the
larger of the two windows'), local admissions at ``1/J`` per process (``S`` busy processes
together keep ``(M - max(b, S))/W``, as close to the quota as the shared rate), and a
process's share unused by it is lost while paced, for ``W + B`` after the rejoin: 77.5 s for
the minute, an hour and 17.5 s for the hour. With the default quotas the hour's ``I_f``
(24.2 ms) binds: ``D`` is 0.05 s with ``S = 1``, 0.22 s with ``S = 8``; the fleet test (120 a
minute, ``S = 4``: ``I_f`` = 0.526 s) stalls 2.6 s.

What no one can bound: processes that do not all see the same Redis (a partition, or a Redis
so slow that some calls miss the 1 s deadline while others are admitted), and a process that
made no Redis operation during the outage (it never noticed) and calls within ``W + B`` after
it: Redis admits it without knowing the local calls of the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import math
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs
from yarl import URL

from ._logfields import fields
from ._ratelimit import _SPARE_CALLS, APILimiter, RateLimits, Slot, limiter_for
from ._tokens import AccessToken, MemoryTokenStore

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["RedisCoordinator", "RedisTokenStore", "SharedLimiter"]

logger = logging.getLogger("wecom_async")

T = TypeVar("T")

#: Seconds a lease lives without renewal: a killed process's calls are given back by then.
DEFAULT_LEASE_SECONDS: Final = 15.0
#: Socket timeouts of a Redis created from a URL: a slow Redis must not stall calls.
DEFAULT_SOCKET_TIMEOUT: Final = 0.5
#: Longest wait for any one Redis operation on a borrowed client, whatever its socket timeouts
#: (it may have none): then Redis counts as failed and the call goes on without it. (A client
#: created from a URL has 0.5 s socket timeouts and one retry of a dropped connection.)
_DEADLINE: Final = 1.0
#: Backoff between probes of a Redis that failed. The longest pause is also capped at a quarter
#: of the minute window: it bounds how long after Redis is back every process has rejoined.
_PROBE_FIRST: Final = 0.5
_PROBE_MAX: Final = 15.0
#: Longest wait for a concurrency place before asking Redis again (a release in this process
#: wakes the waiter at once; releases elsewhere are seen on the next ask).
_LEASE_POLL_SECONDS: Final = 0.05
#: The token refresh lock: held at most this long, waited for at most that long.
_TOKEN_LOCK_SECONDS: Final = 20.0
#: How often a process waiting for another's gettoken tries the lock again.
_TOKEN_LOCK_POLL_SECONDS: Final = 0.05

_INSTALL_HINT: Final = "WeComClient(redis=...) needs redis-py: pip install 'wecom-async[redis]'"

# --- the scripts -------------------------------------------------------------------------------
# Lua 5.1 numbers are doubles: Redis TIME in microseconds (~1.8e15) is exact, but tostring()
# keeps 14 digits, so every number written back goes through string.format('%d').

#: KEYS: tat_minute, tat_hour, leases, conc, block.
#: ARGV: interval_minute_us, tolerance_minute_us, interval_hour_us, tolerance_hour_us, cap,
#: lease_id, lease_us, poll_ms.
#: Returns {wait_ms, reason, limit, generation, now_us}; reason 0 admitted, 1 cool-down,
#: 2 quota, 3 concurrency.
_ADMIT: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local conc = redis.call('HMGET', KEYS[4], 'limit', 'gen')
local limit = tonumber(conc[1]) or tonumber(ARGV[5])
local gen = tonumber(conc[2]) or 0
local block = redis.call('PTTL', KEYS[5])
if block > 0 then
  return {block, 1, limit, gen, now}
end
local wait = 0
local tats = {}
for i = 1, 2 do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  if tat - now > tolerance then
    if tat - now - tolerance > wait then wait = tat - now - tolerance end
  else
    tats[i] = tat + interval
  end
end
if wait > 0 then
  return {math.ceil(wait / 1000), 2, limit, gen, now}
end
local lease_us = tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', string.format('%d', now))
if redis.call('ZCARD', KEYS[3]) >= limit then
  local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  local until_expiry = math.ceil((tonumber(first[2]) - now) / 1000)
  return {math.max(1, math.min(tonumber(ARGV[8]), until_expiry)), 3, limit, gen, now}
end
for i = 1, 2 do
  redis.call('SET', KEYS[i], string.format('%d', tats[i]),
             'PX', math.ceil((tats[i] - now) / 1000) + 1)
end
redis.call('ZADD', KEYS[3], string.format('%d', now + lease_us), ARGV[6])
redis.call('PEXPIRE', KEYS[3], math.ceil(lease_us / 1000) + 1000)
return {0, 0, limit, gen, now}
"""

#: KEYS: leases, conc. ARGV: lease_id, successes, cap. Returns {limit, generation}.
#: A lowered cap (and its generation) is forgotten after an hour without change.
_RELEASE: Final = """
redis.call('ZREM', KEYS[1], ARGV[1])
local cap = tonumber(ARGV[3])
local conc = redis.call('HMGET', KEYS[2], 'limit', 'credit', 'gen')
local limit = tonumber(conc[1]) or cap
local gen = tonumber(conc[3]) or 0
local successes = tonumber(ARGV[2])
if successes > 0 and limit < cap then
  local credit = (tonumber(conc[2]) or 0) + successes
  while credit >= limit and limit < cap do
    credit = credit - limit
    limit = limit + 1
  end
  redis.call('HSET', KEYS[2], 'limit', limit, 'credit', credit, 'gen', gen)
  redis.call('PEXPIRE', KEYS[2], 3600000)
end
return {limit, gen}
"""

#: KEYS: conc. ARGV: generation seen by the refused call, cap. Returns {limit, generation}.
_DECREASE: Final = """
local conc = redis.call('HMGET', KEYS[1], 'limit', 'gen')
local limit = tonumber(conc[1]) or tonumber(ARGV[2])
local gen = tonumber(conc[2]) or 0
if tonumber(ARGV[1]) == gen and limit > 1 then
  limit = math.max(1, math.floor(limit / 2))
  gen = gen + 1
  redis.call('HSET', KEYS[1], 'limit', limit, 'credit', 0, 'gen', gen)
  redis.call('PEXPIRE', KEYS[1], 3600000)
end
return {limit, gen}
"""

#: KEYS: block. ARGV: block_ms, admission time (us) of the refused call.
#: A 45009 to a call admitted before the current block began is part of that block: ignored.
#: Otherwise the block ends at the later of its end and now + block_ms. Returns the block's
#: remaining milliseconds.
_COOL_DOWN: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local started = tonumber(redis.call('GET', KEYS[1]))
local remaining = redis.call('PTTL', KEYS[1])
if started and tonumber(ARGV[2]) < started then return remaining end
if remaining >= tonumber(ARGV[1]) then return remaining end
redis.call('SET', KEYS[1], string.format('%d', now), 'PX', ARGV[1])
return tonumber(ARGV[1])
"""

#: KEYS: leases. ARGV: lease_us, lease ids… Extends the leases still held. Returns how many.
_RENEW: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local expiry = string.format('%d', now + tonumber(ARGV[1]))
local renewed = 0
for i = 2, #ARGV do
  renewed = renewed + redis.call('ZADD', KEYS[1], 'XX', 'CH', expiry, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
return renewed
"""

#: KEYS: token. ARGV: value. Deletes the token only if it still has this value.
_INVALIDATE: Final = """
if redis.call('HGET', KEYS[1], 'v') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def safe_url(url: str) -> str:
    """*url* with any password replaced by ``***`` (for logs, reprs and errors)."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        return "<unparsable Redis URL>"
    if parsed.password is not None:
        parsed = parsed.with_password("***")
    return str(parsed)


def _describe_redis(client: Redis) -> str:
    """``redis://host:port/db`` of a borrowed client (never its password)."""
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    return f"redis://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"


def _burst(quota: int, burst_fraction: float) -> int:
    """``b``: admissions the shared GCRA lets go at once from rest (1 <= b <= M - 1)."""
    budget = quota - _SPARE_CALLS  # >= 2: RateLimits validates quota >= 3
    return min(budget - 1, max(1, math.floor(quota * burst_fraction)))


@attrs.frozen(slots=True)
class _Gcra:
    """One window of the admission script: emission interval and burst tolerance, in µs."""

    interval_us: int
    tolerance_us: int

    @classmethod
    def for_quota(cls, quota: int, span: float, burst_fraction: float) -> _Gcra:
        """At most ``quota - 1`` admissions in any closed interval of *span* seconds."""
        burst = _burst(quota, burst_fraction)
        interval = math.ceil(Fraction(span) * 1_000_000 / (quota - _SPARE_CALLS - burst))
        return cls(interval, (burst - 1) * interval)

    @property
    def rate(self) -> float:
        """Sustained admissions per second."""
        return 1_000_000 / self.interval_us


@attrs.frozen(slots=True)
class _Pacing:
    """One window's local pacing from an outage's start until a while after it ends, seconds.

    ``interval`` is ``J = share·I_f`` and ``delay`` is ``D = (share + 1)·I_f``, with
    ``I_f = ceil(W / (M - max(b, share)))`` µs (see "Redis fails" in the module docstring).
    """

    span: float
    delay: float
    interval: float

    @classmethod
    def for_quota(cls, quota: int, span: float, burst_fraction: float, share: int) -> _Pacing:
        budget = quota - _SPARE_CALLS - max(_burst(quota, burst_fraction), share)  # >= 1
        slow_us = math.ceil(Fraction(span) * 1_000_000 / budget)
        # One µs more each, against float rounding (the safe direction: later, slower).
        return cls(span, ((share + 1) * slow_us + 1) / 1e6, (share * slow_us + 1) / 1e6)


# --- the coordinator -------------------------------------------------------------------------


class RedisCoordinator:
    """One client's link to Redis: its health, its scripts, its shared limiters, its tokens.

    ``redis`` is a URL (the coordinator creates the connection pool, with short socket
    timeouts, and closes it in :meth:`close`) or a ``redis.asyncio.Redis`` it borrows and never
    closes. ``lease_seconds``, ``windows`` (the lengths of the "minute" and "hour"), ``clock``
    (lease ages, log durations), ``sleep`` (waits for admission) and ``probe_sleep`` (pauses
    between probes) are there for tests.
    """

    def __init__(
        self,
        redis: str | Redis,
        *,
        key_prefix: str = "",
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        windows: tuple[float, float] = (60.0, 3600.0),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        probe_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        try:
            from redis.asyncio import Redis as RedisClient
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
            from redis.exceptions import ConnectionError
        except ImportError as exc:
            raise ImportError(_INSTALL_HINT) from exc
        if not isinstance(key_prefix, str):
            raise TypeError(f"redis_key_prefix must be a str, got {type(key_prefix).__name__}")
        if isinstance(redis, str):
            self.where = safe_url(redis)
            try:
                client = RedisClient.from_url(
                    redis,
                    socket_timeout=DEFAULT_SOCKET_TIMEOUT,
                    socket_connect_timeout=DEFAULT_SOCKET_TIMEOUT,
                    # One immediate retry on a connection error: after a Redis restart, every
                    # pooled connection fails once before it reconnects. None on a timeout.
                    retry=Retry(NoBackoff(), 1, supported_errors=(ConnectionError,)),
                )
            except ValueError:
                raise ValueError(f"not a Redis URL: {self.where}") from None
            self.owns_redis = True
            #: Whether our socket timeouts bound every operation (then no deadline task is
            #: needed around each: ~50 µs less CPU per call); a borrowed client's may not.
            self.bounded = True
        elif isinstance(redis, RedisClient):
            client = redis
            self.where = _describe_redis(redis)
            self.owns_redis = False
            self.bounded = False
        else:
            raise TypeError(
                f"redis= takes a URL or a redis.asyncio.Redis, got {type(redis).__name__}"
            )
        self.redis: Final = client
        self.key_prefix: Final = key_prefix
        self.lease_seconds = lease_seconds
        self.windows = windows
        self.clock = clock
        self.sleep = sleep
        self.probe_sleep = probe_sleep
        # What counts as Redis failing: anything a Redis operation raises (its errors, socket
        # errors, timeouts, and redis-py's own failures, e.g. used from another event loop).
        # The call then goes on without Redis; the WARNING names the error.
        self.errors: Final[tuple[type[Exception], ...]] = (Exception,)
        password = client.connection_pool.connection_kwargs.get("password")
        self._password: Final = password if isinstance(password, str) and password else None
        self.instance_id: Final = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._lease_numbers = itertools.count()
        self.admit_script: Final[AsyncScript] = client.register_script(_ADMIT)
        self.release_script: Final[AsyncScript] = client.register_script(_RELEASE)
        self.decrease_script: Final[AsyncScript] = client.register_script(_DECREASE)
        self.cool_down_script: Final[AsyncScript] = client.register_script(_COOL_DOWN)
        self.renew_script: Final[AsyncScript] = client.register_script(_RENEW)
        self.invalidate_script: Final[AsyncScript] = client.register_script(_INVALIDATE)
        self._down_since: float | None = None
        #: Outages seen so far; clock() when the latest was detected and when it ended.
        self.outages = 0
        self.outage_started = -math.inf
        self.rejoined_at = -math.inf
        #: The longest pause between probes, and how long after Redis is back every process
        #: that probes it has rejoined: a probe that began just before fails within the
        #: deadline, one pause, then the next probe answers within the deadline.
        self.probe_max = min(_PROBE_MAX, windows[0] / 4)
        self.rejoin_bound = self.probe_max + 2 * _DEADLINE
        self._probe_task: asyncio.Task[None] | None = None
        self._limiters: dict[asyncio.AbstractEventLoop, dict[tuple[str, str], SharedLimiter]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def __repr__(self) -> str:
        state = "up" if self._down_since is None else "down"
        return f"<RedisCoordinator {self.where} prefix={self.key_prefix!r} {state}>"

    # --- health -------------------------------------------------------------------------------

    @property
    def shared(self) -> bool:
        """Whether Redis answers (``False`` while limiting locally after a failure)."""
        return self._down_since is None

    def available(self) -> bool:
        """Whether to ask Redis (``False`` from a failure until a background probe answers)."""
        return self._down_since is None

    def failed(self, exc: BaseException) -> None:
        """Redis failed: one WARNING, then limit locally until a background probe answers."""
        if self._down_since is not None or self._closed:
            return
        self._down_since = self.outage_started = self.clock()
        self.outages += 1
        logger.warning(
            "Redis unavailable at %s (%s: %s): limiting locally at 1/share of the quotas "
            "(RateLimits.share) and keeping tokens in memory until it answers",
            self.where,
            type(exc).__name__,
            self.scrub(str(exc)),
            extra=fields(),
        )
        if not self._closed:
            self._probe_task = asyncio.ensure_future(self._probe())

    def scrub(self, text: str) -> str:
        """*text* without the Redis password (redis-py's messages should not hold it anyway)."""
        return text.replace(self._password, "***") if self._password else text

    async def _probe(self) -> None:
        """PING Redis after growing pauses (0.5 s doubling to 15 s) until it answers."""
        backoff = min(_PROBE_FIRST, self.probe_max)
        while self._down_since is not None and not self._closed:
            await self.probe_sleep(backoff)
            try:
                await asyncio.wait_for(self.redis.ping(), _DEADLINE)
            except self.errors:
                backoff = min(backoff * 2, self.probe_max)
            else:
                self.answered()

    def answered(self) -> None:
        """Redis answered: rejoin the shared state if it had failed."""
        if self._down_since is not None:
            logger.info(
                "Redis is back at %s after %.1f s: sharing quotas and tokens again",
                self.where,
                self.clock() - self._down_since,
                extra=fields(),
            )
            self._down_since = None
            self.rejoined_at = self.clock()

    def pacing(self, span: float, now: float) -> bool:
        """Whether a window of *span* seconds is paced locally now (see "Redis fails")."""
        return self._down_since is not None or now < self.rejoined_at + span + self.rejoin_bound

    async def attempt(self, operation: Callable[[], Awaitable[T]]) -> T | None:
        """Run one Redis operation if Redis is to be asked now, within :data:`_DEADLINE`.

        Returns ``None`` if it was skipped (Redis down) or failed (recorded by :meth:`failed`):
        the caller then does without Redis.
        """
        if not self.available() or self._closed:
            return None
        try:
            if self.bounded:
                result = await operation()
            else:
                result = await asyncio.wait_for(operation(), _DEADLINE)
        except self.errors as exc:
            self.failed(exc)
            return None
        self.answered()
        return result

    # --- keys, leases, background work ---------------------------------------------------------

    def keys(self, corp_id: str, path: str) -> list[bytes]:
        """tat_minute, tat_hour, leases, conc, block of one API (one hash slot)."""
        base = f"{self.key_prefix}wecom:rl:{{{corp_id}/{path}}}"
        return [f"{base}:{name}".encode() for name in ("m", "h", "lease", "conc", "block")]

    def lease_id(self) -> bytes:
        return f"{self.instance_id}-{next(self._lease_numbers)}".encode()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run *coro* in the background (it handles its own Redis errors); :meth:`close` waits."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def limiter_for(self, corp_id: str, path: str, limits: RateLimits) -> APILimiter:
        """The shared limiter of *path* for *corp_id* in the running loop (cf. ``limiter_for``)."""
        loop = asyncio.get_running_loop()
        per_loop = self._limiters.get(loop)
        if per_loop is not None:
            limiter = per_loop.get((corp_id, path))
            if limiter is not None:
                return limiter
        if not limits.enabled:
            return limiter_for(corp_id, path, limits)
        for old in [old for old in self._limiters if old.is_closed()]:
            del self._limiters[old]
        per_loop = self._limiters.setdefault(loop, {})
        return per_loop.setdefault((corp_id, path), SharedLimiter(self, corp_id, path, limits))

    def token_store(self) -> RedisTokenStore:
        return RedisTokenStore(self)

    async def close(self) -> None:
        """Finish background releases, then close the Redis this coordinator created."""
        if self._closed:
            return
        self._closed = True
        if self._probe_task is not None:
            self._probe_task.cancel()
            await asyncio.wait({self._probe_task})
        for per_loop in self._limiters.values():
            for limiter in per_loop.values():
                limiter._stop_renewal()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=_DEADLINE)
            for task in pending:  # an operation on a Redis that hangs
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        if self.owns_redis:
            await self.redis.aclose()


# --- the shared limiter ------------------------------------------------------------------------


class SharedLimiter(APILimiter):
    """An :class:`APILimiter` whose quotas, cap and cool-down live in Redis.

    The inherited gate keeps this process's calls to the shared cap (mirrored from Redis);
    :meth:`_admit` asks Redis. While Redis is unavailable it behaves like an ``APILimiter`` with
    the same ``RateLimits`` (quotas divided by ``share``).
    """

    __slots__ = (
        "_admit_lock",
        "_admit_tail",
        "_block_started_us",
        "_coord",
        "_corp_cap",
        "_fallback",
        "_freed",
        "_gcra_args",
        "_keys",
        "_last_now_us",
        "_leases",
        "_local",
        "_local_holders",
        "_pace_next",
        "_pacings",
        "_renewal",
        "_successes",
        "_unleased_exits",
    )

    def __init__(
        self, coord: RedisCoordinator, corp_id: str, path: str, limits: RateLimits
    ) -> None:
        super().__init__(limits)
        self._coord = coord
        self._fallback = APILimiter(limits)
        self._buckets = ()
        self._single = None  # Slot.acquire: always through _admit
        self._rate_lock = None
        self._corp_cap = limits.max_concurrency
        self._cap = self._limit = self._corp_cap
        self._local = False
        minute, hour = coord.windows
        slack = limits.window_slack
        gcras = (
            _Gcra.for_quota(limits.per_minute, minute + slack, limits.burst_fraction),
            _Gcra.for_quota(limits.per_hour, hour + slack, limits.burst_fraction),
        )
        # The script's arguments, encoded once: the windows and the cap, (lease id), the lease
        # time and the concurrency poll.
        self._gcra_args: list[bytes] = [
            str(n).encode() for g in gcras for n in (g.interval_us, g.tolerance_us)
        ]
        # Used only once Redis has failed: see "Redis fails" in the module docstring.
        self._pacings = (
            _Pacing.for_quota(
                limits.per_minute, minute + slack, limits.burst_fraction, limits.share
            ),
            _Pacing.for_quota(limits.per_hour, hour + slack, limits.burst_fraction, limits.share),
        )
        self._pace_next = [-math.inf, -math.inf]  # clock() before which no paced admission
        self._gcra_args.append(str(self._corp_cap).encode())
        self._admit_tail = [
            str(round(coord.lease_seconds * 1_000_000)).encode(),
            str(round(_LEASE_POLL_SECONDS * 1000)).encode(),
        ]
        self._keys = coord.keys(corp_id, path)
        self._admit_lock = asyncio.Lock()
        self._freed = asyncio.Event()
        self._leases: list[tuple[bytes, float]] = []  # held by this process: (id, taken at)
        self._successes = 0
        self._renewal: asyncio.Task[None] | None = None
        # Gate places given back with no lease to give back: see _release.
        self._unleased_exits = 0
        self._local_holders = 0
        # Redis time (µs) of the latest admission answer, and that of the last 45009 seen here.
        self._last_now_us = -1
        self._block_started_us = -1

    def __repr__(self) -> str:
        mode = "local" if self._local else "shared"
        return (
            f"<SharedLimiter {mode} limit={self._limit}/{self._cap} in_flight={self._in_flight} "
            f"waiting={len(self._waiters)} leases={len(self._leases)}>"
        )

    @property
    def rate(self) -> float:
        """Sustained calls per second allowed to the whole fleet (to this process if local)."""
        if self._local:
            return self._fallback.rate
        return min(1_000_000 / int(self._gcra_args[0]), 1_000_000 / int(self._gcra_args[2]))

    # --- modes --------------------------------------------------------------------------------

    def _go_local(self) -> None:
        if not self._local:
            self._local = True
            self._cap = self._fallback.limits.concurrency_per_process
            self._limit = min(self._limit, self._cap)

    def _go_shared(self, limit: int, generation: int) -> None:
        if self._local:
            self._local = False
            self._cap = self._corp_cap
        self._sync(limit, generation)

    def _sync(self, limit: int, generation: int) -> None:
        """Mirror the shared cap and its 45033 generation."""
        if self._local:
            return
        raised = limit > self._limit
        self._limit = limit
        self._decrease_gen = generation
        if raised and self._waiters:
            self._wake()

    # --- admission ----------------------------------------------------------------------------

    async def _admit(self) -> None:
        try:
            await self._admit_shared_or_local()
        except BaseException:
            self._unleased_exits += 1  # Slot.acquire now gives back the gate place: no lease
            raise

    async def _admit_shared_or_local(self) -> None:
        coord = self._coord
        async with self._admit_lock:
            while True:
                if coord.outages:
                    await self._pace()
                if not coord.available():
                    self._go_local()
                    await self._fallback._admit()
                    self._paced()
                    self._cooldown_gen = self._fallback._cooldown_gen
                    self._local_holders += 1
                    return
                blocked_until = self._fallback.blocked_until
                if blocked_until is not None:
                    # A 45009 seen here (kept locally too, in case Redis fails, or began while
                    # Redis was down): no need to ask Redis before it ends.
                    await coord.sleep(blocked_until - asyncio.get_running_loop().time())
                    continue
                lease = coord.lease_id()
                pending = asyncio.ensure_future(
                    coord.admit_script(
                        keys=self._keys,
                        args=[*self._gcra_args, lease, *self._admit_tail],
                    )
                )
                try:
                    # Shielded: a caller cancelled (or timed out) while Redis admits it gives
                    # the lease back once the answer comes.
                    if coord.bounded:
                        reply = await asyncio.shield(pending)
                    else:
                        reply = await asyncio.wait_for(asyncio.shield(pending), _DEADLINE)
                except BaseException as exc:
                    if not pending.done() or not pending.cancelled():
                        pending.add_done_callback(functools.partial(self._abandon, lease=lease))
                    if not isinstance(exc, coord.errors):
                        raise
                    coord.failed(exc)
                    continue
                coord.answered()
                wait_ms, reason, limit, generation, now_us = (int(n) for n in reply)
                self._last_now_us = max(self._last_now_us, now_us)
                self._go_shared(limit, generation)
                if reason == 0:
                    if coord.outages:
                        self._paced()
                    self._leases.append((lease, coord.clock()))
                    self._cooldown_gen = now_us  # Slot keeps it: the admission time
                    if self._renewal is None:
                        self._renewal = asyncio.ensure_future(self._renew_leases())
                    return
                if reason == 3:  # the cap is reached: a release here or elsewhere frees a place
                    self._freed.clear()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._freed.wait(), wait_ms / 1000)
                else:
                    await coord.sleep(wait_ms / 1000)

    async def _pace(self) -> None:
        """Since an outage began: wait for this process's turn in every paced window."""
        coord = self._coord
        now = coord.clock()
        due = now
        for pacing, next_at in zip(self._pacings, self._pace_next, strict=True):
            if coord.pacing(pacing.span, now):
                due = max(due, next_at, coord.outage_started + pacing.delay)
        if due > now:
            await coord.sleep(due - now)

    def _paced(self) -> None:
        """Admitted (locally or by Redis, whose answer came before now): the next paced
        admission of this process comes at least one pacing interval later."""
        now = self._coord.clock()
        self._pace_next = [now + pacing.interval for pacing in self._pacings]

    def _abandon(self, done: asyncio.Future[Any], lease: bytes) -> None:
        """The caller left while Redis admitted it: give back the lease if one was taken."""
        if done.cancelled() or done.exception() is not None:
            return
        if int(done.result()[1]) == 0:
            self._coord.spawn(self._give_back(lease, 0))

    def _release(self) -> bool:
        handed = super()._release()
        # Leases are interchangeable: they count this process's calls in flight, and only the
        # number matters. A place given back without a lease (admission abandoned, or admitted
        # while Redis was down) takes none; when unsure, a lease is kept a little longer
        # rather than given back early.
        if self._unleased_exits:
            self._unleased_exits -= 1
        elif self._local_holders:
            self._local_holders -= 1
        elif self._leases:
            # The newest goes, so the oldest keep the age of the longest calls (for renewal).
            lease, _ = self._leases.pop()
            successes, self._successes = self._successes, 0
            self._coord.spawn(self._give_back(lease, successes))
        return handed

    def _pass_on(self) -> None:
        self._unleased_exits += 1
        super()._pass_on()

    async def _give_back(self, lease: bytes, successes: int) -> None:
        # Without Redis the lease expires by itself.
        reply = await self._coord.attempt(
            lambda: self._coord.release_script(
                keys=[self._keys[2], self._keys[3]], args=[lease, successes, self._corp_cap]
            )
        )
        if reply is not None:
            self._sync(int(reply[0]), int(reply[1]))
        self._freed.set()

    async def _renew_leases(self) -> None:
        """While leases are held, extend those older than a third of the lease time."""
        coord = self._coord
        period = coord.lease_seconds / 3
        try:
            while self._leases:
                await asyncio.sleep(period)
                due = [lease for lease, taken in self._leases if coord.clock() - taken >= period]
                if due:
                    args: list[int | bytes] = [round(coord.lease_seconds * 1_000_000), *due]
                    renew = functools.partial(coord.renew_script, keys=[self._keys[2]], args=args)
                    await coord.attempt(renew)
        finally:
            self._renewal = None

    def _stop_renewal(self) -> None:
        if self._renewal is not None:
            self._renewal.cancel()

    # --- feedback -----------------------------------------------------------------------------

    def on_success(self) -> None:
        if self._local:
            super().on_success()
        elif self._limit < self._corp_cap:
            self._successes += 1  # credited to the shared cap by the next release

    def on_concurrency_limited(self, slot: Slot) -> bool:
        if self._local:
            return super().on_concurrency_limited(slot)
        if slot._decrease_gen != self._decrease_gen or self._limit == 1:
            return False
        generation = slot._decrease_gen
        self._limit = max(1, self._limit // 2)  # at once here; Redis tells the others
        self._decrease_gen += 1
        self._successes = 0
        self._coord.spawn(self._decrease(generation))
        return True

    async def _decrease(self, generation: int) -> None:
        reply = await self._coord.attempt(
            lambda: self._coord.decrease_script(
                keys=[self._keys[3]], args=[generation, self._corp_cap]
            )
        )
        if reply is not None:
            self._sync(int(reply[0]), int(reply[1]))

    def cool_down(self, seconds: float, slot: Slot | None = None) -> bool:
        if not math.isfinite(seconds):
            raise ValueError(f"cool-down must be finite, got {seconds!r}")
        if seconds <= 0:
            return False
        if self._local:
            return self._fallback.cool_down(seconds, slot)
        admitted_us = slot._cooldown_gen if slot is not None else 1 << 62
        if admitted_us <= self._block_started_us:
            return False  # admitted before the block began here: part of it (Redis agrees)
        # The block began after every admission seen so far.
        self._block_started_us = self._last_now_us
        self._coord.spawn(self._block(seconds, admitted_us))
        return True

    async def _block(self, seconds: float, admitted_us: int) -> None:
        remaining_ms = await self._coord.attempt(
            lambda: self._coord.cool_down_script(
                keys=[self._keys[4]], args=[math.ceil(seconds * 1000), admitted_us]
            )
        )
        # Kept here too, for the block's remaining time (all of it if Redis failed): this
        # process waits it out without asking Redis, and keeps waiting if Redis fails.
        remaining = seconds if remaining_ms is None else int(remaining_ms) / 1000
        if remaining > 0:
            self._fallback.cool_down(remaining)

    @property
    def blocked_until(self) -> float | None:
        return self._fallback.blocked_until


# --- tokens --------------------------------------------------------------------------------------


class RedisTokenStore:
    """A :class:`~wecom_async.TokenStore` in Redis, shared by every process of the fleet.

    A token is a hash ``{v: value, e: expires_at}`` under the key the token manager gives
    (corp ID and a digest of the secret, never the secret). :meth:`invalidate` deletes it only
    if it still holds the value that failed. :meth:`refresh_lock` lets one process at a time
    call gettoken. While Redis is unavailable, tokens are kept in memory.
    """

    def __init__(self, coord: RedisCoordinator) -> None:
        self._coord = coord
        self._memory = MemoryTokenStore()

    def __repr__(self) -> str:
        return f"<RedisTokenStore {self._coord.where}>"

    def _key(self, key: str) -> str:
        return f"{self._coord.key_prefix}{key}"

    async def get(self, key: str) -> AccessToken | None:
        reply = await self._coord.attempt(lambda: self._coord.redis.hmget(self._key(key), "v", "e"))
        if reply is None:
            return await self._memory.get(key)
        value, expires_at = reply
        if value is None or expires_at is None:
            return None
        token = AccessToken(
            value.decode() if isinstance(value, bytes) else str(value), float(expires_at)
        )
        await self._memory.set(key, token)
        return token

    async def set(self, key: str, token: AccessToken) -> None:
        await self._memory.set(key, token)
        # Kept a little past its expiry by the wall clock (the manager's clock may be another).
        ttl = max(60, min(86_400, math.ceil(token.expires_at - time.time()) + 600))

        async def store() -> None:
            async with self._coord.redis.pipeline(transaction=True) as pipe:
                pipe.hset(self._key(key), mapping={"v": token.value, "e": repr(token.expires_at)})
                pipe.expire(self._key(key), ttl)
                await pipe.execute()

        await self._coord.attempt(store)

    async def invalidate(self, key: str, value: str) -> None:
        await self._memory.invalidate(key, value)
        await self._coord.attempt(
            lambda: self._coord.invalidate_script(keys=[self._key(key)], args=[value])
        )

    @contextlib.asynccontextmanager
    async def refresh_lock(self, key: str) -> AsyncIterator[None]:
        """Held while fetching a token: the other processes wait, then re-read the store.

        The lock expires after a while (a process killed while holding it blocks no one for
        long); waiting for it gives up after as long, and then fetches anyway.
        """
        coord = self._coord
        if not coord.available():
            yield
            return
        # A new Lock per acquisition, not thread-local: redis-py keeps its token per thread.
        lock = coord.redis.lock(
            f"{self._key(key)}:lock",
            timeout=_TOKEN_LOCK_SECONDS,
            thread_local=False,
            raise_on_release_error=False,
        )
        acquired: bool | None = False
        give_up = coord.clock() + _TOKEN_LOCK_SECONDS
        while True:
            # One SET NX per try, each within the deadline: a Redis that hangs costs one.
            acquired = await coord.attempt(functools.partial(lock.acquire, blocking=False))
            if acquired is not False or coord.clock() >= give_up:
                break
            await asyncio.sleep(_TOKEN_LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            if acquired:  # if this fails, the lock expires by itself
                await coord.attempt(lock.release)
