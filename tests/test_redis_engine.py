"""The Redis engine (``WeComClient(redis=...)``) against a real redis-server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from wecom_async import AccessToken, MemoryTokenStore, RateLimits, WeComClient
from wecom_async._ratelimit import Slot
from wecom_async._redis import RedisCoordinator, SharedLimiter, _Gcra
from wecom_async._tokens import token_key
from wecom_async.testing import FakeWeCom, RedisServer

pytest.importorskip("redis")

CORP = "wwcorp"
API = "oa/schedule/get"


@pytest.fixture
async def coords(redis_server: RedisServer) -> AsyncIterator[list[RedisCoordinator]]:
    """Coordinators, each with its own connection pool (as separate processes have)."""
    made: list[RedisCoordinator] = []
    yield made
    for coord in made:
        await coord.close()


def make(made: list[RedisCoordinator], url: str, **kwargs: Any) -> RedisCoordinator:
    coord = RedisCoordinator(url, **kwargs)
    made.append(coord)
    return coord


def limiter(coord: RedisCoordinator, limits: RateLimits, path: str = API) -> SharedLimiter:
    lim = coord.limiter_for(CORP, path, limits)
    assert isinstance(lim, SharedLimiter)
    return lim


async def admit_once(lim: SharedLimiter, lease: str) -> list[int]:
    """One run of the admission script: [wait_ms, reason, limit, generation, now_us]."""
    args = [*lim._gcra_args, lease.encode(), *lim._admit_tail]
    reply = await lim._coord.admit_script(keys=lim._keys, args=args)
    return [int(n) for n in reply]


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


async def settle(*coords: RedisCoordinator) -> None:
    """Wait for the background releases / 45033 / 45009 updates of *coords*."""
    for coord in coords:
        while coord._tasks:
            await asyncio.wait(set(coord._tasks))


async def drain(lim: SharedLimiter) -> None:
    await settle(lim._coord)


def max_in_window(times_us: list[int], window_us: int) -> int:
    """Most timestamps in any closed interval of *window_us*."""
    times = sorted(times_us)
    best = 0
    start = 0
    for end, t in enumerate(times):
        while t - times[start] > window_us:
            start += 1
        best = max(best, end - start + 1)
    return best


# --- the bound ---------------------------------------------------------------------------------


def test_gcra_parameters_keep_95_percent_of_the_quota() -> None:
    # Defaults: the hour binds at (150,000 - 1 - 1,500) / 3,600.5 per second, 98.97 %.
    hour = _Gcra.for_quota(150_000, 3600.5, 0.01)
    assert hour.rate * 3600 / 150_000 > 0.989
    # A small quota (50 a minute), burst 1: 48 / 60.5 per second, 95.2 %.
    small = _Gcra.for_quota(50, 60.5, 0.01)
    assert small.tolerance_us == 0
    assert small.rate * 60 / 50 >= 0.95
    # The bound: b + W / I <= N - 1.
    for quota, span, fraction in [(50, 60.5, 0.01), (10_000, 60.5, 0.01), (150_000, 3600.5, 0.01)]:
        gcra = _Gcra.for_quota(quota, span, fraction)
        burst = gcra.tolerance_us // gcra.interval_us + 1
        assert burst + span * 1_000_000 / gcra.interval_us <= quota - 1


async def test_no_window_holds_more_than_the_quota_across_clients(
    redis_server: RedisServer, coords: list[RedisCoordinator]
) -> None:
    # Four "processes" (own connection pools), five callers each, hammering one API whose
    # "minute" lasts 1 s: quota 20, burst 4 (20 %), no slack. Admission times are Redis TIME,
    # read inside the script.
    limits = RateLimits(
        per_minute=20, per_hour=100_000, max_concurrency=1000, burst_fraction=0.2, window_slack=0
    )
    fleet = [make(coords, redis_server.url, windows=(1.0, 3600.0)) for _ in range(4)]
    admitted: list[int] = []
    stop = False

    async def caller(coord: RedisCoordinator) -> None:
        lim = limiter(coord, limits)
        while not stop:
            slot = await Slot(lim).acquire()
            admitted.append(slot._cooldown_gen)  # the admission time, µs on Redis's clock
            slot.release()

    tasks = [asyncio.ensure_future(caller(c)) for c in fleet for _ in range(5)]
    await asyncio.sleep(3.5)
    stop = True
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await settle(*fleet)
    assert max_in_window(admitted, 1_000_000) <= 19
    # Cold start: the burst of 4 went at once, then one every 1/15 s; a loaded machine only
    # admits fewer, never more.
    span = (max(admitted) - min(admitted)) / 1e6
    assert len(admitted) >= 0.7 * (4 + 15 * span)


async def test_both_windows_in_one_call_all_or_nothing(
    redis_server: RedisServer, coords: list[RedisCoordinator]
) -> None:
    # "Minute" 1 s with 100 calls (burst 50), "hour" 3 s with 6 (burst 3): the hour refuses
    # from the 4th call on; a call it refuses must take nothing from the minute.
    coord = make(coords, redis_server.url, windows=(1.0, 3.0))
    limits = RateLimits(
        per_minute=100, per_hour=6, max_concurrency=100, burst_fraction=0.5, window_slack=0
    )
    lim = limiter(coord, limits)
    minute_key, hour_key = lim._keys[0], lim._keys[1]
    results = [await admit_once(lim, f"l{i}") for i in range(6)]
    admitted = [r for r in results if r[0] == 0]
    refused = [r for r in results if r[0] != 0]
    assert refused, "the hour window (burst 2) must refuse within 6 back-to-back calls"
    assert all(r[1] == 2 for r in refused)
    minute_before = redis_server.command("GET", minute_key)
    hour_before = redis_server.command("GET", hour_key)
    reply = await admit_once(lim, "late")
    assert reply[1] == 2
    assert reply[0] > 0
    assert redis_server.command("GET", minute_key) == minute_before
    assert redis_server.command("GET", hour_key) == hour_before
    assert redis_server.command("ZCARD", lim._keys[2]) == len(admitted)


# --- leases -------------------------------------------------------------------------------------


async def test_leases_of_a_dead_holder_come_back_within_the_lease_time(
    redis_server: RedisServer, coords: list[RedisCoordinator]
) -> None:
    limits = RateLimits(max_concurrency=2)
    dead = make(coords, redis_server.url, lease_seconds=0.6)
    alive = make(coords, redis_server.url, lease_seconds=0.6)
    held = limiter(dead, limits)
    await Slot(held).acquire()
    await Slot(held).acquire()
    held._stop_renewal()  # the process is killed: no release, no renewal
    lim = limiter(alive, limits)
    assert redis_server.command("ZCARD", lim._keys[2]) == 2
    reply = await admit_once(lim, "x")
    assert reply[1] == 3  # the cap is reached
    slot = await asyncio.wait_for(Slot(lim).acquire(), timeout=10)
    slot.release()
    await drain(lim)


async def test_long_calls_keep_their_leases(
    redis_server: RedisServer, coords: list[RedisCoordinator]
) -> None:
    limits = RateLimits(max_concurrency=1)
    holder = make(coords, redis_server.url, lease_seconds=0.6)
    other = make(coords, redis_server.url, lease_seconds=0.6)
    lim = limiter(holder, limits)
    slot = await Slot(lim).acquire()
    await asyncio.sleep(2.0)  # more than three lease times: renewed in the background
    blocked = limiter(other, limits)
    reply = await admit_once(blocked, "x")
    assert reply[1] == 3
    slot.release()
    await drain(lim)
    assert redis_server.command("ZCARD", lim._keys[2]) == 0
    second = await asyncio.wait_for(Slot(blocked).acquire(), timeout=10)
    second.release()
    await drain(blocked)


async def test_cancelled_admission_gives_its_lease_back(
    redis_server: RedisServer, coords: list[RedisCoordinator]
) -> None:
    coord = make(coords, redis_server.url)
    lim = limiter(coord, RateLimits())
    for _ in range(20):
        task = asyncio.ensure_future(Slot(lim).acquire())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        task.cancel()
        try:
            slot = await task
        except asyncio.CancelledError:
            pass
        else:
            slot.release()
    await asyncio.sleep(0.1)
    await drain(lim)
    assert redis_server.command("ZCARD", lim._keys[2]) in (0, None)
    assert lim.in_flight == 0


async def test_a_caller_leaving_before_admission_takes_no_one_elses_lease(
    redis_server: RedisServer, coords: list[RedisCoordinator]
) -> None:
    # Quota 3 a "minute" of 2 s, burst 1: a call every 2 s; cap 2. A caller cancelled while it
    # waits for the quota or for the gate must not give back the lease of a call in flight.
    coord = make(coords, redis_server.url, windows=(2.0, 3600.0))
    lim = limiter(coord, RateLimits(per_minute=3, max_concurrency=2, window_slack=0))
    first = await Slot(lim).acquire()
    assert redis_server.command("ZCARD", lim._keys[2]) == 1
    waiting = [asyncio.ensure_future(Slot(lim).acquire()) for _ in range(3)]
    await asyncio.sleep(0.3)  # one waits in admission (the quota), two at the gate (the cap)
    assert not any(task.done() for task in waiting)
    first.release()  # hands its gate place to a waiter
    await drain(lim)
    assert redis_server.command("ZCARD", lim._keys[2]) == 0
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    await drain(lim)
    assert lim.in_flight == 0
    again = await asyncio.wait_for(Slot(lim).acquire(), 30)
    assert redis_server.command("ZCARD", lim._keys[2]) == 1  # its lease, kept in flight
    other = asyncio.ensure_future(Slot(lim).acquire())  # waits for the quota
    await asyncio.sleep(0.2)
    other.cancel()
    await asyncio.gather(other, return_exceptions=True)
    await drain(lim)
    assert redis_server.command("ZCARD", lim._keys[2]) == 1  # still there: not given back
    again.release()
    await drain(lim)
    assert redis_server.command("ZCARD", lim._keys[2]) == 0


# --- 45009 and 45033 -----------------------------------------------------------------------------


async def test_cool_down_is_shared_and_stragglers_do_not_extend_it(
    redis_server: RedisServer, coords: list[RedisCoordinator]
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    a = make(coords, redis_server.url)
    b = make(coords, redis_server.url, sleep=sleep)
    lim_a, lim_b = limiter(a, RateLimits()), limiter(b, RateLimits())
    early_a = await Slot(lim_a).acquire()
    early_a.release()
    early_b = await Slot(lim_b).acquire()  # another process's call, sent before the block
    early_b.release()
    refused = await Slot(lim_a).acquire()
    refused.release()
    assert lim_a.cool_down(0.4, refused)
    await drain(lim_a)
    ttl = redis_server.command("PTTL", lim_a._keys[4])
    assert isinstance(ttl, int)
    assert 0 < ttl <= 400
    await asyncio.sleep(0.2)
    # 45009s to calls admitted before the block began do not extend it: seen here...
    assert not lim_a.cool_down(0.4, early_a)
    # ... or in Redis, for the other process, which then waits out what is left of the block.
    lim_b.cool_down(0.4, early_b)
    await drain(lim_b)
    later = redis_server.command("PTTL", lim_a._keys[4])
    assert isinstance(later, int)
    assert later <= ttl - 150  # not set back to 400 ms
    # One sleep of the remaining block, no polling.
    slot = await Slot(lim_b).acquire()
    slot.release()
    await drain(lim_b)
    assert len(waits) == 1
    assert 0 < waits[0] <= 0.25


async def test_concurrency_limit_halved_once_per_generation_and_climbs_back(
    redis_server: RedisServer, coords: list[RedisCoordinator]
) -> None:
    a = make(coords, redis_server.url)
    b = make(coords, redis_server.url)
    lim_a, lim_b = limiter(a, RateLimits()), limiter(b, RateLimits())
    slots = [await Slot(lim_a).acquire() for _ in range(3)]
    assert lim_a.on_concurrency_limited(slots[0])
    assert not lim_a.on_concurrency_limited(slots[1])  # same generation: one decrease
    await drain(lim_a)
    for slot in slots:
        slot.release()
    await drain(lim_a)
    probe = await Slot(lim_b).acquire()
    assert lim_b.concurrency_limit == 5  # the other process sees the halved cap
    probe.release()
    await drain(lim_b)
    # 5 successes (one limit's worth) raise it by one, credited by the releases.
    for _ in range(6):
        slot = await Slot(lim_b).acquire()
        slot.release()
        lim_b.on_success()
        await drain(lim_b)
    assert redis_server.command("HGET", lim_b._keys[3], "limit") == b"6"


# --- tokens -------------------------------------------------------------------------------------


async def test_one_gettoken_for_clients_sharing_redis(redis_server: RedisServer) -> None:
    async with FakeWeCom() as fake:
        clients = [
            WeComClient(
                corp_id=fake.corp_id,
                corp_secret=fake.corp_secret,
                base_url=fake.base_url,
                redis=redis_server.url,
            )
            for _ in range(3)
        ]
        try:
            await asyncio.gather(*(c.tokens.get() for c in clients for _ in range(3)))
            values = {c.tokens.cached() for c in clients}
        finally:
            for c in clients:
                await c.close()
        assert fake.gettoken_calls == 1
        assert len(values) == 1
        assert "" not in values
    key = token_key(fake.corp_id, fake.corp_secret)
    assert fake.corp_secret not in key
    assert redis_server.keys("*token*") == [key]


async def test_invalidate_deletes_only_the_value_that_failed(
    redis_server: RedisServer, coords: list[RedisCoordinator]
) -> None:
    store = make(coords, redis_server.url).token_store()
    await store.set("k", AccessToken("fresh", 2e9))
    await store.invalidate("k", "stale")  # a late 40014 for an older token
    assert await store.get("k") == AccessToken("fresh", 2e9)
    await store.invalidate("k", "fresh")
    assert await store.get("k") is None
    assert redis_server.command("EXISTS", "k") == 0


# --- Redis fails ----------------------------------------------------------------------------------


async def call_n(client: WeComClient, n: int) -> None:
    for _ in range(n):
        await client.calendars.get(["nope"])


async def test_unreachable_redis_never_fails_a_call_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as sock:  # a free port, then closed: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"redis://:hunter2pw@127.0.0.1:{port}/0"
    caplog.set_level(logging.DEBUG, logger="wecom_async")
    async with (
        FakeWeCom() as fake,
        WeComClient(
            corp_id=fake.corp_id,
            corp_secret=fake.corp_secret,
            base_url=fake.base_url,
            redis=url,
            rate_limits=RateLimits(share=4),
        ) as client,
    ):
        await asyncio.wait_for(asyncio.gather(*(call_n(client, 5) for _ in range(3))), 30)
        coord = client._core.coordinator
        assert coord is not None
        assert not coord.shared
        lim = client._core.limiter("oa/calendar/get")
        assert lim.concurrency_limit == 2  # 10 // 4 while local
        for text in (repr(coord), repr(client), repr(client._core.limiter("oa/calendar/get"))):
            assert "hunter2pw" not in text
        assert "***" in repr(coord)
        assert "***" in repr(client)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Redis unavailable" in warnings[0].getMessage()
    assert all("hunter2pw" not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("borrow", "tokens_in_redis"), [(True, True), (True, False), (False, False)]
)
async def test_a_redis_that_never_answers_costs_a_call_one_deadline_at_most(
    caplog: pytest.LogCaptureFixture, borrow: bool, tokens_in_redis: bool
) -> None:
    # A server that accepts and never answers. A borrowed client without socket timeouts: the
    # first call waits out our deadline once; a client from a URL: its 0.5 s socket timeout.
    # Then everything is local.
    from redis.asyncio import Redis

    writers: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        while await reader.read(1 << 16):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    borrowed = Redis(host="127.0.0.1", port=port, socket_timeout=None)
    try:
        async with (
            FakeWeCom() as fake,
            WeComClient(
                corp_id=fake.corp_id,
                corp_secret=fake.corp_secret,
                base_url=fake.base_url,
                redis=borrowed if borrow else f"redis://127.0.0.1:{port}/0",
                # without: the first Redis operation is the admission, not the token's
                token_store=None if tokens_in_redis else MemoryTokenStore(),
            ) as client,
        ):
            loop = asyncio.get_running_loop()
            started = loop.time()
            await asyncio.wait_for(call_n(client, 5), timeout=30)
            assert loop.time() - started < 10  # one 1 s deadline, not one per call
            assert client._core.coordinator is not None
            assert not client._core.coordinator.shared
    finally:
        with contextlib.suppress(Exception):
            await borrowed.aclose()
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1


async def test_any_failure_of_redis_py_is_a_redis_outage(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # e.g. a borrowed client first used in another event loop: redis-py raises RuntimeError.
    from redis.asyncio import Redis

    borrowed = Redis.from_url(redis_server.url)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Task got Future attached to a different loop")

    monkeypatch.setattr(borrowed, "evalsha", broken)
    try:
        async with (
            FakeWeCom() as fake,
            WeComClient(
                corp_id=fake.corp_id,
                corp_secret=fake.corp_secret,
                base_url=fake.base_url,
                redis=borrowed,
                token_store=MemoryTokenStore(),
            ) as client,
        ):
            await call_n(client, 3)
    finally:
        await borrowed.aclose()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "RuntimeError: Task got Future attached to a different loop" in warnings[0]


async def test_outage_falls_back_then_rejoins(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wecom_async")
    probe_due = asyncio.Event()
    pauses: list[float] = []

    async def probe_sleep(seconds: float) -> None:
        pauses.append(seconds)
        await probe_due.wait()
        probe_due.clear()

    async with (
        FakeWeCom() as fake,
        WeComClient(
            corp_id=fake.corp_id,
            corp_secret=fake.corp_secret,
            base_url=fake.base_url,
            redis=redis_server.url,
        ) as client,
    ):
        coord = client._core.coordinator
        assert coord is not None
        coord.probe_sleep = probe_sleep
        await call_n(client, 2)
        redis_server.stop()
        await call_n(client, 5)
        assert not coord.shared
        probe_due.set()  # the first probe fails: Redis is still down
        await until(lambda: len(pauses) == 2)
        assert pauses == [0.5, 1.0]
        redis_server.start()
        await call_n(client, 2)  # before the next probe: still local
        assert not coord.shared
        assert "evalsha" not in redis_server.command_calls()  # a new server: fresh stats
        probe_due.set()
        await until(lambda: coord.shared)
        await call_n(client, 2)
        await settle(coord)
        assert redis_server.command_calls()["evalsha"] >= 4  # shared again
    levels = [(r.levelno, r.getMessage()) for r in caplog.records if "Redis" in r.getMessage()]
    assert [lvl for lvl, _ in levels] == [logging.WARNING, logging.INFO]
    assert levels[1][1].startswith("Redis is back")


class FakeClock:
    """``clock`` and ``sleep`` of a coordinator: time moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def slow_interval(quota: int, span: float, share: int) -> float:
    """``I_f = ceil(W / (M - max(b, share)))`` µs, in seconds (burst fraction 1 %)."""
    burst = max(1, quota // 100)
    return math.ceil(span * 1_000_000 / (quota - 1 - max(burst, share))) / 1e6


async def test_outage_start_waits_then_paces_each_process_until_a_window_after_rejoining(
    redis_server: RedisServer, coords: list[RedisCoordinator]
) -> None:
    # share 4: each process paces at J = 4·I_f per window, and waits D = 5·I_f when Redis
    # fails; the minute's J and D bind (40.7 ms, 50.9 ms; the hour's: 14.5 ms, 18.2 ms).
    limits = RateLimits(per_minute=6000, per_hour=1_000_000, share=4, max_concurrency=1000)
    minute_i, hour_i = slow_interval(6000, 60.5, 4), slow_interval(1_000_000, 3600.5, 4)
    clock = FakeClock()
    probe_due = asyncio.Event()

    async def probe_sleep(seconds: float) -> None:
        await probe_due.wait()
        probe_due.clear()

    coord = make(coords, redis_server.url, clock=clock, sleep=clock.sleep, probe_sleep=probe_sleep)
    lim = limiter(coord, limits)

    async def admit(n: int) -> list[float]:
        times = []
        for _ in range(n):
            slot = await Slot(lim).acquire()
            times.append(clock.now)
            slot.release()
        return times

    def gaps(times: list[float]) -> list[float]:
        return [b - a for a, b in itertools.pairwise(times)]

    assert await admit(5) == [1000.0] * 5  # Redis up, never failed: no pacing at all
    redis_server.stop()
    local = await admit(6)
    assert not coord.shared
    assert local[0] - coord.outage_started == pytest.approx(5 * minute_i, abs=1e-5)
    assert gaps(local) == pytest.approx([4 * minute_i] * 5, abs=1e-5)

    redis_server.start()
    probe_due.set()
    await until(lambda: coord.shared)
    clock.now += 30.0
    rejoined = await admit(4)  # through Redis, and still paced: both windows
    assert redis_server.command_calls()["evalsha"] >= 4  # admissions (and releases)
    assert gaps(rejoined) == pytest.approx([4 * minute_i] * 3, abs=1e-5)
    # The minute is paced until a window (60.5 s) and the probe bound (15 s + 2 × 1 s) after
    # the rejoin; the hour until 3600.5 s + 17 s after it.
    assert coord.rejoin_bound == 17.0
    clock.now = coord.rejoined_at + 60.5 + 17.0 - 0.5
    assert gaps(await admit(3)) == pytest.approx([4 * minute_i] * 2, abs=1e-5)
    clock.now = coord.rejoined_at + 60.5 + 17.0 + 0.01
    assert gaps(await admit(3)) == pytest.approx([4 * hour_i] * 2, abs=1e-5)
    clock.now = coord.rejoined_at + 3600.5 + 17.0 + 0.01
    assert gaps(await admit(3)) == [0.0, 0.0]
    await settle(coord)


@pytest.mark.parametrize(("minute", "longest"), [(60.0, 15.0), (20.0, 5.0)])
async def test_probe_pauses_grow_to_a_quarter_of_the_minute_window(
    minute: float, longest: float
) -> None:
    with socket.socket() as sock:  # a free port, then closed: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    pauses: list[float] = []

    async def probe_sleep(seconds: float) -> None:
        pauses.append(seconds)
        await asyncio.sleep(0)

    coord = RedisCoordinator(
        f"redis://127.0.0.1:{port}/0", windows=(minute, 3600.0), probe_sleep=probe_sleep
    )
    try:
        assert await coord.attempt(coord.redis.ping) is None
        await until(lambda: len(pauses) >= 9)
    finally:
        await coord.close()
    expected = [min(0.5 * 2**n, longest) for n in range(9)]
    assert pauses[:9] == expected
    assert coord.rejoin_bound == longest + 2.0


# --- cost, lifecycle, packaging -----------------------------------------------------------------


async def test_two_round_trips_per_call(redis_server: RedisServer) -> None:
    async with (
        FakeWeCom() as fake,
        WeComClient(
            corp_id=fake.corp_id,
            corp_secret=fake.corp_secret,
            base_url=fake.base_url,
            redis=redis_server.url,
        ) as client,
    ):
        await call_n(client, 1)  # token, scripts loaded
        await settle(client._core.coordinator)  # type: ignore[arg-type]
        redis_server.command("CONFIG", "RESETSTAT")
        await asyncio.gather(*(call_n(client, 10) for _ in range(5)))
        await settle(client._core.coordinator)  # type: ignore[arg-type]
    calls = redis_server.command_calls()
    # commandstats also counts the commands the scripts run; every round trip is an EVALSHA
    # here, bar the handshakes (HELLO) of connections the pool opened for the concurrent calls.
    script_internal = {"time", "get", "set", "pttl", "hmget", "hset", "zremrangebyscore"}
    script_internal |= {"zcard", "zadd", "zrem", "zrange", "pexpire", "config|resetstat"}
    others = {name: n for name, n in calls.items() if name not in script_internal}
    assert others.pop("evalsha") <= 2 * 50
    assert set(others) <= {"hello", "client|setinfo"}, others


async def test_borrowed_redis_is_not_closed_and_with_options_shares(
    redis_server: RedisServer,
) -> None:
    from redis.asyncio import Redis

    borrowed = Redis.from_url(redis_server.url)
    try:
        async with FakeWeCom() as fake:
            client = WeComClient(
                corp_id=fake.corp_id,
                corp_secret=fake.corp_secret,
                base_url=fake.base_url,
                redis=borrowed,
                redis_key_prefix="tenant1:",
            )
            derived = client.with_options(max_retries=0)
            await call_n(derived, 1)
            assert derived._core.coordinator is client._core.coordinator
            await derived.close()
            connected = redis_server.info("clients")["connected_clients"]
            await client.close()
            assert redis_server.info("clients")["connected_clients"] == connected
        assert await borrowed.ping()
        assert redis_server.keys("tenant1:wecom:*")
        assert not [k for k in redis_server.keys("*") if not k.startswith("tenant1:")]
    finally:
        await borrowed.aclose()


async def test_disabled_limits_with_redis_share_only_the_token(redis_server: RedisServer) -> None:
    async with (
        FakeWeCom() as fake,
        WeComClient(
            corp_id=fake.corp_id,
            corp_secret=fake.corp_secret,
            base_url=fake.base_url,
            redis=redis_server.url,
            rate_limits=RateLimits.disabled(),
        ) as client,
    ):
        await call_n(client, 3)
        assert not isinstance(client._core.limiter("oa/calendar/get"), SharedLimiter)
    assert redis_server.keys("*token*")
    assert not redis_server.keys("wecom:rl:*")
    assert "zadd" not in redis_server.command_calls()  # no lease was ever taken


def test_key_prefix_needs_redis() -> None:
    with pytest.raises(ValueError, match="redis_key_prefix"):
        WeComClient(corp_id="c", corp_secret="s", redis_key_prefix="t1:")


async def test_owned_redis_is_closed(redis_server: RedisServer) -> None:
    def connected() -> int:
        return int(redis_server.info("clients")["connected_clients"])

    baseline = connected()
    async with (
        FakeWeCom() as fake,
        WeComClient(
            corp_id=fake.corp_id,
            corp_secret=fake.corp_secret,
            base_url=fake.base_url,
            redis=redis_server.url,
        ) as client,
    ):
        await call_n(client, 3)
        assert connected() > baseline
    assert connected() == baseline


def test_import_does_not_import_redis_and_missing_redis_is_explained() -> None:
    code = (
        "import sys, wecom_async\n"
        "assert 'redis' not in sys.modules\n"
        "sys.modules['redis'] = None\n"
        "try:\n"
        "    wecom_async.WeComClient(corp_id='c', corp_secret='s', redis='redis://x')\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "pip install 'wecom-async[redis]'" in out


def test_bad_url_error_hides_the_password() -> None:
    with pytest.raises(ValueError, match=r"\*\*\*") as info:
        RedisCoordinator("http://:hunter2pw@127.0.0.1:1/0")
    assert "hunter2pw" not in str(info.value)
