"""The rate limiter: no sliding window over quota, steady rate, concurrency, cool-down.

Everything time-related runs the real limiter (real aiolimiter buckets) on a virtual clock
(:mod:`_virtual_time`), so an hour of traffic at the real WeCom quotas takes a few seconds.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import math
import random
import weakref
from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import cache

import attrs
import pytest

from wecom_async import _ratelimit
from wecom_async._ratelimit import APILimiter, RateLimits, Slot, _bucket_sizes, limiter_for
from wecom_async.errors import RateLimitsConflictError, ValidationError

from ._virtual_time import VirtualTimeLoop, count_between, max_in_window, run_virtual

MINUTE = 60.0
HOUR = 3600.0


# --- helpers ----------------------------------------------------------------------------------


async def drive(
    limiter: APILimiter,
    times: list[float],
    *,
    seconds: float,
    workers: int = 1,
    hold: Callable[[], float] | None = None,
) -> None:
    """Call through *limiter* as fast as it lets us for *seconds*; log admission times.

    With ``hold`` each call keeps its slot that many seconds (the request's latency).
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    async def worker() -> None:
        while loop.time() < end:
            async with limiter.slot():
                times.append(loop.time())
                if hold is not None:
                    await asyncio.sleep(hold())

    await asyncio.gather(*(worker() for _ in range(workers)))


def steady_rate(times: Sequence[float], start: float, end: float) -> float:
    """Admissions per second in ``[start, end)``."""
    return count_between(times, start, end) / (end - start)


@attrs.frozen
class Run:
    times: list[float]
    start: float  # first phase starts (cold start)
    idle_from: float  # first phase ends, idle starts
    resume: float  # second phase starts (after idle)
    rate: float  # the limiter's own steady rate, calls/s


def full_speed_run(
    limits: RateLimits, *, first: float, idle: float, second: float, workers: int = 1
) -> Run:
    """Full speed from cold start for *first* s, idle for *idle* s, full speed for *second* s."""

    async def main() -> Run:
        loop = asyncio.get_running_loop()
        limiter = APILimiter(limits)
        times: list[float] = []
        start = loop.time()
        await drive(limiter, times, seconds=first, workers=workers)
        idle_from = loop.time()
        await asyncio.sleep(idle)
        resume = loop.time()
        await drive(limiter, times, seconds=second, workers=workers)
        return Run(times, start, idle_from, resume, limiter.rate)

    return run_virtual(main())


# --- the sliding-window counter used below ---------------------------------------------------


def brute_force_max_in_window(times: Sequence[float], window: float) -> int:
    return max((sum(1 for u in times if t <= u <= t + window) for t in times), default=0)


def test_max_in_window_basics() -> None:
    assert max_in_window([], 60) == 0
    assert max_in_window([5.0], 60) == 1
    assert max_in_window([0.0, 60.0], 60) == 2  # closed window: both ends count
    assert max_in_window([0.0, 60.000001], 60) == 1
    assert max_in_window([0.0, 0.0, 0.0], 0) == 3
    assert max_in_window([0.0, 1.0, 2.0, 100.0, 100.5, 101.0, 159.0, 161.0], 60) == 4


def test_max_in_window_matches_brute_force() -> None:
    rng = random.Random(7)
    for _ in range(200):
        times = sorted(round(rng.uniform(0, 300), rng.choice([0, 1, 3])) for _ in range(40))
        window = rng.choice([0.0, 1.0, 10.0, 60.0, 299.0])
        assert max_in_window(times, window) == brute_force_max_in_window(times, window)


def test_max_in_window_rejects_negative_window() -> None:
    with pytest.raises(ValueError, match="window"):
        max_in_window([1.0], -1)


def test_count_between_is_half_open() -> None:
    times = [0.0, 1.0, 1.0, 2.0, 3.0]
    assert count_between(times, 1.0, 3.0) == 3
    assert count_between(times, 0.0, 0.0) == 0
    assert count_between(times, -5.0, 5.0) == 5


# --- the virtual-time loop -------------------------------------------------------------------


def test_virtual_loop_jumps_to_timers() -> None:
    async def main() -> tuple[float, list[str]]:
        loop = asyncio.get_running_loop()
        order: list[str] = []

        async def sleeper(name: str, seconds: float) -> None:
            await asyncio.sleep(seconds)
            order.append(name)

        start = loop.time()
        await asyncio.gather(sleeper("hour", HOUR), sleeper("minute", MINUTE))
        return loop.time() - start, order

    elapsed, order = run_virtual(main())
    assert order == ["minute", "hour"]
    assert HOUR <= elapsed < HOUR + 0.01


def test_virtual_loop_is_closed_afterwards() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def main() -> None:
        loops.append(asyncio.get_running_loop())

    run_virtual(main())
    assert isinstance(loops[0], VirtualTimeLoop)
    assert loops[0].is_closed()


# --- configuration ---------------------------------------------------------------------------


def test_defaults_are_wecoms_quotas() -> None:
    limits = RateLimits()
    assert (limits.per_minute, limits.per_hour, limits.share) == (10_000, 150_000, 1)
    assert limits.max_concurrency == 10
    assert limits.burst_fraction == 0.01
    assert limits.enabled
    assert not RateLimits.disabled().enabled


@pytest.mark.parametrize(
    "kwargs",
    [
        {"per_minute": 0},
        {"per_hour": -1},
        {"share": 0},
        {"max_concurrency": 0},
        {"per_minute": 10.0},
        {"per_minute": True},
        {"burst_fraction": 0.0},
        {"burst_fraction": 1.0},
        {"burst_fraction": "0.1"},
        {"window_slack": -0.1},
        {"window_slack": math.inf},
        {"per_minute": 5, "share": 2},  # 2 calls a minute per process is too few to size
        {"per_hour": 100, "share": 50},
    ],
)
def test_invalid_limits_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as caught:
        RateLimits(**kwargs)  # type: ignore[arg-type]
    assert caught.value.model == "RateLimits"
    assert caught.value.paths == (next(iter(kwargs)),)
    assert isinstance(caught.value, ValueError)


def test_enabled_must_be_bool() -> None:
    with pytest.raises(ValidationError, match="enabled: must be a bool"):
        RateLimits(enabled=1)  # type: ignore[arg-type]


def test_limits_are_frozen() -> None:
    limits = RateLimits()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        limits.per_minute = 1  # type: ignore[misc]


def test_share_divides_concurrency_too() -> None:
    assert RateLimits(share=3).concurrency_per_process == 3
    assert RateLimits(share=20).concurrency_per_process == 1


# --- bucket sizing, checked exactly ----------------------------------------------------------


def exact_worst_window(capacity: float, period: float, seconds: float) -> Fraction:
    """``B + r·W`` in exact arithmetic, with ``r`` rounded as aiolimiter computes it."""
    return Fraction(capacity) + Fraction(capacity / period) * Fraction(seconds)


@pytest.mark.parametrize("share", [1, 2, 3, 7, 100])
@pytest.mark.parametrize("burst_fraction", [0.001, 0.01, 0.05, 0.5])
@pytest.mark.parametrize("window_slack", [0.0, 0.5, 2.0])
@pytest.mark.parametrize(
    ("per_minute", "per_hour"),
    [(10_000, 150_000), (100, 5_000), (1_000, 10**7), (10**6, 10_000), (300, 300), (17, 999)],
)
def test_buckets_never_allow_more_than_the_quota(
    per_minute: int, per_hour: int, share: int, burst_fraction: float, window_slack: float
) -> None:
    try:
        limits = RateLimits(
            per_minute=per_minute,
            per_hour=per_hour,
            share=share,
            burst_fraction=burst_fraction,
            window_slack=window_slack,
        )
    except ValueError:
        assert min(per_minute, per_hour) // share < 3
        return
    sizes = _bucket_sizes(limits)
    assert 1 <= len(sizes) <= 2
    assert all(s.capacity >= 1 for s in sizes)
    for quota, seconds in ((per_minute, MINUTE), (per_hour, HOUR)):
        span = seconds + window_slack
        # Every window of T + slack is held to quota // share - 1 by at least one bucket (the
        # spare call is the one admission counted early while waiting for the second bucket).
        assert min(exact_worst_window(s.capacity, s.period, span) for s in sizes) <= (
            quota // share - 1
        )
    # rates ascending: the binding bucket is waited on first
    assert [s.rate for s in sizes] == sorted(s.rate for s in sizes)


@pytest.mark.parametrize("share", [1, 2, 3, 5, 7, 10])
def test_steady_rate_of_the_real_quotas_is_at_least_98_percent(share: int) -> None:
    limits = RateLimits(share=share)
    rate = min(s.rate for s in _bucket_sizes(limits))
    binding = min((10_000 // share) / MINUTE, (150_000 // share) / HOUR)
    assert rate / binding >= 0.989


def test_default_sizing() -> None:
    (hour,) = _bucket_sizes(RateLimits())  # the minute bucket is implied by the hour one
    assert hour.capacity == 1500
    assert hour.rate == pytest.approx((150_000 - 1 - 1500) / 3600.5)
    minute_binds = _bucket_sizes(RateLimits(per_hour=10**9))
    assert len(minute_binds) == 1
    assert minute_binds[0].capacity == 100
    assert minute_binds[0].rate == pytest.approx((10_000 - 1 - 100) / 60.5)
    assert len(_bucket_sizes(RateLimits(per_minute=100, per_hour=5000))) == 2


# --- real quotas, real buckets, virtual time -------------------------------------------------


@cache
def real_quota_run() -> Run:
    # 1 h 2 min from cold start (~153k calls), 10 min idle, then 5 min (~14k calls): every
    # minute and hour window of the cold start, and those spanning the idle gap.
    return full_speed_run(RateLimits(), first=HOUR + 120, idle=600, second=300)


def test_real_quotas_no_sliding_window_over_quota() -> None:
    run = real_quota_run()
    assert max_in_window(run.times, MINUTE) <= 10_000
    assert max_in_window(run.times, HOUR) <= 150_000
    # and with the slack the buckets were sized for, one call to spare
    assert max_in_window(run.times, HOUR + 0.5) <= 150_000 - 1


def test_real_quotas_cold_start_is_close_to_the_quota() -> None:
    run = real_quota_run()
    first_hour = count_between(run.times, run.start, run.start + HOUR)
    assert 0.99 * 150_000 <= first_hour <= 150_000
    # burst then drain: the first minute has the 1 % burst on top of the steady rate
    first_minute = count_between(run.times, run.start, run.start + MINUTE)
    assert 1500 < first_minute <= 10_000


def test_real_quotas_after_idle() -> None:
    run = real_quota_run()
    after = [t for t in run.times if t >= run.resume]
    assert max_in_window(after, MINUTE) <= 10_000
    # the bucket drained while idle: a fresh burst of 1500, then the steady rate again
    assert count_between(after, run.resume, run.resume + 1e-3) == 1500
    assert steady_rate(after, run.resume + MINUTE, run.resume + 300) == pytest.approx(
        run.rate, rel=1e-3
    )


def test_real_quotas_steady_rate() -> None:
    run = real_quota_run()
    rate = steady_rate(run.times, run.start + 120, run.idle_from)
    assert rate == pytest.approx(run.rate, rel=1e-3)
    assert rate >= 0.98 * 150_000 / HOUR


# --- scaled-down quotas: both buckets active, shares, adversarial demand -----------------------

BOTH = RateLimits(per_minute=100, per_hour=5_000)  # 1 minute > hour's rate × 60: both buckets


def assert_within(times: Sequence[float], limits: RateLimits) -> None:
    assert max_in_window(times, MINUTE) <= limits.per_minute // limits.share
    assert max_in_window(times, HOUR) <= limits.per_hour // limits.share


def test_both_buckets_cold_start_and_after_idle() -> None:
    run = full_speed_run(BOTH, first=2 * HOUR, idle=600, second=HOUR, workers=3)
    assert_within(run.times, BOTH)
    assert steady_rate(run.times, run.start + 600, run.idle_from) >= 0.98 * 5_000 / HOUR


def test_minute_quota_binding() -> None:
    limits = RateLimits(per_minute=1_000, per_hour=10**7)
    run = full_speed_run(limits, first=20 * MINUTE, idle=600, second=10 * MINUTE)
    assert_within(run.times, limits)
    assert max_in_window(run.times, MINUTE) >= 0.98 * 1_000
    assert steady_rate(run.times, run.start + MINUTE, run.idle_from) >= 0.98 * 1_000 / MINUTE


@pytest.mark.parametrize("share", [2, 3, 5])
def test_share_divides_the_quota(share: int) -> None:
    limits = RateLimits(per_minute=1_000, per_hour=30_000, share=share)
    run = full_speed_run(limits, first=HOUR + 300, idle=600, second=300, workers=2)
    assert_within(run.times, limits)
    per_process_hour = 30_000 // share
    assert max_in_window(run.times, HOUR) >= 0.98 * per_process_hour
    rate = steady_rate(run.times, run.start + 300, run.idle_from)
    assert 0.98 * per_process_hour / HOUR <= rate <= per_process_hour / HOUR


@pytest.mark.parametrize("seed", range(3))
def test_bursty_demand_never_exceeds(seed: int) -> None:
    """Many callers with random think times and latencies, idle spells sized to refill."""
    rng = random.Random(seed)
    limits = BOTH

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        limiter = APILimiter(limits)
        times: list[float] = []
        end = loop.time() + 2 * HOUR

        async def caller() -> None:
            while loop.time() < end:
                pause = rng.choice([0.0, 0.0, rng.expovariate(1.0), rng.uniform(30, 400)])
                await asyncio.sleep(pause)
                for _ in range(rng.randint(1, 60)):
                    async with limiter.slot():
                        times.append(loop.time())
                        await asyncio.sleep(rng.uniform(0.0, 0.3))

        await asyncio.gather(*(caller() for _ in range(rng.randint(5, 40))))
        return times

    times = run_virtual(main())
    assert len(times) > 5_000
    assert_within(times, limits)


# --- concurrency -----------------------------------------------------------------------------


def test_concurrency_never_exceeds_the_cap() -> None:
    rng = random.Random(3)

    async def main() -> tuple[int, int]:
        limiter = APILimiter(RateLimits(max_concurrency=7))
        peak = 0
        calls = 0

        async def caller() -> None:
            nonlocal peak, calls
            for _ in range(20):
                async with limiter.slot():
                    calls += 1
                    peak = max(peak, limiter.in_flight)
                    await asyncio.sleep(rng.uniform(0.01, 0.5))

        await asyncio.gather(*(caller() for _ in range(50)))
        assert limiter.in_flight == 0
        assert limiter.waiting == 0
        return peak, calls

    peak, calls = run_virtual(main())
    assert peak == 7
    assert calls == 1000


def test_45033_halves_once_per_generation_and_success_restores() -> None:
    async def main() -> None:
        limiter = APILimiter(RateLimits())
        assert limiter.concurrency_limit == 10
        slots = [await limiter.slot().acquire() for _ in range(10)]
        assert limiter.in_flight == 10
        # ten calls in flight together all answer 45033: one decrease, not ten
        reactions = [limiter.on_concurrency_limited(s) for s in slots]
        assert reactions == [True] + [False] * 9
        assert limiter.concurrency_limit == 5
        for s in slots:
            s.release()
        # a call admitted after the decrease may lower it again; never below 1
        for expected in (2, 1, 1):
            async with limiter.slot() as s:
                limiter.on_concurrency_limited(s)
            assert limiter.concurrency_limit == expected
        # additive increase: +1 per `limit` successes, up to the cap and no further
        successes = 0
        while limiter.concurrency_limit < 10:
            limiter.on_success()
            successes += 1
        assert successes == sum(range(1, 10))
        for _ in range(100):
            limiter.on_success()
        assert limiter.concurrency_limit == 10

    run_virtual(main())


def test_lowered_limit_holds_back_new_calls_until_enough_finish() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        limiter = APILimiter(RateLimits())
        slots = [await limiter.slot().acquire() for _ in range(10)]
        limiter.on_concurrency_limited(slots[0])  # limit 5, 10 still in flight
        admitted = loop.create_future()

        async def newcomer() -> None:
            async with limiter.slot():
                admitted.set_result(limiter.in_flight)

        task = asyncio.create_task(newcomer())
        for s in slots[:5]:  # 5 left in flight: not below the limit yet
            s.release()
            await asyncio.sleep(0)
            assert not admitted.done()
        await slots[5].__aexit__(None, None, None)
        assert await admitted == 5
        await task
        for s in slots[6:]:
            s.release()
        assert limiter.in_flight == 0

    run_virtual(main())


def test_success_wakes_waiters_when_the_limit_rises() -> None:
    async def main() -> None:
        limiter = APILimiter(RateLimits(max_concurrency=2))
        first = await limiter.slot().acquire()
        limiter.on_concurrency_limited(first)
        assert limiter.concurrency_limit == 1
        task = asyncio.create_task(limiter.slot().acquire())
        await asyncio.sleep(0)
        assert limiter.waiting == 1
        limiter.on_success()  # 1 success at limit 1: limit 2, the waiter gets in
        second = await task
        assert limiter.in_flight == 2
        first.release()
        second.release()

    run_virtual(main())


def test_cancelled_waiters_do_not_leak_places() -> None:
    async def main() -> None:
        limiter = APILimiter(RateLimits(max_concurrency=1))
        holder = await limiter.slot().acquire()
        waiting = asyncio.create_task(limiter.slot().acquire())
        await asyncio.sleep(0)
        waiting.cancel()  # cancelled while queued
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert limiter.waiting == 0
        handed = asyncio.create_task(limiter.slot().acquire())
        await asyncio.sleep(0)
        holder.release()  # hands its place to `handed`...
        handed.cancel()  # ...which is cancelled before it runs: the place passes on
        with pytest.raises(asyncio.CancelledError):
            await handed
        assert limiter.in_flight == 0
        async with limiter.slot():
            assert limiter.in_flight == 1
        assert limiter.in_flight == 0

    run_virtual(main())


def test_waiter_cancelled_and_skipped_before_it_runs() -> None:
    async def main() -> None:
        limiter = APILimiter(RateLimits(max_concurrency=1))
        holder = await limiter.slot().acquire()
        waiting = asyncio.create_task(limiter.slot().acquire())
        await asyncio.sleep(0)
        waiting.cancel()
        holder.release()  # skips the cancelled waiter before it runs
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert (limiter.in_flight, limiter.waiting) == (0, 0)

    run_virtual(main())


def test_cancelled_while_waiting_for_tokens_frees_its_place() -> None:
    async def main() -> None:
        limiter = APILimiter(RateLimits(per_minute=10, per_hour=10**6))  # burst 1
        async with limiter.slot():
            pass
        task = asyncio.create_task(limiter.slot().acquire())
        await asyncio.sleep(1)  # waiting for the next token, holding a place
        assert limiter.in_flight == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert limiter.in_flight == 0

    run_virtual(main())


def test_uncontended_slot_does_not_suspend() -> None:
    """The hot path: with room in every bucket, entering a slot never yields to the loop."""

    async def main() -> None:
        limiter = APILimiter(RateLimits())
        slot = limiter.slot()
        entering = slot.__aenter__()
        with pytest.raises(StopIteration) as done:
            entering.send(None)
        assert done.value.value is slot
        leaving = slot.__aexit__(None, None, None)
        with pytest.raises(StopIteration):
            leaving.send(None)
        assert limiter.in_flight == 0

    run_virtual(main())


# --- cool-down after 45009 -------------------------------------------------------------------


def test_cool_down_holds_every_call_until_the_block_ends() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        limiter = APILimiter(RateLimits())
        times: list[float] = []
        async with limiter.slot() as slot:
            assert limiter.cool_down(MINUTE, slot)
            block_end = limiter.blocked_until
            assert block_end == loop.time() + MINUTE
        await drive(limiter, times, seconds=MINUTE + 5, workers=30)
        assert times
        assert min(times) >= block_end
        assert limiter.blocked_until is None

    run_virtual(main())


def test_cool_down_reaches_calls_already_waiting_for_a_token() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        limiter = APILimiter(RateLimits(per_minute=10, per_hour=10**6))  # burst 1, 1 per ~6.7 s
        async with limiter.slot():
            pass
        task = asyncio.create_task(limiter.slot().acquire())
        await asyncio.sleep(1)  # the task now waits for its token
        limiter.cool_down(MINUTE)
        block_end = limiter.blocked_until
        slot = await task
        assert block_end is not None
        assert loop.time() >= block_end
        slot.release()

    run_virtual(main())


def test_concurrent_cool_downs_do_not_stack() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        limiter = APILimiter(RateLimits())
        slots = [await limiter.slot().acquire() for _ in range(10)]
        await asyncio.sleep(0.2)  # all ten answer 45009 a moment later, one after the other
        started = loop.time()
        extended = []
        for s in slots:
            extended.append(limiter.cool_down(MINUTE, s))
            await asyncio.sleep(0.01)
            s.release()
        assert extended == [True] + [False] * 9
        assert limiter.blocked_until == started + MINUTE
        # without slots, overlapping cool-downs merge to the latest end, they never add up
        assert not limiter.cool_down(1.0)
        now = loop.time()
        assert limiter.cool_down(MINUTE)
        assert limiter.blocked_until == now + MINUTE
        assert limiter.blocked_until < started + 2 * MINUTE

    run_virtual(main())


def test_a_45009_after_the_block_starts_a_new_one() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        limiter = APILimiter(RateLimits())
        async with limiter.slot() as first:
            assert limiter.cool_down(MINUTE, first)
        first_block = limiter.blocked_until
        assert first_block is not None
        async with limiter.slot() as later:  # admitted only once the block has passed
            assert loop.time() >= first_block
            assert limiter.cool_down(HOUR, later)
        blocked_until = limiter.blocked_until
        assert blocked_until is not None
        assert blocked_until == pytest.approx(loop.time() + HOUR, abs=1e-3)

    run_virtual(main())


def test_cool_down_arguments() -> None:
    async def main() -> None:
        limiter = APILimiter(RateLimits())
        assert not limiter.cool_down(0)
        assert not limiter.cool_down(-5)
        assert limiter.blocked_until is None
        with pytest.raises(ValueError, match="finite"):
            limiter.cool_down(math.inf)

    run_virtual(main())


# --- disabled --------------------------------------------------------------------------------


def test_disabled_limits_nothing() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        limiter = APILimiter(RateLimits.disabled())
        assert limiter.rate == math.inf
        start = loop.time()
        inside = 0
        peak = 0

        async def call() -> None:
            nonlocal inside, peak
            async with limiter.slot() as slot:
                inside += 1
                peak = max(peak, inside)
                assert not limiter.on_concurrency_limited(slot)
                assert not limiter.cool_down(MINUTE, slot)
                await asyncio.sleep(1)
                inside -= 1

        await asyncio.gather(*(call() for _ in range(5_000)))
        assert peak == 5_000
        assert loop.time() - start < 2

    run_virtual(main())


# --- the registry ----------------------------------------------------------------------------


async def test_registry_shares_per_loop_corp_and_path() -> None:
    limits = RateLimits()
    a = limiter_for("corp1", "/cgi-bin/oa/schedule/add", limits)
    assert limiter_for("corp1", "/cgi-bin/oa/schedule/add", limits) is a
    assert limiter_for("corp2", "/cgi-bin/oa/schedule/add", limits) is not a
    assert limiter_for("corp1", "/cgi-bin/oa/schedule/get", limits) is not a
    # equal limits (not the same object) share it
    assert limiter_for("corp1", "/cgi-bin/oa/schedule/add", RateLimits()) is a
    # other limits for the same corp, on any path, are refused rather than silently ignored
    for path in ("/cgi-bin/oa/schedule/add", "/cgi-bin/oa/calendar/get"):
        with pytest.raises(RateLimitsConflictError, match="corp1 already has rate limiters"):
            limiter_for("corp1", path, RateLimits(share=2))
    assert limiter_for("corp3", "/cgi-bin/oa/schedule/add", RateLimits(share=2)).limits.share == 2


def test_registry_separates_loops_and_forgets_closed_ones() -> None:
    async def get() -> APILimiter:
        limiter = limiter_for("corp", "/path", RateLimits())
        async with limiter.slot():  # binds loop-bound state
            pass
        return limiter

    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def get_and_note_loop() -> APILimiter:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        return await get()

    first = run_virtual(get_and_note_loop())
    second = run_virtual(get_and_note_loop())
    assert first is not second
    del first, second
    gc.collect()
    assert loops[0]() is None  # the closed loop was dropped when the second loop registered
    # only the second loop, closed after its last limiter_for, is still known
    assert sum(loop.is_closed() for loop in _ratelimit._registry) <= 1


def test_limiter_for_needs_a_running_loop() -> None:
    with pytest.raises(RuntimeError):
        limiter_for("corp", "/path", RateLimits())


def test_repr_and_introspection() -> None:
    async def main() -> None:
        limiter = APILimiter(RateLimits())
        assert limiter.concurrency_limit == 10
        assert limiter.in_flight == 0
        assert limiter.waiting == 0
        assert limiter.blocked_until is None
        assert limiter.rate == pytest.approx((150_000 - 1 - 1500) / 3600.5)
        assert "limit=10/10" in repr(limiter)
        assert isinstance(limiter.slot(), Slot)

    run_virtual(main())


def test_many_configs_hold_under_load() -> None:
    """A quick sweep: every shape of quota, full speed from cold, an idle spell, full again."""
    shapes = itertools.product([(40, 1_000), (500, 2_000), (60, 60_000)], [1, 2])
    for (per_minute, per_hour), share in shapes:
        limits = RateLimits(per_minute=per_minute, per_hour=per_hour, share=share)
        run = full_speed_run(limits, first=HOUR + 300, idle=250, second=900, workers=2)
        assert_within(run.times, limits)
